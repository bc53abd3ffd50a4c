"""The API beside bare DRF: req/s at 8 concurrent clients for `GET /api/rooms/` and a messages page.

Warroom serves the requests as a browser's page does (session cookie, every middleware,
the throttle, the visibility rules); the bare baseline (``bench/bare_drf``) is a DRF
``ListAPIView`` with a nested ``ModelSerializer`` over equivalent tables in the same
database (``bare_drf_room``, ``bare_drf_message``: same columns, same rows, same page
sizes and pagination classes, the same connection pool), no middleware and no
authentication, served by its own uvicorn process with the same flags, in the same run.

Rooms: the caller is a member of 60 of 1,000 rooms, the first page (50) ordered by
creation; bare lists the first 50 of 60 equivalent rows. Messages: the first page (100)
of a 2,000-message room. Each run sends 240 requests per endpoint and server (after 24
to warm up) from 8 concurrent clients, Warroom and bare alternating; 3 runs. Besides
req/s, each server's CPU time per request is read from /proc (user + system), which is
what bounds the figure on a CPU-bound 2-core machine.
"""

import asyncio
import os
import time
import uuid
from datetime import timedelta

import httpx
from django.utils import timezone

from bench.harness import BIN, fmt_spread, spread, summary_ms

RUNS = 3
REQUESTS = 240
WARMUP = 24
CONCURRENCY = 8
ROOMS, MY_ROOMS, MESSAGES = 1000, 60, 2000


def _cpu_seconds(pid) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _seed_warroom(stack):
    from bench import seed
    from incidents.models import IncidentRoom, MemberRole, Message, MessageKind, RoomMember

    me = seed.user("bench-api", "API 使用者")
    other = seed.user("bench-api-other", "其他人")
    start = timezone.now() - timedelta(days=30)
    rooms = IncidentRoom.objects.bulk_create(
        IncidentRoom(title=f"API room {i}", created_by=me if i < MY_ROOMS else other, category="Network",
                     created_at=start + timedelta(minutes=i)) for i in range(ROOMS))
    RoomMember.objects.bulk_create(
        RoomMember(room=room, user=me if i < MY_ROOMS else other, role=MemberRole.COMMANDER)
        for i, room in enumerate(rooms))
    RoomMember.objects.bulk_create(RoomMember(room=room, user=other, role=MemberRole.RESPONDER)
                                   for room in rooms[:MY_ROOMS])
    big = rooms[0]
    Message.objects.bulk_create(
        Message(room=big, sender=me, kind=MessageKind.TEXT, body=f"進度 {i}：檢查 edge-{i % 7} 的連線與佇列 status update",
                created_at=start + timedelta(seconds=5 * i)) for i in range(MESSAGES))
    return me, big


def _seed_bare():
    from django.db import connection

    # The bare project's own tables (bench/bare_drf/models.py), in the same database.
    from bench.bare_drf.models import Message, Person, Room

    with connection.schema_editor() as editor:
        for model in (Person, Room, Message):
            editor.create_model(model)
    me = Person.objects.create(username="bench-api", display_name="API 使用者", job_title="")
    start = timezone.now() - timedelta(days=30)
    rooms = Room.objects.bulk_create(
        Room(id=uuid.uuid4(), title=f"API room {i}", severity="sev3", category="Network", status="active",
             created_by=me, created_at=start + timedelta(minutes=i), member_count=2) for i in range(MY_ROOMS))
    big = rooms[0]
    Message.objects.bulk_create(
        Message(room=big, sender=me, kind="text", body=f"進度 {i}：檢查 edge-{i % 7} 的連線與佇列 status update",
                created_at=start + timedelta(seconds=5 * i)) for i in range(MESSAGES))
    return big


def _start_bare(stack):
    from tests.services import free_port, wait_until

    port = free_port()
    env = {**stack.env, "DJANGO_SETTINGS_MODULE": "bench.bare_drf.settings"}
    stack._spawn("bare-drf", [str(BIN / "uvicorn"), "bench.bare_drf.asgi:application", "--host", "127.0.0.1",
                              "--port", str(port), "--lifespan", "off", "--log-level", "warning"], env)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(f"{url}/api/rooms/").status_code == 200, timeout=60, what="bare DRF")
    return url, stack.processes["bare-drf"].pid


async def _load(base, path, cookies, pid):
    """REQUESTS GETs of ``path`` from CONCURRENCY clients: req/s, latency, server CPU per request."""
    latencies, errors = [], []
    async with httpx.AsyncClient(base_url=base, cookies=cookies, timeout=30,
                                 limits=httpx.Limits(max_connections=CONCURRENCY)) as client:
        async def worker(count, record):
            for _ in range(count):
                started = time.perf_counter()
                response = await client.get(path)
                if response.status_code != 200:
                    errors.append(response.status_code)
                if record:
                    latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(worker(WARMUP // CONCURRENCY, False) for _ in range(CONCURRENCY)))
        cpu = _cpu_seconds(pid)
        started = time.perf_counter()
        await asyncio.gather(*(worker(REQUESTS // CONCURRENCY, True) for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
        cpu = _cpu_seconds(pid) - cpu
    if errors:
        raise RuntimeError(f"{path}: {len(errors)} answers were not 200 ({sorted(set(errors))})")
    return {"req_per_s": len(latencies) / elapsed, "cpu_ms_per_request": cpu / len(latencies) * 1000,
            "latency": summary_ms(latencies)}


def run(stack):
    from tests.factories import PASSWORD
    from tests.services import login_client

    me, big = _seed_warroom(stack)
    bare_big = _seed_bare()
    bare_url, bare_pid = _start_bare(stack)
    client = login_client(stack.url, me.username, PASSWORD)
    cookies = dict(client.cookies.items())
    warroom_pid = stack.processes["uvicorn"].pid
    endpoints = {
        "rooms": ("/api/rooms/", "/api/rooms/"),
        "messages": (f"/api/rooms/{big.id}/messages/", f"/api/rooms/{bare_big.id}/messages/"),
    }
    out = {}
    for name, (warroom_path, bare_path) in endpoints.items():
        runs = []
        for _ in range(RUNS):
            warroom = asyncio.run(_load(stack.url, warroom_path, cookies, warroom_pid))
            bare = asyncio.run(_load(bare_url, bare_path, {}, bare_pid))
            runs.append((warroom, bare))
        out[name] = {
            "warroom_req_per_s": spread([w["req_per_s"] for w, _ in runs], 1),
            "bare_req_per_s": spread([b["req_per_s"] for _, b in runs], 1),
            "ratio": spread([w["req_per_s"] / b["req_per_s"] for w, b in runs], 2),
            "warroom_cpu_ms_per_request": spread([w["cpu_ms_per_request"] for w, _ in runs], 2),
            "bare_cpu_ms_per_request": spread([b["cpu_ms_per_request"] for _, b in runs], 2),
            "warroom_latency": runs[-1][0]["latency"], "bare_latency": runs[-1][1]["latency"],
        }
    return {"scenario": "api", "concurrency": CONCURRENCY, "requests_per_run": REQUESTS, "goal_ratio": 0.7, **out}


def table(result):
    rows = []
    for name, label in (("rooms", "GET /api/rooms/"), ("messages", "messages page")):
        r = result[name]
        rows.append((f"api: {label} req/s at 8 clients, Warroom ÷ bare DRF",
                     f"{fmt_spread(r['ratio'], 'x')}  ({r['warroom_req_per_s']['median']} vs "
                     f"{r['bare_req_per_s']['median']} req/s; server CPU {r['warroom_cpu_ms_per_request']['median']} vs "
                     f"{r['bare_cpu_ms_per_request']['median']} ms/request)"))
    return rows
