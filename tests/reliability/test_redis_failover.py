"""The Redis primary killed (``kill -9``) under Sentinel while reports are written and messages posted.

A primary, a replica and three sentinels of our own (tests/reliability/sentinel_cluster.py);
a real uvicorn and a real Celery worker configured with REDIS_SENTINELS only, so the broker,
the result backend, the channel layer and the cache all find the primary through the
sentinels. The primary dies while a worker is inside a report's publish stage and while a
client posts a message every few milliseconds; the test then checks what docs/reliability.md
claims: every report ends ``completed`` once, every message answered 201 is in the database,
the API answered 201 or a JSON 503 (never a 500) during the switch, and WebSocket clients
reconnect and catch up.
"""

import asyncio
import json
import threading
import time
from urllib.parse import quote

import httpx
import pytest
import websockets

from incidents.models import MemberRole, Message
from reports.models import IN_FLIGHT_STATUSES, Report, ReportStatus, ReportStep, StepStatus
from tests import factories
from tests.reliability.conftest import STUCK_AFTER_SECONDS, api_client, assert_one_stored_document, step_blocked, wait_for, waiting_on_lock
from tests.reliability.sentinel_cluster import SentinelCluster
from tests.services import BIN, Process, cookie_header, free_port, start_celery_worker, wait_until

pytestmark = [pytest.mark.reliability, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# How long the test keeps posting once the API answers again (so clients see live events on the new primary).
AFTER_RECOVERY_SECONDS = 3


def sentinel_celery(target):
    """A Celery client that finds the broker through the sentinels, as Warroom's processes do."""
    from celery import Celery

    from config.redis_settings import celery_settings

    conf = celery_settings(target)
    return Celery("warroom-failover-tests", broker=conf["broker_url"], backend=conf["result_backend"],
                  broker_transport_options=conf["transport_options"],
                  result_backend_transport_options=conf["transport_options"])


@pytest.fixture
def cluster(tmp_path, service_log_dir):
    cluster = SentinelCluster(tmp_path / "redis", service_log_dir)
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture
def stack(cluster, service_env, service_log_dir):
    """uvicorn and a Celery worker on the Sentinel deployment; stopped at the end of the test."""
    env = {k: v for k, v in service_env.items() if k != "REDIS_URL"}
    env.update(cluster.env)
    env.update({"API_THROTTLE_USER": "100000/min", "API_THROTTLE_REPORT_GENERATE": "100000/min",
                "REPORT_STUCK_AFTER_SECONDS": str(STUCK_AFTER_SECONDS)})
    started = []
    try:
        port = free_port()
        web = Process(f"uvicorn-failover-{port}", [str(BIN / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1",
                                                   "--port", str(port), "--lifespan", "on", "--no-proxy-headers"],
                      env=env, log_dir=service_log_dir).start()
        started.append(web)
        worker = start_celery_worker(env, service_log_dir, name=f"worker-failover-{port}")
        started.append(worker)
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200, timeout=60, what="uvicorn",
                   process=web.popen, log=web.log)
        celery = sentinel_celery(cluster.target())
        wait_until(lambda: celery.send_task("warroom.ping", args=["ready"]).get(timeout=2) == "ready", timeout=60,
                   what="celery worker", process=worker.popen, log=worker.log)
        yield {"url": base, "port": port, "web": web, "worker": worker, "celery": celery}
    finally:
        for process in reversed(started):
            process.stop()


@pytest.fixture
def threads():
    """The test's client threads, stopped at the end even when an assertion failed halfway."""
    started = []
    yield started
    for thread in started:
        thread.halt.set()
    for thread in started:
        thread.join(10)


class Poster(threading.Thread):
    """Posts a message to the room every few milliseconds and keeps every answer."""

    def __init__(self, client, room):
        super().__init__(daemon=True)
        self.client, self.room = client, room
        self.answers = []  # (monotonic time, status, json or text)
        self.halt = threading.Event()

    def run(self):
        n = 0
        while not self.halt.is_set():
            n += 1
            try:
                response = self.client.post(f"/api/rooms/{self.room.id}/messages/", json={"body": f"tick {n}"})
                body = response.json() if response.headers.get("content-type", "").startswith("application/json") \
                    else response.text
                self.answers.append((time.monotonic(), response.status_code, body))
            except httpx.HTTPError as exc:
                self.answers.append((time.monotonic(), None, repr(exc)))
            time.sleep(0.02)

    def created_ids(self):
        return {body["id"] for _, status, body in self.answers if status == 201}


class CatchingUpClient(threading.Thread):
    """A room page's live connection: reconnects with backoff and, at every (re)connect,
    reads the messages API since the last message it saw (as static/js/room.js does)."""

    def __init__(self, server, http_client, room):
        super().__init__(daemon=True)
        self.url = f"ws://127.0.0.1:{server['port']}/ws/rooms/{room.id}/"
        self.api = f"{server['url']}/api/rooms/{room.id}/messages/"
        self.headers = {"Cookie": cookie_header(http_client)}
        self.origin = server["url"]
        self.live = {}  # message id -> monotonic time it arrived over the socket
        self.caught_up = set()  # ids read back from the API after a reconnect
        self.last_seen = None  # created_at of the newest message seen
        self.connects = []  # monotonic times of successful connects
        self.drops = []  # monotonic times the socket closed under it
        self.refusals = []  # HTTP status of each refused handshake
        self.halt = threading.Event()
        self.ready = threading.Event()

    def seen(self):
        return set(self.live) | self.caught_up

    def _note(self, message):
        if self.last_seen is None or message["created_at"] > self.last_seen:
            self.last_seen = message["created_at"]

    async def _catch_up(self, http):
        url = self.api + "?page_size=500" + (f"&since={quote(self.last_seen)}" if self.last_seen else "")
        while url:
            response = await http.get(url)
            if response.status_code != 200:
                return False
            page = response.json()
            for message in page["results"]:
                self.caught_up.add(message["id"])
                self._note(message)
            url = page.get("next")
        return True

    async def _main(self):
        delay = 0.2
        async with httpx.AsyncClient(headers=self.headers, timeout=10) as http:
            while not self.halt.is_set():
                try:
                    async with websockets.connect(self.url, additional_headers=self.headers, origin=self.origin,
                                                  open_timeout=5) as ws:
                        self.connects.append(time.monotonic())
                        if not await self._catch_up(http):
                            raise ConnectionError("catch-up answered an error")
                        self.ready.set()
                        delay = 0.2
                        while not self.halt.is_set():
                            try:
                                raw = await asyncio.wait_for(ws.recv(), 0.2)
                            except asyncio.TimeoutError:
                                continue
                            event = json.loads(raw)
                            if event.get("type") == "message.created":
                                self.live.setdefault(event["id"], time.monotonic())
                                self._note(event)
                        return
                except (OSError, websockets.WebSocketException, ConnectionError, httpx.HTTPError) as exc:
                    if isinstance(exc, websockets.InvalidStatus):
                        self.refusals.append(exc.response.status_code)
                    if self.connects:
                        self.drops.append(time.monotonic())
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)

    def run(self):
        asyncio.run(self._main())


def _resolved_room(commander, responder, title):
    room = factories.make_room(commander=commander, title=title)
    factories.add_member(room, responder, MemberRole.RESPONDER)
    factories.add_messages(room, commander, 4, body="告警 alert {i}")
    room.status, room.resolution_summary, room.resolved_at = "resolved", "failed over", room.created_at
    room.save()
    return room


def test_redis_primary_killed_under_sentinel_loses_no_report_and_no_message(cluster, stack, s3_server, threads):
    commander = factories.make_user(username="ic-rel", display_name="陳指揮 IC")
    responder = factories.make_user(username="resp-rel", display_name="王小明 Responder")
    chat = factories.make_room(commander=commander, title="容錯移轉 Failover")
    factories.add_member(chat, responder, MemberRole.RESPONDER)
    report_rooms = [_resolved_room(commander, responder, f"報告 Report {i}") for i in range(3)]

    client = api_client(stack, "resp-rel")
    listeners = [CatchingUpClient(stack, api_client(stack, name), chat) for name in ("resp-rel", "ic-rel")]
    for listener in listeners:
        threads.append(listener)
        listener.start()
    for listener in listeners:
        assert listener.ready.wait(20), "the WebSocket did not connect"

    poster = Poster(api_client(stack, "ic-rel"), chat)
    threads.append(poster)
    poster.start()
    wait_for(lambda: all(listener.live for listener in listeners), timeout=15, what="live events before the kill")

    generated = []
    first = client.post(f"/api/rooms/{report_rooms[0].id}/reports/generate", json={})
    assert first.status_code == 202, first.text
    generated.append(first.json()["report_id"])
    with step_blocked(generated[0], "publish"):
        # The worker is inside the first report's publish stage, the other two are on their way...
        wait_for(lambda: Report.objects.get(id=generated[0]).status == ReportStatus.ASSEMBLING_DOCUMENT
                 and waiting_on_lock(), timeout=60, what="the worker inside publish")
        for room in report_rooms[1:]:
            response = client.post(f"/api/rooms/{room.id}/reports/generate", json={})
            assert response.status_code == 202, response.text
            generated.append(response.json()["report_id"])
        # ... when the primary dies.
        killed_at = cluster.kill_primary()
    # The blocked publish now goes on with Redis gone.

    wait_for(lambda: cluster.master_port() == cluster.replica_port, timeout=30, what="the sentinels promote the replica")
    promoted_at = time.monotonic()
    wait_for(lambda: any(t > promoted_at and status == 201 for t, status, _ in poster.answers), timeout=30,
             what="a message posted after the failover")
    recovered_at = min(t for t, status, _ in poster.answers if t > killed_at and status == 201
                       and not any(t2 > t and s2 != 201 for t2, s2, _ in poster.answers))
    time.sleep(AFTER_RECOVERY_SECONDS)
    poster.halt.set()
    poster.join(15)

    # The API answered 201 or a JSON 503 with the uniform error body, never a 500 (or anything else).
    during = [(status, body) for t, status, body in poster.answers if t > killed_at]
    assert {status for status, _ in during} <= {201, 503}, [a for a in during if a[0] not in (201, 503)][:5]
    refused = [body for status, body in during if status == 503]
    assert refused, "no request was refused during the switch: the primary was not really gone"
    assert all(isinstance(body, dict) and body["error"]["code"] == "service_unavailable" for body in refused)

    # Every message answered 201 is in the database.
    created = poster.created_ids()
    stored = set(Message.objects.filter(room=chat, id__in=created).values_list("id", flat=True))
    assert created == stored, f"lost: {sorted(created - stored)[:10]}"

    # Play beat: the reaper resumes any report whose next stage's message the failover lost.
    def ended():
        stack["celery"].send_task("reports.reap_stuck_reports")
        return not Report.objects.filter(id__in=generated, status__in=IN_FLIGHT_STATUSES).exists()

    wait_for(ended, timeout=STUCK_AFTER_SECONDS + 60, what="every report ended", interval=0.5)
    for report_id, room in zip(generated, report_rooms, strict=True):
        report = Report.objects.get(id=report_id)
        assert report.status == ReportStatus.COMPLETED, (report.error_message, report.error_detail)
        # Once: one stored document at its fixed key, one finished publish step.
        assert_one_stored_document(s3_server, room.id, report_id)
        assert ReportStep.objects.filter(report_id=report_id, key="publish", status=StepStatus.COMPLETED).count() == 1

    # Every client lost its socket, came back, and has every message: live or read back after reconnecting.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not all(created <= listener.seen() for listener in listeners):
        time.sleep(0.1)
    for listener in listeners:
        listener.halt.set()
    for listener in listeners:
        listener.join(10)
        assert listener.drops and any(t > killed_at for t in listener.connects), (listener.drops, listener.connects)
        missing = created - listener.seen()
        assert not missing, f"a client missed {len(missing)} messages: {sorted(missing)[:10]}"
        # A handshake during the switch is refused with a 503 (or not answered at all), never a 500.
        assert set(listener.refusals) <= {503}, listener.refusals
        # Live events flow again on the new primary.
        assert any(t > recovered_at for t in listener.live.values())

    reconnected = [min(t for t in listener.connects if t > killed_at) - killed_at for listener in listeners]
    print(
        "\nSentinel failover figures: "
        f"promoted after {promoted_at - killed_at:.2f} s; "
        f"API answering again (201s only) after {recovered_at - killed_at:.2f} s; "
        f"WebSockets reconnected after {', '.join(f'{r:.2f}' for r in reconnected)} s "
        f"(handshakes refused with 503: {[len(listener.refusals) for listener in listeners]}); "
        f"{len(refused)} of {len(during)} posts answered 503 during the switch, "
        f"{sum(1 for s, _ in during if s == 201)} answered 201, none lost; "
        f"reports: {len(generated)} completed, attempts {[Report.objects.get(id=r).attempts for r in generated]}"
    )
