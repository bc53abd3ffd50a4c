"""WebSocket consumers. They only listen: no consumer writes the database."""

import asyncio
import json
import logging
import weakref

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils.translation import gettext as _

from config import metrics
from realtime import access, groups

logger = logging.getLogger(__name__)

# WebSocket close code 1013: the server cannot take the socket now; the client may try again.
TRY_AGAIN_LATER = 1013
# "Going away": the server is shutting down (a deploy); the page reconnects, to another process.
GOING_AWAY = 1001
# At a shutdown, leaving the groups is given up after this long: the membership expires anyway.
DISCARD_TIMEOUT_SECONDS = 2.0
# Sockets of this process that are open, for ``close_all_going_away`` at shutdown.
_open_consumers: "weakref.WeakSet[RoomConsumer]" = weakref.WeakSet()
# Consumers that have not finished leaving their groups yet (open ones included).
_present: "weakref.WeakSet[RoomConsumer]" = weakref.WeakSet()
_shutting_down = False


def shutting_down() -> bool:
    return _shutting_down


async def close_all_going_away() -> int:
    """Close every open room socket of this process with 1001 (the server's SIGTERM); returns how many.

    Sent at once, before the server's own shutdown closes them with 1012, so that pages reconnect
    (to another process behind the load balancer) without waiting for a timeout.
    """
    global _shutting_down
    _shutting_down = True
    consumers = list(_open_consumers)
    results = await asyncio.gather(*(consumer.going_away() for consumer in consumers), return_exceptions=True)
    for result in results:
        if isinstance(result, Exception):
            logger.debug("Closing a socket at shutdown failed: %r", result)
    return len(consumers)


async def wait_until_gone(*, timeout: float) -> None:
    """Until every consumer of this process has left its groups, or ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while _present and loop.time() < deadline:
        await asyncio.sleep(0.05)


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
    counted = False  # in warroom_websocket_connections (accepted, not yet disconnected)

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
        _present.add(self)
        try:
            await groups.join(self.channel_layer, self.groups_joined, self.channel_name)
        except Exception as exc:  # noqa: BLE001 - the page reconnects and re-reads; leave nothing half-joined
            # Redis down or switching primaries (after the retries): a 503 the page's reconnect loop retries.
            logger.warning("Socket refused: could not join the room's groups (%r)", exc)
            await groups.leave(self.channel_layer, self.groups_joined, self.channel_name)
            self.groups_joined = ()
            await self._refuse_unavailable()
            return
        await self.accept()
        _open_consumers.add(self)
        self.counted = True
        metrics.websocket_opened()
        self.recheck_task = asyncio.create_task(self._recheck_periodically())
        if _shutting_down:
            await self.going_away()

    async def disconnect(self, code):
        _open_consumers.discard(self)
        if self.counted:
            self.counted = False
            metrics.websocket_closed()
        if self.recheck_task is not None:
            self.recheck_task.cancel()
        leaving = groups.leave(self.channel_layer, self.groups_joined, self.channel_name)
        if _shutting_down:
            # Bounded at a shutdown: the exit must not wait on Redis (a membership left behind expires).
            try:
                await asyncio.wait_for(leaving, DISCARD_TIMEOUT_SECONDS)
            except Exception:  # noqa: BLE001, S110 - the socket is closed either way
                pass
        else:
            await leaving  # retried and logged by realtime.groups
        _present.discard(self)

    async def going_away(self):
        """Close this socket with 1001; relay nothing more."""
        if self.revoked:
            return
        self.revoked = True
        _open_consumers.discard(self)
        await self.close(code=GOING_AWAY)

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

    async def _refuse_unavailable(self):
        message = _("A service Warroom needs is unavailable for a moment; try again in a few seconds.")
        if "websocket.http.response" in self.scope.get("extensions", {}):
            body = {"error": {"code": "service_unavailable", "message": message, "details": {}}}
            await self.base_send({"type": "websocket.http.response.start", "status": 503,
                                  "headers": [(b"content-type", b"application/json"), (b"retry-after", b"5")]})
            await self.base_send({"type": "websocket.http.response.body", "body": json.dumps(body).encode()})
        else:
            await self.close(code=TRY_AGAIN_LATER)

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
