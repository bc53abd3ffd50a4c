"""kill -9 the worker inside each stage, start a new one: the report ends, once.

The claim is the one in docs/reliability.md: a report whose worker died is
re-queued by the reaper from the stage that did not finish and ends
``completed`` within REPORT_STUCK_AFTER_SECONDS plus one run of the rest of the
pipeline; never left running, one stored file, one ``report.completed``.
"""

import uuid
from contextlib import nullcontext

import pytest

from reports.models import ReportStatus
from tests.fakes.ai_server import FakeAIServer, Reply
from tests.reliability.conftest import (
    STUCK_AFTER_SECONDS,
    RoomListener,
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

# Seconds a report may take to end after the new worker starts: the reaper's
# threshold, then the rest of the pipeline (a few seconds) on a 2-core machine.
RECOVERY_BOUND = STUCK_AFTER_SECONDS + 45

RUNNING_STATUS = {
    "collect_data": ReportStatus.COLLECTING_DATA,
    "generate_content": ReportStatus.GENERATING_CONTENT,
    "assemble_document": ReportStatus.ASSEMBLING_DOCUMENT,
    "publish": ReportStatus.ASSEMBLING_DOCUMENT,  # publish has no status of its own
}


@pytest.mark.parametrize("stage", ["collect_data", "generate_content", "assemble_document", "publish"])
def test_a_worker_killed_during_a_stage_leaves_a_report_that_a_new_worker_completes_once(
    stage, rel_server, workers, own_redis, s3_server, resolved_room
):
    room = resolved_room
    # The content stage is caught waiting on a slow AI (its first answer would take a minute);
    # the other stages are caught waiting on their step row, held by this test.
    script = [Reply(headers_delay=60)] if stage == "generate_content" else []
    with FakeAIServer(script=script) as ai:
        env = {"DIFY_BASE_URL": ai.base_url, "REPORT_STUCK_AFTER_SECONDS": STUCK_AFTER_SECONDS}
        client = api_client(rel_server)
        with RoomListener(rel_server, client, room) as listener:
            # No worker yet: the chain waits in Redis while the test sets its trap.
            report_id = generate(client, room)
            trap = nullcontext() if stage == "generate_content" else step_blocked(report_id, stage)
            with trap:
                first = workers.start("doomed", **env)
                if stage == "generate_content":
                    inside = lambda: len(ai.requests) >= 1  # noqa: E731
                else:
                    inside = waiting_on_lock
                wait_for(lambda: report_of(report_id).status == RUNNING_STATUS[stage] and inside(),
                         timeout=60, what=f"the worker inside {stage}")
                first.stop(sig_kill=True)
                assert first.popen.returncode == -9

            workers.start("rescuer", **env)
            report = wait_until_ended(report_id, timeout=RECOVERY_BOUND, reap_with=own_redis.url)
            assert report.status == ReportStatus.COMPLETED, (report.error_message, report.error_detail)
            assert report.attempts == 1  # re-queued once by the reaper
            assert report.provider == "dify"

            # One stored file, at its fixed key; the staging copy is gone.
            assert_one_stored_document(s3_server, room.id, report_id)
            assert client.get(f"/api/rooms/{room.id}/reports/{report_id}/download").status_code == 200

            # A message posted after the report ended arrives after any event the worker sent before it.
            sentinel = f"sentinel {uuid.uuid4()}"
            assert client.post(f"/api/rooms/{room.id}/messages/", json={"body": sentinel}).status_code == 201
            wait_for(lambda: any(e.get("body") == sentinel for e in listener.of_type("message.created")),
                     timeout=15, what="the sentinel message event")
            assert len(listener.of_type("report.completed", report_id)) == 1
            assert not listener.of_type("report.failed", report_id)
    assert report_of(report_id).status == ReportStatus.COMPLETED
