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

Checks are answered in batches (:func:`allowed_as`): when a thousand browsers connect at
once (a deploy, a network blip: each page reconnects), each socket's check waited its
turn in the one worker thread, on a database connection of its own (14–17 s for 1,000
sockets, bare Channels 1–2 s). Now every check waiting at that moment is answered by one
worker-thread call on one database connection, and the next batch gathers meanwhile.
"""

import asyncio
import hashlib
import logging
import time
import weakref
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import import_module

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.crypto import constant_time_compare
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


@dataclass(frozen=True)
class Listener:
    """Who wants to listen to a room: a session (or, without one, an account id) and the room.

    ``user_id`` None (a socket connecting) means whoever the session is logged in as.
    """

    session_key: str | None
    user_id: int | None
    room_id: object


def _sessions(keys) -> dict[str, dict]:
    """The data of each live session among ``keys``: one query with database sessions, else one load each."""
    engine = import_module(settings.SESSION_ENGINE).SessionStore
    if not keys:
        return {}
    if hasattr(engine, "get_model_class"):  # django.contrib.sessions.backends.db and its kind
        decoder = engine()
        rows = engine.get_model_class().objects.filter(session_key__in=keys, expire_date__gt=timezone.now())
        return {row.session_key: decoder.decode(row.session_data) for row in rows}
    return {key: engine(key).load() for key in keys}


def _session_person(data: dict, users: dict):
    """The person a session is logged in as (``auth.get_user``'s rules, without writing the session), or None."""
    try:
        user_id = get_user_model()._meta.pk.to_python(data[SESSION_KEY])
        backend = data[BACKEND_SESSION_KEY]
    except (KeyError, ValidationError):
        return None
    user = users.get(user_id)
    if backend not in settings.AUTHENTICATION_BACKENDS or user is None:
        return None
    # The auth hash changes with the password: a session from before a password change is over.
    session_hash = data.get(HASH_SESSION_KEY)
    hashes = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
    if not session_hash or not any(constant_time_compare(session_hash, known) for known in hashes):
        return None
    return user


def _people(listeners: list[Listener]) -> dict[tuple, object]:
    """(session_key, user_id) of each listener -> the active person it is, or None: three queries at most."""
    sessions = _sessions(sorted({listener.session_key for listener in listeners if listener.session_key}))
    ids = {listener.user_id for listener in listeners if not listener.session_key and listener.user_id is not None}
    pk = get_user_model()._meta.pk
    for data in sessions.values():
        try:
            ids.add(pk.to_python(data[SESSION_KEY]))
        except (KeyError, ValidationError):
            continue
    # Active people only, whichever backend logged them in: a deactivated account hears nothing.
    users = {user.pk: user for user in get_user_model()._default_manager.filter(pk__in=ids, is_active=True)}
    people = {}
    for listener in listeners:
        who = (listener.session_key, listener.user_id)
        if who in people:
            continue
        if listener.session_key:
            user = _session_person(sessions[listener.session_key], users) if listener.session_key in sessions else None
        else:
            user = users.get(pk.to_python(listener.user_id)) if listener.user_id is not None else None
        if user is not None and listener.user_id is not None and str(user.pk) != str(listener.user_id):
            user = None  # the session is someone else's now
        people[who] = user
    return people


def resolve_listeners(listeners: list[Listener]) -> list[int | None]:
    """For each listener, the id of the person it may listen to the room as, or None. (sync, ORM)

    A session without ``user_id`` is whoever it is logged in as; with ``user_id`` it must
    still be logged in as that person, active, with the same auth hash. No session means the
    listener authenticated otherwise (an API token): the account must still be active, and
    the token is checked by its own expiry. The sessions, the people and who may see which
    room are each read in one query for the whole batch
    (``settings.REALTIME_ROOM_ACCESS``).
    """
    people = _people(listeners)
    pairs = {(user, str(listener.room_id)) for listener in listeners
             if (user := people[(listener.session_key, listener.user_id)]) is not None}
    allowed = import_string(settings.REALTIME_ROOM_ACCESS)(pairs=pairs) if pairs else set()
    answers = []
    for listener in listeners:
        user = people[(listener.session_key, listener.user_id)]
        answers.append(user.pk if user is not None and (user.pk, str(listener.room_id)) in allowed else None)
    return answers


def still_allowed(*, user_id, session_key, room_id) -> bool:
    """Is the session still logged in as ``user_id``, active, and may it see the room? (sync, ORM)"""
    return resolve_listeners([Listener(session_key, user_id, room_id)])[0] is not None


# At most this many checks in one worker-thread call.
MAX_BATCH = 200


class _Batches:
    """Checks waiting on one event loop, answered together by one worker-thread call at a time."""

    def __init__(self):
        self.waiting: list[tuple[Listener, asyncio.Future]] = []
        self.task = None

    async def check(self, listener: Listener):
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.waiting.append((listener, future))
        if self.task is None:
            self.task = loop.create_task(self._answer())
        return await future

    async def _answer(self):
        try:
            while self.waiting:
                batch, self.waiting = self.waiting[:MAX_BATCH], self.waiting[MAX_BATCH:]
                try:
                    answers = await database_sync_to_async(resolve_listeners)([listener for listener, _ in batch])
                except Exception as exc:  # noqa: BLE001 - each waiting check gets the error, as if it had run alone
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), answer in zip(batch, answers):
                    if not future.done():  # a socket that went away meanwhile no longer waits
                        future.set_result(answer)
        finally:
            self.task = None


_batches: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batches]" = weakref.WeakKeyDictionary()


async def allowed_as(*, session_key, room_id, user_id=None) -> int | None:
    """The id of the person this listener may hear the room as (None: refuse or close), from async code."""
    loop = asyncio.get_running_loop()
    batches = _batches.get(loop)
    if batches is None:
        batches = _batches[loop] = _Batches()
    return await batches.check(Listener(session_key, user_id, room_id))


async def allowed(*, user_id, session_key, room_id) -> bool:
    """``still_allowed`` from async code, answered in a batch with the other checks waiting."""
    return await allowed_as(session_key=session_key, room_id=room_id, user_id=user_id) is not None


class AccessEnded(Exception):
    """The listener may no longer hear the room (removed, logged out, deactivated, room deleted)."""


@asynccontextmanager
async def listen(*, room_id, user_id, session_key=None):
    """A room's events for one listener (a server-side stream), ending when its access does.

    ``await next_event(timeout)`` returns the next event or None after ``timeout``; it raises
    :class:`AccessEnded` on a revoke, on a re-check that fails, and on the periodic re-check.
    """
    listener = {"user_id": user_id, "session_key": session_key, "room_id": room_id}
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
