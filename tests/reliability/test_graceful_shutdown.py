"""SIGTERM, as a rolling deploy or ``docker compose stop`` sends it: the process leaves quickly and cleanly.

- A uvicorn process holding many room WebSockets exits within 5 s of SIGTERM, closing every
  socket with 1001 "going away"; the clients reconnect to the other web process and receive the
  room's next event there.
- A Celery worker given SIGTERM in the middle of a stage finishes that stage (warm shutdown) or,
  if it cannot, leaves the message unacknowledged for the next worker (acks_late): never half-done.
"""

import asyncio
import json
import os
import resource
import signal
import threading
import time
from collections import Counter

import httpx
import pytest
import websockets

from reports.models import ReportStatus, ReportStep
from tests import factories
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
from tests.services import BIN, Process, cookie_header, free_port, wait_until

pytestmark = [pytest.mark.reliability, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# The issue asks for 500 sockets, and 500 it is: on 2 shared cores the test takes 6-9 s with 500,
# 5-6 s with 100 (2026-12-07; docs/reliability.md has the figures). WARROOM_SHUTDOWN_SOCKETS sets another count.
SOCKETS = int(os.environ.get("WARROOM_SHUTDOWN_SOCKETS", "500"))
EXIT_BOUND_SECONDS = 5


def start_web(env, log_dir, name):
    port = free_port()
    args = [str(BIN / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1", "--port", str(port),
            "--lifespan", "on", "--no-proxy-headers", "--timeout-graceful-shutdown", "3"]
    process = Process(name, args, env=env, log_dir=log_dir).start()
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200, timeout=60, what=name,
               process=process.popen, log=process.log)
    return {"url": base, "port": port, "process": process}


class Crowd:
    """``count`` room sockets on server ``first``; each, once closed, reconnects to ``second``."""

    def __init__(self, count, first, second, cookie, room_id):
        self.count, self.cookie, self.room_id = count, cookie, room_id
        self.urls = [f"ws://127.0.0.1:{s['port']}/ws/rooms/{room_id}/" for s in (first, second)]
        self.origin = first["url"]
        self.close_codes, self.reconnected, self.events, self.before = [], 0, [], []
        self.connected = 0
        self.loop = None
        self._done = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _one(self, index, gate):
        headers = {"Cookie": self.cookie}
        async with gate:
            ws = await websockets.connect(self.urls[0], additional_headers=headers, origin=self.origin,
                                          open_timeout=60, ping_interval=None)
        self.connected += 1
        try:
            async for frame in ws:
                self.before.append((index, json.loads(frame)))
        except websockets.ConnectionClosed:
            pass
        self.close_codes.append(ws.close_code)
        async with gate:
            again = await websockets.connect(self.urls[1], additional_headers=headers, origin=self.origin,
                                             open_timeout=60, ping_interval=None)
        self.reconnected += 1
        async with again:
            while not self._done.is_set():
                try:
                    frame = await asyncio.wait_for(again.recv(), 0.5)
                except asyncio.TimeoutError:
                    continue
                self.events.append((index, json.loads(frame)))

    async def _main(self):
        self.loop = asyncio.get_running_loop()
        self._done = asyncio.Event()
        gate = asyncio.Semaphore(25)
        await asyncio.gather(*(self._one(i, gate) for i in range(self.count)), return_exceptions=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self._done.set)
        self._thread.join(30)


@pytest.fixture
def more_files():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 4096), hard), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_web_process_with_open_sockets_exits_quickly_on_sigterm_and_clients_move_over(
    rel_env, service_log_dir, more_files
):
    commander = factories.make_user(username="ic-term", display_name="陳指揮 IC")
    room = factories.make_room(commander=commander, title="滾動部署 Rolling deploy")
    leaving = start_web(rel_env, service_log_dir, "uvicorn-leaving")
    staying = start_web(rel_env, service_log_dir, "uvicorn-staying")
    try:
        client = api_client(staying, username="ic-term")
        with Crowd(SOCKETS, leaving, staying, cookie_header(client), room.id) as crowd:
            wait_for(lambda: crowd.connected == SOCKETS, timeout=120, what=f"{SOCKETS} sockets open", interval=0.2)
            # Every socket has relayed an event: the process-wide channel receive is running.
            assert client.post(f"/api/rooms/{room.id}/messages/", json={"body": "before"}).status_code == 201
            wait_for(lambda: len({i for i, e in crowd.before if e["type"] == "message.created"}) == SOCKETS,
                     timeout=60, what="every client hears the first message", interval=0.2)
            leaving["process"].popen.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            leaving["process"].popen.wait(timeout=30)
            exited_after = time.monotonic() - signalled
            wait_for(lambda: crowd.reconnected == SOCKETS, timeout=120, what="every client reconnected", interval=0.2)
            reconnected_after = time.monotonic() - signalled
            response = client.post(f"/api/rooms/{room.id}/messages/", json={"body": "after the deploy"})
            assert response.status_code == 201, response.text
            wait_for(lambda: len({i for i, e in crowd.events if e["type"] == "message.created"}) == SOCKETS,
                     timeout=60, what="every reconnected client hears the next message", interval=0.2)
    finally:
        leaving["process"].stop()
        staying["process"].stop()

    # The figures docs/reliability.md quotes (pytest -rP shows them).
    print(f"{SOCKETS} sockets: exited {exited_after:.2f} s after SIGTERM, "
          f"all reconnected after {reconnected_after:.1f} s")
    log = leaving["process"].output()
    assert exited_after < EXIT_BOUND_SECONDS, (exited_after, log[-3000:])
    assert leaving["process"].popen.returncode in (0, -signal.SIGTERM), log[-3000:]
    # Counted, not listed: a failing comparison of 500-item lists costs pytest a minute of diffing.
    assert Counter(crowd.close_codes) == {1001: SOCKETS}, Counter(crowd.close_codes)
    # Nothing was left for uvicorn's own timeout to cancel, and no consumer failed on the way out.
    assert "Cancel" not in log and "Exception in ASGI application" not in log, log[-3000:]
    assert f"Shutdown: {SOCKETS} sockets closed with 1001" in log, log[-3000:]


def test_a_worker_given_sigterm_inside_a_stage_finishes_it_and_the_next_worker_goes_on(
    rel_server, workers, s3_server, resolved_room
):
    room = resolved_room
    client = api_client(rel_server)
    report_id = generate(client, room)  # queued; no worker yet
    with step_blocked(report_id, "assemble_document"):
        leaving = workers.start(AI_PROVIDER="offline")
        wait_for(lambda: report_of(report_id).status == ReportStatus.ASSEMBLING_DOCUMENT and waiting_on_lock(),
                 timeout=60, what="the worker inside assemble_document")
        leaving.popen.send_signal(signal.SIGTERM)  # warm shutdown: the running stage may finish
        wait_for(lambda: "worker: Warm shutdown" in leaving.output(), timeout=15, what="the warm shutdown to begin")
    leaving.popen.wait(timeout=60)  # the stage finished once the lock went; then the worker left
    output = leaving.output()
    assert leaving.popen.returncode == 0, output[-3000:]
    assert "reports.assemble_document" in output and "succeeded" in output, output[-3000:]
    report = report_of(report_id)
    # Never half-done: the stage it was in is complete; the next one ran too (the worker had taken
    # it before it stopped consuming) or waits in the queue for the next worker.
    assert report.status in (ReportStatus.ASSEMBLING_DOCUMENT, ReportStatus.COMPLETED)
    assert ReportStep.objects.get(report_id=report_id, key="assemble_document").status == "completed"

    workers.start(AI_PROVIDER="offline")
    report = wait_until_ended(report_id, timeout=60)
    assert report.status == ReportStatus.COMPLETED, (report.error_message, report.error_detail)
    assert_one_stored_document(s3_server, room.id, report_id)
