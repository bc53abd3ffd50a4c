"""/metrics: off without METRICS_TOKEN, bearer-only with it, and what the code counts (config/metrics.py).

This process has no PROMETHEUS_MULTIPROC_DIR, so the values are this process's own; each test
reads the difference a behaviour makes. tests/integration/test_observability.py scrapes a real
deployment (several processes) after a real report.
"""

import pytest
from channels.testing import WebsocketCommunicator
from prometheus_client import REGISTRY

from config import metrics
from config.asgi import application
from reports import delivery
from reports.llm import LLMRequest, LLMResult, LLMTimeout, MeasuredClient
from reports.models import Report, ReportStatus
from tests import factories

TOKEN = "metrics-token-0123456789"


def value(name, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN


def test_metrics_is_not_found_without_a_token_configured(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer anything"}).status_code == 404


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Token {TOKEN}", "Bearer", "Bearer 事件"])
def test_metrics_refuses_a_missing_or_wrong_bearer_token(client, metrics_on, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 403


def test_metrics_counts_requests_by_route_not_by_path(client, metrics_on, room, member):
    client.force_login(member)
    route = "api/rooms/<uuid:room_id>/messages/"
    before = value("warroom_http_requests_total", route=route, method="GET", status="200")
    assert client.get(f"/api/rooms/{room.id}/messages/").status_code == 200
    client.get("/no/such/page/")

    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert value("warroom_http_requests_total", route=route, method="GET", status="200") == before + 1
    assert value("warroom_http_requests_total", route="<unmatched>", method="GET", status="404") >= 1
    assert str(room.id) not in text  # ids never become labels
    assert "warroom_http_request_duration_seconds_bucket" in text


def test_a_finished_report_is_counted_by_kind_and_status_with_its_stages_and_tasks(
    api, room, member, django_capture_on_commit_callbacks
):
    factories.add_messages(room, member, 3)
    labels = {"kind": "incident", "status": "completed"}
    before = value("warroom_reports_total", **labels)
    publish_before = value("warroom_report_stage_duration_seconds_count", stage="publish", outcome="ok")
    task_before = value("warroom_celery_tasks_total", task="reports.publish", outcome="success")
    api.force_authenticate(member)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/rooms/{room.id}/reports/generate", {}, format="json")
    assert response.status_code == 202
    assert Report.objects.get(id=response.json()["report_id"]).status == ReportStatus.COMPLETED
    assert value("warroom_reports_total", **labels) == before + 1
    assert value("warroom_report_stage_duration_seconds_count", stage="publish", outcome="ok") == publish_before + 1
    assert value("warroom_celery_tasks_total", task="reports.publish", outcome="success") == task_before + 1


def test_a_failed_report_is_counted_as_failed(room, member, django_capture_on_commit_callbacks):
    from reports.pipeline.workflow import collect_data
    from reports.services import report_create

    # No messages: the collect stage fails the report ("nothing to report").
    report, _created = report_create(room=room, requested_by=member)
    before = value("warroom_reports_total", kind="incident", status="failed")
    errors_before = value("warroom_report_stage_duration_seconds_count", stage="collect_data", outcome="error")
    failures_before = value("warroom_celery_tasks_total", task="reports.collect_data", outcome="failure")
    with django_capture_on_commit_callbacks(execute=True):
        collect_data.apply(args=[str(report.id)], throw=False)
    assert Report.objects.get(id=report.id).status == ReportStatus.FAILED
    assert value("warroom_reports_total", kind="incident", status="failed") == before + 1
    assert value("warroom_report_stage_duration_seconds_count", stage="collect_data",
                 outcome="error") == errors_before + 1
    assert value("warroom_celery_tasks_total", task="reports.collect_data", outcome="failure") == failures_before + 1


class _Scripted:
    name = "dify"

    def __init__(self, outcome):
        self.outcome = outcome

    def complete(self, request):
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


def test_ai_calls_are_counted_by_provider_and_outcome_with_tokens():
    request = LLMRequest(system="s", prompt="p")
    ok_before = value("warroom_ai_calls_total", provider="dify", outcome="ok")
    timeouts_before = value("warroom_ai_calls_total", provider="dify", outcome="timeout")
    tokens_before = value("warroom_ai_tokens_total", provider="dify", kind="completion")
    MeasuredClient(_Scripted(LLMResult(text="{}", provider="dify", prompt_tokens=120, completion_tokens=45))
                   ).complete(request)
    with pytest.raises(LLMTimeout):
        MeasuredClient(_Scripted(LLMTimeout("slow"))).complete(request)
    assert value("warroom_ai_calls_total", provider="dify", outcome="ok") == ok_before + 1
    assert value("warroom_ai_calls_total", provider="dify", outcome="timeout") == timeouts_before + 1
    assert value("warroom_ai_tokens_total", provider="dify", kind="completion") == tokens_before + 45


def test_the_offline_fallback_is_counted(settings, room, member):
    from reports.pipeline.collect import collect_room
    from reports.pipeline.content import write_sections

    factories.add_messages(room, member, 2)
    settings.AI_PROVIDER, settings.DIFY_BASE_URL = "dify", "http://127.0.0.1:9/v1"  # nothing listens there
    settings.AI_MAX_RETRIES, settings.AI_CONNECT_TIMEOUT_SECONDS = 0, 1
    before = value("warroom_ai_fallbacks_total", kind="incident")
    unavailable_before = value("warroom_ai_calls_total", provider="dify", outcome="unavailable")
    snapshot = collect_room(room, max_messages=50, language="zh-hant").to_dict()
    outcome = write_sections(snapshot, "zh-hant", kind="incident", provider="dify")
    assert outcome.provider == "offline-fallback"
    assert value("warroom_ai_fallbacks_total", kind="incident") == before + 1
    assert value("warroom_ai_calls_total", provider="dify", outcome="unavailable") == unavailable_before + 1


class _Channel:
    name = "webhook"

    def __init__(self, failures):
        self.failures = failures

    def send(self, parcel):
        if self.failures:
            self.failures -= 1
            raise delivery.DeliveryError("HTTP 503")

    def send_fallback(self, parcel):
        raise delivery.DeliveryError("HTTP 503")


def test_delivery_attempts_are_counted_by_channel_and_outcome(settings, monkeypatch):
    monkeypatch.setattr(delivery, "sleep", lambda seconds: None)
    settings.DELIVERY_ATTEMPTS = 2
    parcel = delivery.Parcel(subject="s", text="t", html="h", payload={}, fallback_text="f")
    before = {o: value("warroom_delivery_attempts_total", channel="webhook", outcome=o)
              for o in ("ok", "error", "fallback_error")}
    assert delivery.deliver_with_retries(_Channel(failures=1), parcel)["status"] == delivery.DELIVERED
    assert delivery.deliver_with_retries(_Channel(failures=5), parcel)["status"] == delivery.FAILED
    after = {o: value("warroom_delivery_attempts_total", channel="webhook", outcome=o) for o in before}
    assert after["ok"] - before["ok"] == 1
    assert after["error"] - before["error"] == 3
    assert after["fallback_error"] - before["fallback_error"] == 1


def test_alert_deliveries_are_counted_by_source_and_outcome(client, db):
    before = value("warroom_alert_deliveries_total", source="grafana", outcome="unauthorized")
    response = client.post("/api/alerts/grafana", data="{}", content_type="application/json")
    assert response.status_code == 401
    assert value("warroom_alert_deliveries_total", source="grafana", outcome="unauthorized") == before + 1


@pytest.mark.django_db(transaction=True)
async def test_open_room_sockets_are_a_gauge(room, member):
    from channels.db import database_sync_to_async

    from tests.realtime.test_consumer import session_cookie

    cookie = await database_sync_to_async(session_cookie)(member)
    before = value("warroom_websocket_connections")
    opened_before = value("warroom_websocket_connections_opened_total")
    communicator = WebsocketCommunicator(application, f"/ws/rooms/{room.id}/", headers=[
        (b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1"), (b"cookie", cookie)])
    connected, _code = await communicator.connect(timeout=5)
    assert connected
    assert value("warroom_websocket_connections") == before + 1
    await communicator.disconnect()
    assert value("warroom_websocket_connections") == before
    assert value("warroom_websocket_connections_opened_total") == opened_before + 1


def test_the_metrics_module_names_every_metric_warroom():
    from prometheus_client.metrics import MetricWrapperBase

    names = {m._name for m in vars(metrics).values() if isinstance(m, MetricWrapperBase)}
    assert names and all(name.startswith("warroom_") for name in names)


def test_the_deploy_check_warns_when_metrics_would_miss_the_worker(settings, monkeypatch):
    from config.checks import metrics_cover_the_worker

    from config import redis_settings

    settings.METRICS_TOKEN = TOKEN
    settings.REDIS_TARGET = redis_settings.redis_target({"REDIS_URL": "redis://redis:6379/0"})
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    assert [w.id for w in metrics_cover_the_worker(None)] == ["warroom.W002"]
    # A Sentinel deployment has a worker too (no REDIS_URL then).
    settings.REDIS_TARGET = redis_settings.redis_target(
        {"REDIS_SENTINELS": "sentinel-1:26379,sentinel-2:26379", "REDIS_SENTINEL_MASTER": "warroom"})
    assert [w.id for w in metrics_cover_the_worker(None)] == ["warroom.W002"]
    settings.REDIS_TARGET = None  # the embedded default: one process, nothing to miss
    assert metrics_cover_the_worker(None) == []
    settings.REDIS_TARGET = redis_settings.redis_target({"REDIS_URL": "redis://redis:6379/0"})
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/run/warroom-metrics")
    assert metrics_cover_the_worker(None) == []
    settings.METRICS_TOKEN = ""
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    assert metrics_cover_the_worker(None) == []
