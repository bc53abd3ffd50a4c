"""WebSocket connect rate and mass disconnect, beside a bare Channels consumer in the same run.

1,000 clients, each a different person with a session of their own (as 1,000 browsers are),
connect to one room (50 handshakes in flight at a time, as the fan-out scenario does), then all
of them close at once. Warroom's consumer (session login, origin check, access
check, three groups joined) runs in the stack's uvicorn; the bare consumer
(``bench/bare_channels.py``: join one group, accept) in a second uvicorn process with the same
flags and settings. Figures per run: seconds for all 1,000 to be open, connects per second, p50 /
p99 of one handshake, and the channels left behind in the room's group (the channels-redis
sorted sets: for Warroom the room's, each person's and each session's) once the server has
handled the closes. Three runs, alternating which server goes
first; min / median / max of each figure, and Warroom ÷ bare of the median connect time.
"""

import asyncio
import statistics
import time

from bench.harness import BIN, percentile

CLIENTS = 1000
IN_FLIGHT = 50
RUNS = 3
GOAL_RATIO = 2.0
SETTLE_SECONDS = 20


def group_key(group):
    from django.conf import settings

    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"].get("prefix", "asgi")
    return f"{prefix}:group:{group}"


def stale_members(redis_client, groups, deadline):
    """Members left in ``groups`` once they stop shrinking (or at ``deadline``): the room's group, and the rest."""
    previous = None
    while True:
        pipe = redis_client.pipeline()
        for group in groups:
            pipe.zcard(group_key(group))
        counts = pipe.execute()
        total = sum(counts)
        if total == 0 or time.monotonic() > deadline or total == previous:
            return {"room_group": counts[0], "other_groups": total - counts[0]}
        previous = total
        time.sleep(1.0)


def people_with_sessions(room, count):
    """``count`` members of the room, each logged in with a session of their own: their cookies and groups."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.models import User
    from incidents.models import MemberRole, RoomMember
    from realtime import access

    users = User.objects.bulk_create(User(username=f"bench-connect-{i}", display_name=f"連線 {i}", password="!")
                                     for i in range(count))
    RoomMember.objects.bulk_create(RoomMember(room=room, user=user, role=MemberRole.RESPONDER) for user in users)
    cookies, groups = [], [access.listener_groups(room_id=room.id, user_id=0)[0]]
    for user in users:
        store = SessionStore()
        store[SESSION_KEY], store[BACKEND_SESSION_KEY] = str(user.pk), settings.AUTHENTICATION_BACKENDS[-1]
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={store.session_key}")
        groups += access.listener_groups(room_id=room.id, user_id=user.pk, session_key=store.session_key)[1:]
    return cookies, groups


async def connect_all(urls_headers, *, origin):
    import websockets

    semaphore = asyncio.Semaphore(IN_FLIGHT)
    handshakes = []

    async def connect(url, headers):
        async with semaphore:
            started = time.perf_counter()
            ws = await websockets.connect(url, additional_headers=headers, origin=origin, open_timeout=120, max_queue=None)
            handshakes.append(time.perf_counter() - started)
            return ws

    started = time.perf_counter()
    clients = await asyncio.gather(*[connect(url, headers) for url, headers in urls_headers])
    return clients, time.perf_counter() - started, handshakes


async def one_run(urls_headers, *, origin):
    clients, seconds, handshakes = await connect_all(urls_headers, origin=origin)
    # Every socket closes at once, as when a load balancer drops a process's connections.
    await asyncio.gather(*[ws.close() for ws in clients], return_exceptions=True)
    return {"connect_s": seconds, "connects_per_s": CLIENTS / seconds,
            "handshake_p50_ms": percentile(handshakes, 0.5) * 1000, "handshake_p99_ms": percentile(handshakes, 0.99) * 1000}


def spread(values):
    return {"min": round(min(values), 2), "median": round(statistics.median(values), 2), "max": round(max(values), 2)}


def run(stack):
    import httpx
    import redis

    from bench import seed
    from realtime.events import room_group
    from tests.services import free_port, wait_until

    commander = seed.user("bench-connect", "連線 Connect")
    room = seed.room(stack, commander=commander, title="Connect room", messages=5, resolved=False)
    cookies, warroom_groups = people_with_sessions(room, CLIENTS)
    warroom_url = f"ws://127.0.0.1:{stack.port}/ws/rooms/{room.id}/"
    warroom_clients = [(warroom_url, {"Cookie": cookie}) for cookie in cookies]

    port = free_port()
    stack._spawn("bare-uvicorn", [str(BIN / "uvicorn"), "bench.bare_channels:application", "--host", "127.0.0.1",
                                  "--port", str(port), "--lifespan", "on", "--log-level", "warning"], stack.env)
    bare = stack.processes["bare-uvicorn"]
    wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/").status_code == 200, timeout=60, what="bare uvicorn")
    from bench.bare_channels import bare_group

    redis_client = redis.Redis.from_url(stack.redis_url)
    runs = {"warroom": [], "bare": []}
    stale = {"warroom": [], "bare": []}
    try:
        for index in range(RUNS):
            order = ["warroom", "bare"] if index % 2 == 0 else ["bare", "warroom"]
            for name in order:
                if name == "warroom":
                    clients, groups = warroom_clients, warroom_groups
                else:
                    clients = [(f"ws://127.0.0.1:{port}/ws/bare/{room.id}/", {})] * CLIENTS
                    groups = [bare_group(room.id)]
                figures = asyncio.run(one_run(clients, origin=stack.url))
                left = stale_members(redis_client, groups, time.monotonic() + SETTLE_SECONDS)
                figures["stale_group_members"] = sum(left.values())
                runs[name].append(figures)
                stale[name].append(left)
                # The next run starts from empty groups whatever this one left.
                redis_client.delete(*[group_key(group) for group in groups])
    finally:
        stack._stop(bare)
    summary = {name: {key: spread([r[key] for r in rows]) for key in rows[0]} for name, rows in runs.items()}
    ratio = summary["warroom"]["connect_s"]["median"] / summary["bare"]["connect_s"]["median"]
    return {
        "scenario": "ws_connect",
        "clients": CLIENTS, "in_flight": IN_FLIGHT, "runs": RUNS,
        "warroom": summary["warroom"], "bare": summary["bare"],
        "ratio_connect_s": round(ratio, 2), "goal_ratio": GOAL_RATIO, "met": ratio <= GOAL_RATIO,
        "stale_after_close": stale,
        "people": "every Warroom client is a different member with a session of its own",
        "room_group": room_group(room.id),
        "note": "one uvicorn process each; the 1,000 clients run in one Python process on the same 2 cores",
    }


def table(result):
    w, b = result["warroom"], result["bare"]
    mmm = lambda f: f"{f['min']:.2f} / {f['median']:.2f} / {f['max']:.2f}"  # noqa: E731
    return [
        (f"ws connect: {result['clients']:,} clients, seconds min/med/max (bare)",
         f"{mmm(w['connect_s'])} s ({mmm(b['connect_s'])} s), ratio {result['ratio_connect_s']}x"),
        ("ws connect: handshake p50 / p99 ms, median (bare)",
         f"{w['handshake_p50_ms']['median']:.1f} / {w['handshake_p99_ms']['median']:.1f} "
         f"({b['handshake_p50_ms']['median']:.1f} / {b['handshake_p99_ms']['median']:.1f})"),
        ("ws mass disconnect: stale group members after 1,000 closes, max (bare)",
         f"{w['stale_group_members']['max']:.0f} ({b['stale_group_members']['max']:.0f})"),
    ]
