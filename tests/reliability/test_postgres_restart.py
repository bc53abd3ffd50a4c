"""PostgreSQL restarted while a report is being written and messages are being posted.

The claim (docs/reliability.md): during the outage every request gets the uniform JSON 503
within 5 s (never a 500, never a hang); the worker's stage is retried and the report ends
``completed``, once; after the restart no request fails on a stale connection. Both ways
Warroom keeps connections are run, in web and worker alike:

- ``pool``: the default (``DATABASE_POOL`` on): each process's psycopg pool, which checks a
  connection before lending it;
- ``persistent``: ``DATABASE_POOL=false`` with ``DATABASE_CONN_MAX_AGE=60``, the setup behind
  PgBouncer: Django keeps each thread's connection across requests, and ``CONN_HEALTH_CHECKS``
  replaces one the restart left dead. (With the pool on, ``DATABASE_CONN_MAX_AGE`` is not read.)
  Under uvicorn each request runs on a thread of its own, so the kept connections that meet the
  restart are mostly the worker's, whose processes run task after task.

The test runs its own PostgreSQL cluster (tests/reliability/postgres.py), a copy of the test
database, because it stops it: the shared server on 5432 is never touched.
"""

import threading
import time

import httpx
import pytest
from django.db import connections

from reports.models import ReportStatus
from tests import factories
from tests.reliability.conftest import assert_one_stored_document, wait_for
from tests.reliability.postgres import PrivatePostgres
from tests.services import BIN, Process, free_port, login_client, wait_until

pytestmark = [pytest.mark.reliability, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# The bound for an answer while the database is down (connect_timeout is 5 s; a stopped
# server refuses at once, so answers come in milliseconds).
ANSWER_BOUND_SECONDS = 5
OUTAGE_SECONDS = 3
CONNECTIONS = {
    "pool": {},
    "persistent": {"DATABASE_POOL": "false", "DATABASE_CONN_MAX_AGE": "60"},
}


@pytest.fixture
def private_postgres():
    server = PrivatePostgres().init()
    server.start()
    yield server
    server.destroy()


class Poster:
    """Posts numbered messages to a room from a thread, and keeps every answer with its time."""

    def __init__(self, client, room_id):
        self.client, self.room_id = client, room_id
        self.answers = []  # (sequence, started monotonic, seconds, status, json or text)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        sequence = 0
        while not self._stop.is_set():
            sequence += 1
            started = time.monotonic()
            try:
                response = self.client.post(f"/api/rooms/{self.room_id}/messages/", json={"body": f"pg-restart {sequence}"})
                status = response.status_code
                body = response.json() if response.headers.get("content-type", "").startswith("application/json") else response.text
            except httpx.HTTPError as exc:
                status, body = None, repr(exc)
            self.answers.append((sequence, started, time.monotonic() - started, status, body))
            time.sleep(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(15)


@pytest.mark.parametrize("connections_kept", list(CONNECTIONS))
def test_postgres_restarted_mid_report_and_mid_posting(
    rel_env, workers, service_log_dir, s3_server, private_postgres, connections_kept
):
    pg = private_postgres
    commander = factories.make_user(username="ic-pg", display_name="陳指揮 IC")
    responder = factories.make_user(username="resp-pg", display_name="王小明 Responder")
    resolved = factories.make_room(commander=commander, title="資料庫重啟 PostgreSQL restart")
    factories.add_member(resolved, responder)
    factories.add_messages(resolved, commander, 5, body="告警 alert {i}")
    resolved.status, resolved.resolution_summary, resolved.resolved_at = "resolved", "failed over", resolved.created_at
    resolved.save()
    active = factories.make_room(commander=commander, title="進行中 Still open")
    factories.add_member(active, responder)
    # The private cluster starts as a copy of the test database, these rows included.
    pg.copy_database(connections["default"].settings_dict)

    env = {**rel_env, "DATABASE_URL": pg.url, "AI_PROVIDER": "offline", **CONNECTIONS[connections_kept]}
    port = free_port()
    web = Process(f"uvicorn-pg-{connections_kept}", [str(BIN / "uvicorn"), "config.asgi:application", "--host",
                                                      "127.0.0.1", "--port", str(port), "--lifespan", "on",
                                                      "--no-proxy-headers"],
                  env=env, log_dir=service_log_dir).start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{base}/readyz").status_code == 200, timeout=60, what="uvicorn",
                   process=web.popen, log=web.log)
        client = login_client(base, "resp-pg", factories.PASSWORD)
        client.headers.update({"X-CSRFToken": client.cookies.get("csrftoken"), "Referer": base + "/"})
        response = client.post(f"/api/rooms/{resolved.id}/reports/generate", json={})  # queued; no worker yet
        assert response.status_code == 202, response.text
        report_id = response.json()["report_id"]

        # The worker will be held inside assemble_document: our uncommitted step row blocks its insert.
        blocker = pg.connect()
        blocker.execute("INSERT INTO reports_reportstep (report_id, key, label, status, detail, started_at) "
                        "VALUES (%s, 'assemble_document', 'blocker', 'pending', '{}', now())", (report_id,))
        worker = workers.start(DATABASE_URL=pg.url, AI_PROVIDER="offline", **CONNECTIONS[connections_kept])

        def worker_waits_on_the_blocker():
            return pg.query("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                            "AND query LIKE 'INSERT INTO \"reports_reportstep\"%%'")[0][0] > 0

        wait_for(worker_waits_on_the_blocker, timeout=60, what="the worker inside assemble_document")

        with Poster(client, active.id) as poster:
            wait_for(lambda: any(a[3] == 201 for a in poster.answers), timeout=15, what="a first message posted")
            pg.stop()  # ends every session: the blocker's and the worker's insert among them
            stopped_at = time.monotonic()
            blocker.close()
            wait_for(lambda: any(a[1] > stopped_at for a in poster.answers), timeout=15, what="a request in the outage")
            time.sleep(OUTAGE_SECONDS)
            starting_at = time.monotonic()
            pg.start()
            back_at = time.monotonic()
            wait_for(lambda: sum(a[1] > back_at for a in poster.answers) >= 10, timeout=30,
                     what="ten requests after the restart")

        def ended():
            row = pg.query("SELECT status, error_message, error_detail FROM reports_report WHERE id = %s", (report_id,))[0]
            return row if row[0] in (ReportStatus.COMPLETED, ReportStatus.FAILED) else None

        report = wait_for(ended, timeout=60, what="the report to end")
    finally:
        web.stop()

    assert report[0] == ReportStatus.COMPLETED, (report, worker.output()[-3000:])
    assert "database unavailable" in worker.output() and "reports.assemble_document" in worker.output()

    # Sure to have met the outage: sent after the stop returned, answered before the start began.
    # Between the start and its return the server may already answer: either answer is right then.
    during = [a for a in poster.answers if a[1] >= stopped_at and a[1] + a[2] < starting_at]
    after = [a for a in poster.answers if a[1] >= back_at]
    assert during and after
    assert {a[3] for a in poster.answers} <= {201, 503}, [a for a in poster.answers if a[3] not in (201, 503)]
    for sequence, _started, seconds, status, body in during:
        assert status == 503, (sequence, status, body, web.output()[-3000:])
        assert body["error"]["code"] == "service_unavailable" and body["error"]["message"], body
        assert seconds < ANSWER_BOUND_SECONDS, (sequence, seconds)
    # No request after the restart fails on a connection the restart left stale.
    assert [a[3] for a in after] == [201] * len(after), after
    # Every message that was accepted is stored, once; none that was refused is.
    accepted = sorted(a[0] for a in poster.answers if a[3] == 201)
    stored = sorted(int(row[0].rsplit(" ", 1)[1]) for row in pg.query(
        "SELECT body FROM incidents_message WHERE room_id = %s AND body LIKE 'pg-restart %%'", (active.id,)))
    assert stored == accepted
    assert pg.query("SELECT count(*) FROM reports_reportstep WHERE report_id = %s AND key = 'assemble_document'",
                    (report_id,))[0][0] == 1
    assert_one_stored_document(s3_server, resolved.id, report_id)
