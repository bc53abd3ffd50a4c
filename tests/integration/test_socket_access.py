"""A socket lives only as long as its access: over a real uvicorn + channels-redis, changes made in another process.

The server is one process; this test process removes members, logs out and
deactivates accounts, as another web process or an operator in the admin would.
"""

import asyncio
import json
import time

import pytest
import websockets
from django.db import connection

from incidents import services
from tests.factories import PASSWORD, add_member, make_room, make_user
from tests.services import cookie_header, login_client

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def redis_layer(settings, redis_url):
    """This process sends through Redis, as another web process or a Celery worker would."""
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [redis_url], "prefix": "warroom"}}
    }


def in_thread(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    finally:
        connection.close()


async def receive_type(ws, wanted, timeout=10):
    async def loop():
        while True:
            event = json.loads(await ws.recv())
            if event["type"] == wanted:
                return event
    return await asyncio.wait_for(loop(), timeout)


async def closed_within(ws, seconds):
    """Everything received until the server closed the socket, and its close code."""
    received = []
    started = time.monotonic()
    with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
        while True:
            remaining = seconds - (time.monotonic() - started)
            received.append(json.loads(await asyncio.wait_for(ws.recv(), max(remaining, 0.01))))
    return received, closed.value.rcvd.code if closed.value.rcvd else None, time.monotonic() - started


def connect(asgi_server, room, client):
    url = f"ws://127.0.0.1:{asgi_server['port']}/ws/rooms/{room.id}/"
    return websockets.connect(url, additional_headers={"Cookie": cookie_header(client)}, origin=asgi_server["url"])


@pytest.fixture
def crew(db):
    commander = make_user(username="ic-live", display_name="IC")
    responder = make_user(username="resp-live", display_name="Responder")
    room = make_room(commander=commander)
    add_member(room, responder)
    return room, commander, responder


def test_a_removed_member_is_closed_at_once_and_gets_nothing_more(asgi_server, redis_layer, crew):
    room, commander, responder = crew
    client = login_client(asgi_server["url"], "resp-live", PASSWORD)

    async def scenario():
        async with connect(asgi_server, room, client) as ws:
            await asyncio.to_thread(in_thread, services.message_post, room=room, sender=commander, body="before")
            assert (await receive_type(ws, "message.created"))["body"] == "before"
            await asyncio.to_thread(in_thread, services.member_remove, room=room, user=responder, by=commander)
            # Posted right after the removal: it must never reach the removed person.
            await asyncio.to_thread(in_thread, services.message_post, room=room, sender=commander, body="after removal")
            return await closed_within(ws, 1.0)

    received, code, elapsed = asyncio.run(scenario())
    assert code == 4403 and elapsed < 1.0
    assert received == []


def test_logout_closes_every_socket_of_that_session(asgi_server, redis_layer, crew):
    room, commander, responder = crew
    client = login_client(asgi_server["url"], "resp-live", PASSWORD)
    other_room = make_room(commander=commander, title="second room")
    add_member(other_room, responder)

    async def scenario():
        async with connect(asgi_server, room, client) as first, connect(asgi_server, other_room, client) as second:
            await first.send(json.dumps({"type": "ping"}))
            assert json.loads(await first.recv()) == {"type": "pong"}
            logout = await asyncio.to_thread(
                client.post, "/accounts/logout/",
                headers={"X-CSRFToken": client.cookies.get("csrftoken"), "Referer": asgi_server["url"] + "/"},
            )
            assert logout.status_code == 200
            await asyncio.to_thread(in_thread, services.message_post, room=room, sender=commander, body="after logout")
            return await closed_within(first, 1.0), await closed_within(second, 1.0)

    (received, code, elapsed), (received2, code2, _) = asyncio.run(scenario())
    assert (code, code2) == (4403, 4403) and elapsed < 1.0
    assert received == [] and received2 == []


def test_a_deactivated_account_is_closed_at_once(asgi_server, redis_layer, crew):
    room, commander, responder = crew
    client = login_client(asgi_server["url"], "resp-live", PASSWORD)

    def deactivate():
        responder.is_active = False
        responder.save()

    async def scenario():
        async with connect(asgi_server, room, client) as ws:
            await ws.send(json.dumps({"type": "ping"}))
            assert json.loads(await ws.recv()) == {"type": "pong"}
            await asyncio.to_thread(in_thread, deactivate)
            await asyncio.to_thread(in_thread, services.message_post, room=room, sender=commander, body="after")
            return await closed_within(ws, 1.0)

    received, code, _ = asyncio.run(scenario())
    assert code == 4403 and received == []


def test_a_member_who_stays_keeps_the_socket(asgi_server, redis_layer, crew):
    room, commander, responder = crew
    bystander = make_user(username="bystander-live")
    add_member(room, bystander)
    client = login_client(asgi_server["url"], "resp-live", PASSWORD)

    async def scenario():
        async with connect(asgi_server, room, client) as ws:
            await asyncio.to_thread(in_thread, services.member_remove, room=room, user=bystander, by=commander)
            await asyncio.to_thread(in_thread, services.message_post, room=room, sender=commander, body="still here")
            while (event := await receive_type(ws, "message.created", timeout=5))["body"] != "still here":
                pass
            return event["body"]

    assert asyncio.run(scenario()) == "still here"
