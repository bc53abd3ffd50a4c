"""Operations for real: a report through two uvicorn processes and a prefork worker, then /metrics and the logs.

The processes share one PROMETHEUS_MULTIPROC_DIR, as a deployment of several web processes and
workers on one host (or one volume) does, and write JSON logs. The AI is the fake DIFY server
(its first answer a 500, so a retry and both outcomes are counted). A private Redis keeps this
deployment's tasks away from the session's other worker.
"""

import asyncio
import json
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families

from incidents.models import MemberRole
from reports.models import ReportStatus
from tests import factories
from tests.fakes.ai_server import FakeAIServer, Reply
from tests.reports.test_integration import wait_for_report
from tests.services import BIN, Process, cookie_header, free_port, have, login_client, require, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TOKEN = "metrics-scrape-token-4b1e"
DIFY_KEY = "app-dify-key-must-not-be-logged-77"


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory):
    require(have("redis-server"), "redis-server")
    folder = tmp_path_factory.mktemp("obs-redis")
    port = free_port()
    process = Process("obs-redis", ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                                    "--appendonly", "no", "--dir", str(folder)], env={}, log_dir=folder).start()
    import redis

    wait_until(lambda: redis.Redis(port=port).ping(), timeout=10, what="redis-server", process=process.popen,
               log=process.log)
    yield f"redis://127.0.0.1:{port}/0"
    process.stop()


@pytest.fixture(scope="module")
def fake_ai():
    with FakeAIServer(script=[Reply(status=500)]) as server:
        yield server


@pytest.fixture(scope="module")
def deployment(service_env, private_redis, fake_ai, tmp_path_factory):
    folder = tmp_path_factory.mktemp("obs")
    env = {
        **service_env, "REDIS_URL": private_redis, "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics"),
        "METRICS_TOKEN": TOKEN, "LOG_FORMAT": "json", "AI_PROVIDER": "dify", "DIFY_BASE_URL": fake_ai.base_url,
        "DIFY_API_KEY": DIFY_KEY, "DIFY_RESPONSE_MODE": "blocking", "AI_RETRY_BACKOFF_SECONDS": "0",
    }
    port = free_port()
    web = Process("obs-web", [str(BIN / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1",
                              "--port", str(port), "--workers", "2", "--lifespan", "on", "--no-proxy-headers",
                              "--no-access-log"], env=env, log_dir=folder).start()
    worker = Process("obs-worker", [str(BIN / "celery"), "-A", "config", "worker", "--pool=prefork",
                                    "--concurrency=2", "--loglevel=INFO", "--without-gossip", "--without-mingle",
                                    "--without-heartbeat", "-n", "obs@%h"], env=env, log_dir=folder).start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200, timeout=90, what="uvicorn",
                   process=web.popen, log=web.log)
        wait_until(lambda: "ready." in worker.output(), timeout=90, what="celery worker", process=worker.popen,
                   log=worker.log)
        yield {"url": base, "port": port, "web": web, "worker": worker, "metrics_dir": env["PROMETHEUS_MULTIPROC_DIR"]}
    finally:
        web.stop()
        worker.stop()


def scrape(base) -> dict:
    response = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text[:300]
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def sample(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def json_lines(text) -> list[dict]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                pass
    return lines


def test_a_report_on_several_processes_is_counted_in_metrics_and_followed_in_the_logs(deployment, fake_ai):
    base = deployment["url"]
    commander = factories.make_user(username="obs-ic", display_name="陳愛麗 Alice Chen")
    responder = factories.make_user(username="obs-bob")
    room = factories.make_room(commander=commander, title="觀測 Observability outage")
    factories.add_member(room, responder, MemberRole.RESPONDER)
    factories.add_messages(room, commander, 4, body="告警 {i} body-marker-OBS")
    room.status, room.resolved_at = "resolved", room.created_at + timedelta(minutes=30)
    room.save()

    assert httpx.get(f"{base}/metrics").status_code == 403
    assert httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer nope"}).status_code == 403

    client = login_client(base, "obs-bob", factories.PASSWORD)
    request_id = f"it-{uuid.uuid4().hex[:12]}"
    response = client.post(f"/api/rooms/{room.id}/reports/generate", json={}, headers={
        "X-CSRFToken": client.cookies.get("csrftoken"), "Referer": base + "/", "X-Request-ID": request_id})
    assert response.status_code == 202, response.text
    assert response.headers["X-Request-ID"] == request_id
    report = wait_for_report(response.json()["report_id"])
    assert report.status == ReportStatus.COMPLETED, (report.error_detail, deployment["worker"].output()[-3000:])
    assert report.provider == "dify"

    async def socket_open_then_closed():
        url = f"ws://127.0.0.1:{deployment['port']}/ws/rooms/{room.id}/"
        async with websockets.connect(url, additional_headers={"Cookie": cookie_header(client)}, origin=base):
            during = await asyncio.to_thread(scrape, base)
        # The server sees the close a moment after the client.
        for _ in range(50):
            after = await asyncio.to_thread(scrape, base)
            if sample(after, "warroom_websocket_connections") == 0:
                break
            await asyncio.sleep(0.1)
        return during, after

    during, samples = asyncio.run(socket_open_then_closed())
    assert sample(during, "warroom_websocket_connections") == 1
    assert sample(samples, "warroom_websocket_connections") == 0

    # The worker's processes (prefork children) and both web processes add up in one scrape.
    assert sample(samples, "warroom_reports_total", kind="incident", status="completed") == 1
    for task in ("reports.collect_data", "reports.generate_content", "reports.assemble_document", "reports.publish"):
        assert sample(samples, "warroom_celery_tasks_total", task=task, outcome="success") == 1, task
        assert sample(samples, "warroom_celery_task_duration_seconds_count", task=task) == 1, task
    for stage in ("collect_data", "generate_content", "assemble_document", "publish"):
        assert sample(samples, "warroom_report_stage_duration_seconds_count", stage=stage, outcome="ok") == 1
    assert sample(samples, "warroom_ai_calls_total", provider="dify", outcome="unavailable") == 1
    assert sample(samples, "warroom_ai_calls_total", provider="dify", outcome="ok") == 1
    assert sample(samples, "warroom_ai_tokens_total", provider="dify", kind="prompt") == 321
    assert sample(samples, "warroom_ai_fallbacks_total", kind="incident") == 0
    assert sample(samples, "warroom_http_requests_total", route="api/rooms/<uuid:room_id>/reports/generate",
                  method="POST", status="202") == 1
    assert sample(samples, "warroom_http_requests_total", route="metrics", method="GET", status="403") == 2
    assert sample(samples, "warroom_websocket_connections_opened_total") == 1
    assert not [key for key in samples if str(room.id) in repr(key)]  # routes, never paths
    # What was added up: the files of two web processes and of the worker's processes.
    pids = {path.stem.rsplit("_", 1)[-1] for path in Path(deployment["metrics_dir"]).glob("*.db")}
    assert len(pids) >= 3, pids

    # One grep: the request's id is on the web's line for the request and on the worker's lines
    # for every stage, each with the report's id.
    deployment["web"].stop()
    deployment["worker"].stop()
    web_lines = json_lines(deployment["web"].output())
    worker_lines = json_lines(deployment["worker"].output())
    assert any(line.get("request_id") == request_id and line.get("route", "").endswith("reports/generate")
               for line in web_lines), web_lines[-5:]
    stages = {"reports.collect_data", "reports.generate_content", "reports.assemble_document", "reports.publish"}
    followed = [line for line in worker_lines if line.get("request_id") == request_id]
    stage_lines = [line for line in followed if line.get("task_name") in stages]
    assert {line["task_name"] for line in stage_lines} == stages
    assert all(line.get("report_id") == str(report.id) for line in stage_lines)
    # The tasks those tasks sent (indexing the finished report) carry it too.
    assert any(line.get("task_name") == "knowledge.parse_document" for line in followed)
    assert all({"timestamp", "level", "logger", "message", "task_id"} <= set(line) for line in stage_lines)
    everything = deployment["web"].output() + deployment["worker"].output()
    assert DIFY_KEY not in everything and "body-marker-OBS" not in everything
    assert fake_ai.requests[0].headers.get("Authorization") == f"Bearer {DIFY_KEY}"  # the key was in use
