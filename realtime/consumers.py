"""WebSocket consumers. They only listen: no consumer writes the database."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils.module_loading import import_string

from realtime.events import room_group


class RoomConsumer(AsyncJsonWebsocketConsumer):
    """Live events of one room, for its members (and operators) only.

    Who may listen is decided by the function named in
    ``settings.REALTIME_ROOM_ACCESS`` (``incidents.selectors.room_visible_to``),
    so that realtime, a transport, imports no app.
    """

    async def connect(self):
        user = self.scope.get("user")
        room_id = self.scope["url_route"]["kwargs"]["room_id"]
        if user is None or not user.is_authenticated or not await self._can_see(user, room_id):
            await self.close(code=4403)
            return
        self.group = room_group(room_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        # The socket is one-way; a ping keeps proxies from closing it.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def room_event(self, message):
        # An event meant for one person (their assistant answer) is not sent to anyone else's socket.
        only = message.get("only_user_id")
        if only is not None and only != self.scope["user"].id:
            return
        await self.send_json({"type": message["event"], **message["payload"]})

    @database_sync_to_async
    def _can_see(self, user, room_id):
        return import_string(settings.REALTIME_ROOM_ACCESS)(user=user, room_id=room_id)
