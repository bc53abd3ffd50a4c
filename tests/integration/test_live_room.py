"""A real browser-like client on a real ASGI server (uvicorn + channels-redis)."""

import asyncio
import json

import pytest
import websockets
from django.db import connection

from incidents import services
from tests.factories import PASSWORD, add_member, make_room, make_user
from tests.services import cookie_header, login_client

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def resolve_and_close(room, by):
    """Resolve from a worker thread, closing that thread's own database connection."""
    try:
        services.room_resolve(room=room, by=by, summary="fixed elsewhere")
    finally:
        connection.close()


async def receive_type(ws, wanted, timeout=10):
    async def loop():
        while True:
            event = json.loads(await ws.recv())
            if event["type"] == wanted:
                return event
    return await asyncio.wait_for(loop(), timeout)


def test_events_reach_a_websocket_client_from_the_server_and_from_another_process(asgi_server, redis_url, settings):
    commander = make_user(username="ic", display_name="指揮官 IC")
    responder = make_user(username="resp", display_name="Responder")
    room = make_room(commander=commander)
    add_member(room, responder)
    client = login_client(asgi_server["url"], "resp", PASSWORD)
    csrf = client.cookies.get("csrftoken")
    url = f"ws://127.0.0.1:{asgi_server['port']}/ws/rooms/{room.id}/"

    # This test process publishes through Redis, as a Celery worker would.
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [redis_url], "prefix": "warroom"}}}

    async def scenario():
        async with websockets.connect(url, additional_headers={"Cookie": cookie_header(client)}, origin=asgi_server["url"]) as ws:
            posted = await asyncio.to_thread(
                client.post, f"/api/rooms/{room.id}/messages/", json={"body": "從瀏覽器 from the page"},
                headers={"X-CSRFToken": csrf, "Referer": asgi_server["url"] + "/"},
            )
            assert posted.status_code == 201, posted.text
            created = await receive_type(ws, "message.created")
            assert created["body"] == "從瀏覽器 from the page" and created["sender"]["name"] == "Responder"

            await asyncio.to_thread(resolve_and_close, room, commander)
            status = await receive_type(ws, "room.status")
            assert status["status"] == "resolved"

    asyncio.run(scenario())


def test_outsider_websocket_is_closed_by_the_server(asgi_server):
    make_user(username="stranger")
    room = make_room(commander=make_user(username="owner"))
    client = login_client(asgi_server["url"], "stranger", PASSWORD)
    url = f"ws://127.0.0.1:{asgi_server['port']}/ws/rooms/{room.id}/"

    async def scenario():
        async with websockets.connect(url, additional_headers={"Cookie": cookie_header(client)}, origin=asgi_server["url"]) as ws:
            await ws.recv()

    with pytest.raises(websockets.exceptions.WebSocketException):
        asyncio.run(scenario())
