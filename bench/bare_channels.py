"""A bare Channels app: the baseline Warroom's WebSocket figures are divided by.

One consumer that joins a room's group, accepts and forwards group events: no session, no
user, no access check, no origin check. ``POST /bare/<room>/send`` (JSON ``{"event": ...,
"payload": {...}}``) is the bare side of a REST write: it sends the body to the room's group
straight from the request (no auth, no database, no serializer) and answers 202 once sent. It runs under the same uvicorn flags and the same
settings (channels-redis layer, its pool and timeouts) as Warroom's own ASGI app, in a
second uvicorn process started by the scenario, so that the two are measured side by side:

    uvicorn bench.bare_channels:application --host 127.0.0.1 --port <port> --lifespan on
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from channels.generic.websocket import AsyncJsonWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402


def bare_group(room) -> str:
    return f"bare.{room}"


class BareRoomConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.group = bare_group(self.scope["url_route"]["kwargs"]["room"])
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def room_event(self, message):
        await self.send_json({"type": message["event"], **message["payload"]})


async def _send_endpoint(scope, receive, send):
    """The bare REST write: the request body, group_sent to the room as a room event."""
    import json

    from channels.layers import get_channel_layer

    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    data = json.loads(body)
    room = scope["path"][len("/bare/"):-len("/send")]
    await get_channel_layer().group_send(bare_group(room), {"type": "room.event", "event": data["event"],
                                                            "payload": data["payload"]})
    await send({"type": "http.response.start", "status": 202, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"sent"})


router = ProtocolTypeRouter({"websocket": URLRouter([path("ws/bare/<str:room>/", BareRoomConsumer.as_asgi())])})


async def application(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "http":
        if scope["method"] == "POST" and scope["path"].startswith("/bare/") and scope["path"].endswith("/send"):
            await _send_endpoint(scope, receive, send)
            return
        # A health answer, so that the scenario can wait for the server.
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    await router(scope, receive, send)
