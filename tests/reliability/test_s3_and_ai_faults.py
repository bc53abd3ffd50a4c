"""S3 cut off during publish, and an AI server that never answers, drips or fails: bounded, clear, stored once."""

import time

import pytest

from reports.models import ReportStatus, ReportStep
from tests.fakes.ai_server import FakeAIServer, Reply
from tests.reliability.conftest import (
    FAST,
    Workers,
    api_client,
    assert_one_stored_document,
    generate,
    report_of,
    step_blocked,
    stored_keys,
    wait_for,
    wait_until_ended,
    waiting_on_lock,
)

pytestmark = [pytest.mark.reliability, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _inside_publish(report_id):
    wait_for(lambda: report_of(report_id).status == ReportStatus.ASSEMBLING_DOCUMENT and waiting_on_lock(),
             timeout=60, what="the worker inside publish")


def test_s3_unreachable_during_publish_is_retried_then_fails_with_a_clear_message(
    rel_server, workers, s3_server, s3_proxy, resolved_room
):
    room = resolved_room
    client = api_client(rel_server)
    report_id = generate(client, room)
    with step_blocked(report_id, "publish"):
        worker = workers.start()
        _inside_publish(report_id)
        s3_proxy.cut()
    # Celery retries the stage 3 times with backoff (at most 2 + 4 + 8 s), then on_failure ends it.
    report = wait_until_ended(report_id, timeout=45)
    assert report.status == ReportStatus.FAILED
    assert report.error_message == "報告產生失敗，請再試一次；若仍失敗請通知管理員。"
    assert "Could not connect to the endpoint URL" in report.error_detail
    assert worker.output().count("reports.publish") and worker.output().count("retry: Retry in") == 3
    assert ReportStep.objects.get(report_id=report_id, key="publish").status == "failed"
    s3_proxy.restore()
    # Nothing was published; only the staged document (under staging/) remains.
    assert stored_keys(s3_server, room.id) == [f"reports/{room.id}/staging/{report_id}.docx"]


def test_s3_back_after_a_retry_the_report_completes_with_one_stored_file(
    rel_server, workers, s3_server, s3_proxy, resolved_room
):
    room = resolved_room
    client = api_client(rel_server)
    report_id = generate(client, room)
    with step_blocked(report_id, "publish"):
        worker = workers.start()
        _inside_publish(report_id)
        s3_proxy.cut()
    wait_for(lambda: "retry: Retry in" in worker.output(), timeout=30, what="publish retried")
    s3_proxy.restore()
    report = wait_until_ended(report_id, timeout=45)
    assert report.status == ReportStatus.COMPLETED, (report.error_message, report.error_detail)
    assert_one_stored_document(s3_server, room.id, report_id)


# --- the AI -----------------------------------------------------------------------

ATTEMPTS = int(FAST["AI_MAX_RETRIES"]) + 1
# Every attempt ends by its deadline (DIFY_TIMEOUT_SECONDS), then the offline writer takes over;
# the bound adds the backoff and the rest of the pipeline.
AI_BOUND = ATTEMPTS * float(FAST["DIFY_TIMEOUT_SECONDS"]) + 20


@pytest.fixture(scope="module")
def ai_and_worker(rel_env, own_redis, service_log_dir):
    with FakeAIServer() as ai:
        pool = Workers(rel_env, own_redis.url, service_log_dir)
        pool.start("ai-faults", DIFY_BASE_URL=ai.base_url)
        yield ai
        pool.stop_all()


@pytest.mark.parametrize("fault", ["never_answers", "drips_bytes", "500_forever"])
def test_an_ai_that_misbehaves_is_cut_off_by_its_deadline_and_the_offline_writer_takes_over(
    fault, ai_and_worker, rel_server, resolved_room
):
    ai = ai_and_worker
    ai.default = {
        "never_answers": Reply(headers_delay=3600),
        "drips_bytes": Reply(drip=True, drip_delay=0.5),
        "500_forever": Reply(status=500),
    }[fault]
    ai.requests.clear()
    client = api_client(rel_server)
    started = time.monotonic()
    report_id = generate(client, resolved_room)
    report = wait_until_ended(report_id, timeout=AI_BOUND)
    assert time.monotonic() - started < AI_BOUND
    assert report.status == ReportStatus.COMPLETED, (report.error_message, report.error_detail)
    assert report.provider == "offline-fallback"
    assert report.fallback_reason
    assert len(ai.requests) == ATTEMPTS
    detail = client.get(f"/api/rooms/{resolved_room.id}/reports/{report_id}").json()
    assert detail["provider"] == "offline-fallback" and detail["download_url"]
