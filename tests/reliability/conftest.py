"""Faults on purpose: real processes killed, Redis stopped, S3 cut off, an AI that misbehaves.

Nothing here touches the shared services other tests use: this folder starts
its own Redis (on a free port, so it can be stopped), its own uvicorn and its
own Celery workers (so they can be killed with SIGKILL), and reaches S3
through a TCP proxy it can cut. PostgreSQL is the test database.

Where production relies on Celery beat (the reaper every minute), the tests
play beat: they send ``reports.reap_stuck_reports`` to the worker every half
second, with ``REPORT_STUCK_AFTER_SECONDS`` set low in the worker.
"""

import asyncio
import json
import shutil
import socket
import threading
import time
from contextlib import contextmanager

import boto3
import httpx
import pytest
import websockets
from django.db import connections

from incidents.models import MemberRole, Message, MessageKind
from reports.models import Report
from tests import factories
from tests.services import BIN, Process, celery_client, cookie_header, free_port, login_client, require, wait_until

# Short deadlines so every fault resolves in seconds (the production defaults are minutes).
FAST = {
    "AI_PROVIDER": "dify",
    "DIFY_API_KEY": "app-reliability",
    "DIFY_TIMEOUT_SECONDS": "3",
    "AI_MAX_RETRIES": "1",
    "AI_RETRY_BACKOFF_SECONDS": "0.1",
    "AI_CONNECT_TIMEOUT_SECONDS": "2",
    "API_THROTTLE_USER": "100000/min",
    "API_THROTTLE_REPORT_GENERATE": "100000/min",
    "LOG_LEVEL": "INFO",
}
# The reaper treats a stage claimed this long ago as stuck (production: 900 s).
STUCK_AFTER_SECONDS = 4


class RedisServer:
    """A Redis of our own, which a test may stop and start again on the same port."""

    def __init__(self, directory, log_dir):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.directory = directory
        self.process = Process(
            f"redis-{self.port}",
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(directory), "--maxmemory-policy", "noeviction"],
            env={}, log_dir=log_dir,
        )

    def ping(self) -> bool:
        import redis

        try:
            return redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping()
        except redis.RedisError:
            return False

    def start(self):
        self.process.start()
        wait_until(self.ping, timeout=15, what="redis-server", process=self.process.popen, log=self.process.log)

    def stop(self):
        self.process.stop()

    @property
    def running(self) -> bool:
        return self.process.popen is not None and self.process.popen.poll() is None


class TcpProxy:
    """Forwards a loopback port to another; ``cut()`` makes the far side unreachable (connections refused)."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.port = free_port()
        self._listener = None
        self._open = []
        self._lock = threading.Lock()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def restore(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self):
        """Stop listening and drop every open connection: clients now get 'connection refused'."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            for sock in self._open:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self._open.clear()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, target):
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


@pytest.fixture(scope="session")
def own_redis(tmp_path_factory, service_log_dir):
    require(shutil.which("redis-server"), "redis-server (to start a Redis the reliability tests may stop)")
    server = RedisServer(tmp_path_factory.mktemp("redis"), service_log_dir)
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _redis_back_up(own_redis):
    """A test that stopped Redis leaves it running again for the next one."""
    yield
    if not own_redis.running:
        own_redis.start()


@pytest.fixture(scope="session")
def s3_proxy(s3_server):
    proxy = TcpProxy(int(s3_server["endpoint"].rsplit(":", 1)[1]))
    proxy.restore()
    yield proxy
    proxy.cut()


@pytest.fixture(autouse=True)
def _s3_back_up(s3_proxy):
    yield
    if s3_proxy._listener is None:
        s3_proxy.restore()


@pytest.fixture(scope="session")
def rel_env(service_env, own_redis, s3_proxy):
    """Production-like settings on our own Redis, S3 through the proxy, and short deadlines."""
    return {**service_env, **FAST, "REDIS_URL": own_redis.url, "S3_ENDPOINT_URL": s3_proxy.url}


@pytest.fixture(scope="session")
def rel_server(rel_env, service_log_dir):
    port = free_port()
    args = [str(BIN / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1", "--port", str(port),
            "--lifespan", "on"]
    process = Process("uvicorn-reliability", args, env=rel_env, log_dir=service_log_dir).start()
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200, timeout=60, what="uvicorn",
               process=process.popen, log=process.log)
    yield {"url": base, "port": port, "process": process}
    process.stop()


class Workers:
    """Celery workers this test starts (and may kill); all stopped at the end of the test."""

    def __init__(self, env, redis_url, log_dir):
        self.env, self.redis_url, self.log_dir = env, redis_url, log_dir
        self.started = []

    def start(self, name="worker", **overrides):
        from tests.services import start_celery_worker

        env = {**self.env, **{k: str(v) for k, v in overrides.items()}}
        process = start_celery_worker(env, self.log_dir, name=f"{name}-{len(self.started)}-{free_port()}")
        self.started.append(process)
        client = celery_client(self.redis_url)
        wait_until(lambda: client.send_task("warroom.ping", args=["ready"]).get(timeout=2) == "ready",
                   timeout=60, what="celery worker", process=process.popen, log=process.log)
        return process

    def stop_all(self):
        for process in self.started:
            process.stop()


@pytest.fixture
def workers(rel_env, own_redis, service_log_dir):
    pool = Workers(rel_env, own_redis.url, service_log_dir)
    yield pool
    pool.stop_all()


def s3_client(s3_server):
    return boto3.client("s3", endpoint_url=s3_server["endpoint"], region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def stored_keys(s3_server, room_id) -> list[str]:
    """Every object under the room's report folder, straight from the S3 server (not through the proxy)."""
    listing = s3_client(s3_server).list_objects_v2(Bucket=s3_server["bucket"], Prefix=f"reports/{room_id}/")
    return sorted(item["Key"] for item in listing.get("Contents", []))


def assert_one_stored_document(s3_server, room_id, report_id, *, timeout=10):
    """The report's .docx at its fixed key and nothing else under the room's folder.

    The publish stage deletes the staging copy after the completion commits (a leftover is
    harmless), so a test that saw ``completed`` may list the staging key for a moment: wait
    for it to go, then compare the whole listing.
    """
    final = f"reports/{room_id}/{report_id}.docx"
    deadline = time.monotonic() + timeout
    keys = stored_keys(s3_server, room_id)
    while keys != [final] and time.monotonic() < deadline:
        time.sleep(0.1)
        keys = stored_keys(s3_server, room_id)
    assert keys == [final]


@pytest.fixture
def resolved_room(s3_server):
    """A resolved room with a few messages and one screenshot in S3; the member is 'resp-rel'."""
    commander = factories.make_user(username="ic-rel", display_name="陳指揮 IC")
    responder = factories.make_user(username="resp-rel", display_name="王小明 Responder")
    room = factories.make_room(commander=commander, title="可靠性測試 Reliability")
    factories.add_member(room, responder, MemberRole.RESPONDER)
    factories.add_messages(room, commander, 6, body="告警 alert {i}")
    room.status, room.resolution_summary = "resolved", "restarted the queue"
    room.resolved_at = room.created_at
    room.save()
    Message.objects.create(room=room, kind=MessageKind.STATUS, body="Resolved", created_at=room.created_at)
    data = factories.png_bytes(800, 450)
    image = factories.add_raw_file(room, responder, name="dash.png", data=data, content_type="image/png",
                                   width=800, height=450)
    s3_client(s3_server).put_object(Bucket=s3_server["bucket"], Key=image.file.name, Body=data)
    return room


def api_client(server, username="resp-rel"):
    client = login_client(server["url"], username, factories.PASSWORD)
    client.headers.update({"X-CSRFToken": client.cookies.get("csrftoken"), "Referer": server["url"] + "/"})
    return client


def generate(client, room) -> str:
    response = client.post(f"/api/rooms/{room.id}/reports/generate", json={})
    assert response.status_code == 202, response.text
    return response.json()["report_id"]


def report_of(report_id) -> Report:
    return Report.objects.get(id=report_id)


def wait_for(check, *, timeout, what, interval=0.1):
    """Poll ``check`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(interval)


def wait_until_ended(report_id, *, timeout, reap_with=None) -> Report:
    """Wait until the report is completed or failed; with ``reap_with`` (a Redis URL) play beat meanwhile."""
    client = celery_client(reap_with) if reap_with else None
    deadline = time.monotonic() + timeout
    next_reap = 0.0
    while time.monotonic() < deadline:
        report = report_of(report_id)
        if not report.is_in_flight:
            return report
        if client is not None and time.monotonic() >= next_reap:
            client.send_task("reports.reap_stuck_reports")
            next_reap = time.monotonic() + 0.5
        time.sleep(0.1)
    report = report_of(report_id)
    raise AssertionError(f"report {report_id} still {report.status} ({report.step}) after {timeout} s")


@contextmanager
def step_blocked(report_id, key):
    """Hold an uncommitted ReportStep row for ``key``: the stage that starts that step waits on it.

    The stage claims its status first, then inserts its step row, which waits on
    this transaction's unique-key lock: the worker is then reliably inside the stage.
    Leaving the block rolls the row back and lets a waiting insert through.
    """
    import psycopg

    settings = connections["default"].settings_dict
    conn = psycopg.connect(host=settings["HOST"] or "127.0.0.1", port=settings["PORT"] or 5432,
                           user=settings["USER"], password=settings["PASSWORD"], dbname=settings["NAME"])
    try:
        conn.execute(
            "INSERT INTO reports_reportstep (report_id, key, label, status, detail, started_at) "
            "VALUES (%s, %s, 'blocker', 'pending', '{}', now())",
            (report_id, key),
        )
        yield conn
    finally:
        conn.rollback()
        conn.close()


def waiting_on_lock() -> bool:
    """True once another session's step insert waits on a lock (the worker behind our blocker)."""
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            " AND query LIKE 'INSERT INTO \"reports_reportstep\"%%'"
        )
        return cursor.fetchone()[0] > 0


class RoomListener:
    """A real WebSocket client in the room (its own thread and loop), keeping every event it receives."""

    def __init__(self, server, client, room):
        self.url = f"ws://127.0.0.1:{server['port']}/ws/rooms/{room.id}/"
        self.headers = {"Cookie": cookie_header(client)}
        self.origin = server["url"]
        self.events = []
        self._ready = threading.Event()
        self._stop = None
        self._loop = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        assert self._ready.wait(15), "the WebSocket did not connect"
        return self

    def __exit__(self, *exc):
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self):
        async def main():
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            async with websockets.connect(self.url, additional_headers=self.headers, origin=self.origin) as ws:
                self._ready.set()
                stopper = asyncio.ensure_future(self._stop.wait())
                while not self._stop.is_set():
                    receiver = asyncio.ensure_future(ws.recv())
                    done, _ = await asyncio.wait({receiver, stopper}, return_when=asyncio.FIRST_COMPLETED)
                    if receiver in done:
                        self.events.append(json.loads(receiver.result()))
                    else:
                        receiver.cancel()

        asyncio.run(main())

    def of_type(self, event_type, report_id=None):
        return [e for e in self.events if e["type"] == event_type and (report_id is None or e.get("report_id") == report_id)]
