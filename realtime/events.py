"""The one way any process tells a room's browsers that something happened.

Every event type is declared once, with the function that builds its payload
and a line saying what it means, by the app that owns it (``incidents/events.py``,
``reports/events.py``) through :func:`event`; :data:`CATALOGUE` is the list that
``docs/events.md`` shows integrators. Web processes, Celery workers and
management commands all call ``publish(room_id, built_event)``; a type that is
not in the catalogue is refused. Events are a hint; REST is the truth, so a
lost event (Redis down, no listener) is logged and never fails or slows the caller.

Publishing from sync code through ``async_to_sync`` costs a new event loop and
Redis connection per call, so each process keeps one publisher loop for its
lifetime. ``publish`` only puts the event on that loop's queue and returns; one
task sends the queue in order, so a room sees its events in the order they were
published. Under the embedded default the in-memory channel layer lives on the
ASGI server's loop, which ``bind_loop`` registers at startup.
"""

import asyncio
import functools
import json
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from realtime import groups as layer_groups

logger = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 5.0
# Past this many unsent events (Redis down for a while), new ones are dropped.
QUEUE_LIMIT = 5000

_lock = threading.Lock()
_loop = None
_queue = None
_sender_task = None


# --- The catalogue ------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One event, built by a catalogue builder: its dotted type and its JSON payload."""

    type: str
    payload: dict = field(default_factory=dict)
    # Only this user's sockets hear it (the room assistant's answer goes to the asker alone).
    only_user_id: int | None = None


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    owner: str  # the module that builds it


CATALOGUE: dict[str, EventType] = {}


class UnknownEvent(TypeError):
    """Code published something that is not an event of the catalogue (a programming error)."""


def event(name: str, description: str) -> Callable[[Callable[..., dict]], Callable[..., Event]]:
    """Declare the event type ``name``: the decorated function builds its payload and now returns an :class:`Event`."""

    def declare(builder: Callable[..., dict]) -> Callable[..., Event]:
        known = CATALOGUE.get(name)
        if known is not None and known.owner != builder.__module__:
            raise ValueError(f"event {name!r} is declared twice ({known.owner}, {builder.__module__})")
        CATALOGUE[name] = EventType(name=name, description=description, owner=builder.__module__)

        @functools.wraps(builder)
        def build(*args, **kwargs) -> Event:
            return Event(name, builder(*args, **kwargs))

        build.event_type = name
        return build

    return declare


# --- Publishing ---------------------------------------------------------------------


def room_group(room_id) -> str:
    """Channels group name of a room: ASCII, well under 100 characters."""
    return f"room.{room_id}"


def bind_loop(loop) -> None:
    """Publish on ``loop`` from now on (the ASGI server's loop at startup; None to reset)."""
    global _loop, _queue, _sender_task
    with _lock:
        if _sender_task is not None and _loop is not None and not _loop.is_closed():
            # Stop the old sender on its own loop, so it does not outlive that loop.
            _loop.call_soon_threadsafe(_sender_task.cancel)
        _loop, _queue, _sender_task = loop, None, None


async def _sender(queue):
    while True:
        layer, group, message = await queue.get()
        try:
            await asyncio.wait_for(layer.group_send(group, message), SEND_TIMEOUT_SECONDS)
        except Exception as exc:  # noqa: BLE001 - a lost hint must never stop the sender
            logger.warning("Could not publish %s to %s: %r", message.get("event"), group, exc)
        finally:
            queue.task_done()


def _start_queue(loop):
    """Create the queue and its sender on ``loop`` (must run on that loop)."""
    global _queue, _sender_task
    queue = asyncio.Queue(maxsize=QUEUE_LIMIT)
    _sender_task = loop.create_task(_sender(queue))
    _queue = queue
    return queue


def _publisher():
    """The loop to publish on, started on first use unless one was bound."""
    global _loop, _queue
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="realtime-publisher", daemon=True).start()
            _loop, _queue = loop, None
        return _loop


def _enqueue(item):
    queue = _queue or _start_queue(asyncio.get_running_loop())
    try:
        queue.put_nowait(item)
    except asyncio.QueueFull:
        logger.warning("Realtime queue full; dropping %s for %s", item[2].get("event"), item[1])


def publish(room_id, built: Event) -> None:
    """Queue ``{"type": built.type, **built.payload}`` for every browser in the room; returns at once."""
    if not isinstance(built, Event) or built.type not in CATALOGUE:
        raise UnknownEvent(f"{built!r} is not an event of the catalogue (declare it with realtime.events.event)")
    layer = get_channel_layer()
    if layer is None:
        return
    data = json.loads(json.dumps(built.payload, cls=DjangoJSONEncoder))
    message = {"type": "room.event", "event": built.type, "payload": data}
    if built.only_user_id is not None:
        message["only_user_id"] = built.only_user_id
    item = (layer, room_group(room_id), message)
    loop = _publisher()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        _enqueue(item)
    else:
        loop.call_soon_threadsafe(_enqueue, item)


def _forget_loop_after_fork():
    # A forked child (Celery prefork) inherits the loop object but not its thread.
    global _loop, _queue
    _loop, _queue = None, None


os.register_at_fork(after_in_child=_forget_loop_after_fork)


def publish_on_commit(room_id, built: Event) -> None:
    """Publish once the surrounding transaction commits (at once outside one)."""
    transaction.on_commit(lambda: publish(room_id, built))


def flush(timeout: float = SEND_TIMEOUT_SECONDS) -> bool:
    """Wait until every queued event was sent (for commands that exit, and tests).

    Call it from a thread other than the publisher loop's own.
    """
    loop = _publisher()

    async def drained():
        queue = _queue or _start_queue(asyncio.get_running_loop())
        await queue.join()

    try:
        asyncio.run_coroutine_threadsafe(drained(), loop).result(timeout)
    except FutureTimeout:
        return False
    return True


# --- Subscribing (server-side readers such as the SSE views) -------------------------------


@asynccontextmanager
async def subscribe(room_id, *, groups=(), on_control=None) -> AsyncIterator[Callable[[float], "asyncio.Future[Event | None]"]]:
    """Listen to a room's events from async code: ``async with subscribe(room) as next_event``.

    ``await next_event(timeout)`` returns the next :class:`Event` of the room, or None when
    ``timeout`` seconds pass without one. The subscription is in place when the block is
    entered, so work started inside it cannot send an event before anyone listens.
    ``groups`` are more groups to listen to (``realtime.access`` uses them); their messages,
    which are not room events, go to ``await on_control(message)``, which may raise to end
    the subscription.
    """
    layer = get_channel_layer()
    channel = await layer.new_channel()
    joined = [room_group(room_id), *groups]
    await layer_groups.join(layer, joined, channel)
    loop = asyncio.get_running_loop()

    async def next_event(timeout: float) -> Event | None:
        deadline = loop.time() + timeout
        while (remaining := deadline - loop.time()) > 0:
            try:
                message = await asyncio.wait_for(layer.receive(channel), remaining)
            except asyncio.TimeoutError:
                return None
            if message.get("type") == "room.event":
                return Event(message["event"], message.get("payload") or {}, message.get("only_user_id"))
            if on_control is not None:
                await on_control(message)
        return None

    try:
        yield next_event
    finally:
        await layer_groups.leave(layer, joined, channel)
