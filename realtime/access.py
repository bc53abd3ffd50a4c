"""Who may still listen: live sockets and streams re-check access when it may have changed.

Access is decided at connect, and again whenever a lower app says it may have
changed: a member removed or a room deleted (``recheck_room``), an account
changed or deactivated (``recheck_user``), a session ended (``end_session``).
Each listener (the room WebSocket, the notes SSE stream) joins three groups:
its room's, its user's and its session's, and a periodic re-check every
``REALTIME_ACCESS_RECHECK_SECONDS`` is the backstop for a lost message.

The messages are channel-layer group messages of their own types (not room
events), so no browser ever sees them. Realtime imports no app: the room rule is
the function named in ``settings.REALTIME_ROOM_ACCESS``.
"""

import asyncio
import hashlib
import logging
import time
from contextlib import asynccontextmanager
from importlib import import_module
from types import SimpleNamespace

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib import auth
from django.contrib.auth import get_user_model
from django.utils.module_loading import import_string

from realtime.events import room_group, subscribe

logger = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 3.0
# Group message types (a consumer's handler is the type with "." as "_").
RECHECK = "access.recheck"
REVOKE = "access.revoke"
# The close code of a socket whose access ended (the same as a refused connect).
CLOSE_CODE = 4403


def user_group(user_id) -> str:
    return f"user.{int(user_id)}"


def session_group(session_key: str) -> str:
    # A hash, so that no session key is ever written to Redis as a group name.
    return "session." + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def listener_groups(*, room_id, user_id, session_key=None) -> list[str]:
    groups = [room_group(room_id), user_group(user_id)]
    if session_key:
        groups.append(session_group(session_key))
    return groups


def _send(group: str, message: dict) -> None:
    """Send now (not through the event queue): access must end before any later event is relayed."""
    layer = get_channel_layer()
    if layer is None:
        return

    async def send():
        await asyncio.wait_for(layer.group_send(group, message), SEND_TIMEOUT_SECONDS)

    try:
        async_to_sync(send)()
    except Exception as exc:  # noqa: BLE001 - the periodic re-check still closes it
        logger.warning("Could not send %s to %s: %r", message.get("type"), group, exc)


def recheck_room(room_id, *, user_id=None) -> None:
    """Listeners of the room (only ``user_id``'s if given) re-check their access now."""
    _send(room_group(room_id), {"type": RECHECK, "user_id": user_id})


def recheck_user(user_id) -> None:
    """Every listener of this person re-checks (account deactivated, password changed)."""
    _send(user_group(user_id), {"type": RECHECK, "user_id": None})


def end_session(session_key: str | None) -> None:
    """Every listener opened with this session closes (logout)."""
    if session_key:
        _send(session_group(session_key), {"type": REVOKE})


def concerns(message: dict, user_id) -> bool:
    wanted = message.get("user_id")
    return wanted is None or str(wanted) == str(user_id)


def still_allowed(*, user_id, session_key, room_id) -> bool:
    """Is the session still logged in as ``user_id``, active, and may it see the room? (sync, ORM)

    ``session_key`` None means the listener authenticated otherwise (an API token):
    the account must still be active and the token is checked by its own expiry.
    """
    if session_key:
        store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
        # get_user checks the session's auth hash (password changes) and is_active.
        user = auth.get_user(SimpleNamespace(session=store))
    else:
        user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.is_authenticated or str(user.pk) != str(user_id):
        return False
    return bool(import_string(settings.REALTIME_ROOM_ACCESS)(user=user, room_id=room_id))


class AccessEnded(Exception):
    """The listener may no longer hear the room (removed, logged out, deactivated, room deleted)."""


@asynccontextmanager
async def listen(*, room_id, user_id, session_key=None):
    """A room's events for one listener (a server-side stream), ending when its access does.

    ``await next_event(timeout)`` returns the next event or None after ``timeout``; it raises
    :class:`AccessEnded` on a revoke, on a re-check that fails, and on the periodic re-check.
    """
    listener = {"user_id": user_id, "session_key": session_key, "room_id": room_id}
    allowed = database_sync_to_async(still_allowed)
    next_check = time.monotonic() + settings.REALTIME_ACCESS_RECHECK_SECONDS

    async def control(message):
        if message.get("type") == REVOKE:
            raise AccessEnded
        if message.get("type") == RECHECK and concerns(message, user_id) and not await allowed(**listener):
            raise AccessEnded

    groups = listener_groups(room_id=room_id, user_id=user_id, session_key=session_key)[1:]
    async with subscribe(room_id, groups=groups, on_control=control) as next_room_event:

        async def next_event(timeout: float):
            nonlocal next_check
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + settings.REALTIME_ACCESS_RECHECK_SECONDS
                if not await allowed(**listener):
                    raise AccessEnded
            return await next_room_event(min(timeout, max(next_check - time.monotonic(), 0.01)))

        yield next_event
