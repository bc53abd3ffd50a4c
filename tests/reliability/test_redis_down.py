"""Redis stopped: the API says so at once and leaves nothing half-done; reports in flight still finish."""

import time

import pytest

from reports.models import IN_FLIGHT_STATUSES, Report, ReportStatus
from tests.reliability.conftest import (
    api_client,
    assert_one_stored_document,
    generate,
    report_of,
    step_blocked,
    wait_for,
    wait_until_ended,
    waiting_on_lock,
)

pytestmark = [pytest.mark.reliability, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# "Within a few seconds": Redis connect timeouts are 2-3 s in the settings.
ANSWER_BOUND = 10


def test_generate_answers_a_json_503_while_redis_is_stopped_and_works_again_after(
    rel_server, own_redis, workers, resolved_room
):
    room = resolved_room
    client = api_client(rel_server)  # logged in while Redis is up
    own_redis.stop()

    started = time.monotonic()
    response = client.post(f"/api/rooms/{room.id}/reports/generate", json={})
    elapsed = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["code"] == "service_unavailable"
    assert elapsed < ANSWER_BOUND, elapsed
    # Nothing half-done: no report waits for a pipeline that was never queued.
    assert not Report.objects.filter(room=room, status__in=IN_FLIGHT_STATUSES).exists()

    own_redis.start()
    workers.start()
    report_id = generate(client, room)
    report = wait_until_ended(report_id, timeout=60)
    assert report.status == ReportStatus.COMPLETED, (report.error_message, report.error_detail)


def test_redis_stopped_during_publish_the_report_completes_and_the_api_shows_it(
    rel_server, own_redis, workers, s3_server, resolved_room
):
    room = resolved_room
    client = api_client(rel_server)
    report_id = generate(client, room)  # queued; no worker yet
    with step_blocked(report_id, "publish"):
        worker = workers.start()
        wait_for(lambda: report_of(report_id).status == ReportStatus.ASSEMBLING_DOCUMENT and waiting_on_lock(),
                 timeout=60, what="the worker inside publish")
        own_redis.stop()
    # Publishing needs PostgreSQL and S3, not Redis: only the live event is lost.
    report = wait_until_ended(report_id, timeout=30)
    assert report.status == ReportStatus.COMPLETED, (report.error_message, report.error_detail, worker.output()[-2000:])
    assert_one_stored_document(s3_server, room.id, report_id)

    # The page reconciles from REST once it reconnects: the report reads as completed with its download.
    own_redis.start()
    detail = client.get(f"/api/rooms/{room.id}/reports/{report_id}").json()
    assert detail["status"] == "completed" and detail["percent"] == 100
    assert client.get(detail["download_url"]).status_code == 200
