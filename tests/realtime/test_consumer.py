"""The room WebSocket, through the real ASGI application (auth, Origin check, routing)."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from config.asgi import application
from incidents import services
from realtime import events

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def bound_loop():
    """Publish on the test's own loop, where the in-memory channel layer lives."""
    events.bind_loop(asyncio.get_running_loop())
    yield
    events.bind_loop(None)


def session_cookie(user):
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


async def connect(room, *, user=None, origin=b"http://127.0.0.1"):
    headers = [(b"origin", origin), (b"host", b"127.0.0.1")]
    if user is not None:
        headers.append((b"cookie", await database_sync_to_async(session_cookie)(user)))
    communicator = WebsocketCommunicator(application, f"/ws/rooms/{room.id}/", headers=headers)
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def test_member_receives_messages_posted_in_the_room(room, member, commander, bound_loop):
    communicator, connected, _ = await connect(room, user=member)
    assert connected
    await database_sync_to_async(services.message_post)(room=room, sender=commander, body="DB 已重啟 restarted")
    event = await communicator.receive_json_from(timeout=5)
    assert event["type"] == "message.created"
    assert event["body"] == "DB 已重啟 restarted"
    assert event["sender"]["name"] == "陳指揮 Commander Chen"
    await communicator.disconnect()


async def test_member_sees_the_room_status_change(room, member, commander, bound_loop):
    communicator, connected, _ = await connect(room, user=member)
    assert connected
    await database_sync_to_async(services.room_resolve)(room=room, by=commander, summary="fixed")
    seen = []
    while "room.status" not in seen:
        seen.append((await communicator.receive_json_from(timeout=5))["type"])
    assert "message.created" in seen
    await communicator.disconnect()


async def test_outsider_is_refused(room, outsider):
    communicator, connected, code = await connect(room, user=outsider)
    assert not connected and code == 4403


async def test_anonymous_is_refused(room):
    communicator, connected, code = await connect(room)
    assert not connected


async def test_foreign_origin_is_refused(room, member):
    communicator, connected, _ = await connect(room, user=member, origin=b"https://evil.example.com")
    assert not connected


async def test_ping_gets_pong(room, member):
    communicator, connected, _ = await connect(room, user=member)
    assert connected
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    await communicator.disconnect()
