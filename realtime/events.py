"""The one way any process tells a room's browsers that something happened.

Web processes, Celery workers and management commands all call
``publish(room_id, type, payload)``. Events are a hint; REST is the truth, so a
lost event (Redis down, no listener) is logged and never fails the caller.

Publishing from sync code through ``async_to_sync`` costs a new event loop and
Redis connection per call, so each process keeps one publisher loop for its
lifetime. Under the embedded default the in-memory channel layer lives on the
ASGI server's loop, which ``bind_loop`` registers at startup.
"""

import asyncio
import json
import logging
import threading

from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

logger = logging.getLogger(__name__)

PUBLISH_TIMEOUT_SECONDS = 5.0

_loop = None
_loop_lock = threading.Lock()


def room_group(room_id) -> str:
    """Channels group name of a room: ASCII, well under 100 characters."""
    return f"room.{room_id}"


def bind_loop(loop) -> None:
    """Publish on ``loop`` from now on (the ASGI server's loop at startup)."""
    global _loop
    with _loop_lock:
        _loop = loop


def _publisher_loop():
    global _loop
    with _loop_lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="realtime-publisher", daemon=True).start()
            _loop = loop
        return _loop


def publish(room_id, event_type: str, payload: dict | None = None) -> bool:
    """Send ``{"type": event_type, **payload}`` to every browser in the room.

    Returns whether the channel layer took the event.
    """
    layer = get_channel_layer()
    if layer is None:
        return False
    data = json.loads(json.dumps(payload or {}, cls=DjangoJSONEncoder))
    message = {"type": "room.event", "event": event_type, "payload": data}
    coro = layer.group_send(room_group(room_id), message)
    loop = _publisher_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        # Called synchronously from inside the publisher loop itself: waiting
        # would deadlock, so the event is scheduled instead.
        loop.create_task(coro)
        return True
    future = asyncio.run_coroutine_threadsafe(coro, loop)
    try:
        future.result(timeout=PUBLISH_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001 - a lost hint must never fail the caller
        future.cancel()
        logger.warning("Could not publish %s to room %s: %r", event_type, room_id, exc)
        return False
    return True


def publish_on_commit(room_id, event_type: str, payload: dict | None = None) -> None:
    """Publish once the surrounding transaction commits (at once outside one)."""
    transaction.on_commit(lambda: publish(room_id, event_type, payload))
