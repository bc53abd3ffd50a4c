"""1,000 sockets of one uvicorn process closing at once leave nothing behind in their groups.

Before, each disconnect's ``group_discard`` raced for redis-py's pool (100 connections),
raised ``MaxConnectionsError`` and left the dead channel in the group for a day (the bench
counted 2,992 of 3,000 memberships left). Now the pool is sized, group changes are bounded,
pipelined and retried (``realtime/groups.py``). The channels-redis groups are sorted sets in
Redis; this test reads them directly.

1,000 sockets: on 2 cores they connect in a few seconds (50 handshakes in flight).
"""

import asyncio
import resource
import time

import httpx
import pytest
import redis
import websockets

from realtime import access
from tests.factories import PASSWORD, make_room, make_user
from tests.services import BIN, Process, cookie_header, free_port, login_client, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

SOCKETS = 1000
IN_FLIGHT = 50


@pytest.fixture
def server(service_env, service_log_dir):
    # 1,000 client sockets here and 1,000 in the server: more than a default soft limit of 1,024.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(max(soft, 4 * SOCKETS + 1000), hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    port = free_port()
    process = Process("uvicorn-mass-disconnect", [str(BIN / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1",
                                                  "--port", str(port), "--lifespan", "on", "--no-proxy-headers"],
                      env=service_env, log_dir=service_log_dir).start()
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200, timeout=60, what="uvicorn",
               process=process.popen, log=process.log)
    yield {"url": base, "port": port, "process": process}
    process.stop()
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def group_sizes(client, groups):
    return {group: client.zcard(f"warroom:group:{group}") for group in groups}


def test_a_thousand_sockets_closed_at_once_leave_no_channel_in_their_groups(server, redis_url):
    commander = make_user(username="ic-mass", display_name="IC")
    room = make_room(commander=commander)
    login = login_client(server["url"], "ic-mass", PASSWORD)
    groups = access.listener_groups(room_id=room.id, user_id=commander.id, session_key=login.cookies.get("sessionid"))
    url = f"ws://127.0.0.1:{server['port']}/ws/rooms/{room.id}/"
    headers = {"Cookie": cookie_header(login)}

    async def open_then_close_all():
        semaphore = asyncio.Semaphore(IN_FLIGHT)

        async def connect():
            async with semaphore:
                return await websockets.connect(url, additional_headers=headers, origin=server["url"], open_timeout=60)

        sockets = await asyncio.gather(*[connect() for _ in range(SOCKETS)])
        # Every socket is in all three groups (room, person, session) before the closes: a join
        # that failed would otherwise pass as "nothing left behind".
        deadline = time.monotonic() + 30
        while set(group_sizes(client, groups).values()) != {SOCKETS} and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        joined = group_sizes(client, groups)
        await asyncio.gather(*[ws.close() for ws in sockets])
        return joined

    client = redis.Redis.from_url(redis_url)
    assert asyncio.run(open_then_close_all()) == {group: SOCKETS for group in groups}
    deadline = time.monotonic() + 30
    while any(group_sizes(client, groups).values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert group_sizes(client, groups) == {group: 0 for group in groups}
    output = server["process"].output()
    assert "MaxConnectionsError" not in output and "Exception in ASGI application" not in output, output[-3000:]
