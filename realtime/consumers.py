"""WebSocket consumers. They only listen: no consumer writes the database."""

import asyncio
import json
import logging

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils.translation import gettext as _

from realtime import access, groups

logger = logging.getLogger(__name__)


class RoomConsumer(AsyncJsonWebsocketConsumer):
    """Live events of one room, for its members (and operators) only.

    Who may listen is decided by the function named in
    ``settings.REALTIME_ROOM_ACCESS`` (``incidents.selectors.room_visible_pairs``),
    so that realtime, a transport, imports no app. Access is decided again when
    it may have changed (realtime.access) and every
    ``REALTIME_ACCESS_RECHECK_SECONDS``; a socket that lost it is closed with 4403
    and relays nothing more.

    The person is read from the session here, together with the room check, in one
    batched call (``access.allowed_as``), not by Channels' AuthMiddleware beforehand:
    that was a second worker-thread call and database connection for every connect.
    """

    groups_joined = ()
    revoked = False
    recheck_task = None

    async def connect(self):
        self.room_id = self.scope["url_route"]["kwargs"]["room_id"]
        session = self.scope.get("session")
        self.session_key = getattr(session, "session_key", None) if session is not None else None
        user_id = await access.allowed_as(session_key=self.session_key, room_id=self.room_id) if self.session_key else None
        if user_id is None:
            await self.close(code=access.CLOSE_CODE)
            return
        self.user_id = user_id
        self.groups_joined = access.listener_groups(room_id=self.room_id, user_id=user_id, session_key=self.session_key)
        try:
            await groups.join(self.channel_layer, self.groups_joined, self.channel_name)
        except Exception:  # noqa: BLE001 - the page reconnects and re-reads; leave nothing half-joined
            logger.warning("Could not join the room's groups; closing the socket", exc_info=True)
            await groups.leave(self.channel_layer, self.groups_joined, self.channel_name)
            self.groups_joined = ()
            await self.close(code=1011)
            return
        await self.accept()
        self.recheck_task = asyncio.create_task(self._recheck_periodically())

    async def disconnect(self, code):
        if self.recheck_task is not None:
            self.recheck_task.cancel()
        await groups.leave(self.channel_layer, self.groups_joined, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        # A frame that is not JSON gets an error frame, not a 1011 close and a traceback.
        if text_data is None:
            await self.send_json({"type": "error", "code": "bad_frame", "message": _("Send JSON text frames.")})
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self.send_json({"type": "error", "code": "bad_frame", "message": _("That frame is not JSON.")})
            return
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs):
        # The socket is one-way; a ping keeps proxies from closing it.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def room_event(self, message):
        # An event meant for one person (their assistant answer) is not sent to anyone else's socket.
        only = message.get("only_user_id")
        if self.revoked or (only is not None and only != self.user_id):
            return
        await self.send_json({"type": message["event"], **message["payload"]})

    async def access_recheck(self, message):
        if self.revoked or not access.concerns(message, self.user_id):
            return
        if not await self._still_allowed():
            await self._revoke()

    async def access_revoke(self, message):
        await self._revoke()

    async def _revoke(self):
        if self.revoked:
            return
        self.revoked = True
        await self.close(code=access.CLOSE_CODE)

    async def _recheck_periodically(self):
        interval = settings.REALTIME_ACCESS_RECHECK_SECONDS
        while not self.revoked:
            await asyncio.sleep(interval)
            try:
                allowed = await self._still_allowed()
            except Exception:  # noqa: BLE001 - a database hiccup must not close every socket
                logger.warning("Socket access re-check failed; trying again later", exc_info=True)
                continue
            if not allowed:
                await self._revoke()

    async def _still_allowed(self):
        return await access.allowed(user_id=self.user_id, session_key=self.session_key, room_id=self.room_id)
