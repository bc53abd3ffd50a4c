"""The README's run path: no configuration at all, SQLite, in-process worker, a real ASGI server."""

import asyncio
import json
import os
import re
import subprocess
import sys

import httpx
import pytest
import websockets

from tests.services import BIN, ROOT, Process, cookie_header, free_port, login_client, wait_until


@pytest.fixture(scope="module")
def embedded_server(tmp_path_factory):
    var = tmp_path_factory.mktemp("embedded-var")
    # Nothing but the basics: every production variable is absent.
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), "WARROOM_VAR_DIR": str(var), "LANG": "C.UTF-8"}
    for command in (["migrate", "--noinput", "-v0"], ["seed_demo"]):
        result = subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
        assert result.returncode == 0, result.stderr
    assert (var / "warroom.sqlite3").exists()
    port = free_port()
    server = Process(
        "embedded", [str(BIN / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1", "--port", str(port), "--lifespan", "on"],
        env=env, log_dir=var,
    ).start()
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200, timeout=60, what="embedded server", process=server.popen, log=server.log)
    yield {"url": base, "port": port, "server": server, "var": var}
    server.stop()


def login(base, username, password="warroom-demo"):
    client = login_client(base, username, password)
    return client, client.get("/rooms/")


def test_demo_login_lands_on_the_room_list_and_opens_the_seeded_room(embedded_server):
    client, landing = login(embedded_server["url"], "alice")
    assert str(landing.url).endswith("/rooms/")
    assert "郵件伺服器中斷" in landing.text
    room_path = re.search(r'href="(/rooms/[0-9a-f-]{36}/)">郵件伺服器中斷', landing.text).group(1)
    room = client.get(room_path)
    assert room.status_code == 200
    assert "queue-dashboard.png" in room.text
    assert "Embedded Celery worker started" in embedded_server["server"].output()


def test_operator_reaches_the_admin(embedded_server):
    client, _ = login(embedded_server["url"], "operator")
    assert client.get("/admin/").status_code == 200


def test_member_websocket_is_accepted_and_outsider_refused(embedded_server):
    client, landing = login(embedded_server["url"], "alice")
    room_id = re.search(r'href="/rooms/([0-9a-f-]{36})/"', landing.text).group(1)
    cookie = cookie_header(client)
    url = f"ws://127.0.0.1:{embedded_server['port']}/ws/rooms/{room_id}/"
    origin = embedded_server["url"]

    async def talk(headers):
        async with websockets.connect(url, additional_headers=headers, origin=origin, open_timeout=5) as ws:
            await ws.send(json.dumps({"type": "ping"}))
            return json.loads(await asyncio.wait_for(ws.recv(), 5))

    assert asyncio.run(talk({"Cookie": cookie})) == {"type": "pong"}
    with pytest.raises(websockets.exceptions.WebSocketException):
        asyncio.run(talk({}))
