"""The one way any process tells a room's browsers that something happened.

Web processes, Celery workers and management commands all call
``publish(room_id, type, payload)``. Events are a hint; REST is the truth, so a
lost event (Redis down, no listener) is logged and never fails or slows the caller.

Publishing from sync code through ``async_to_sync`` costs a new event loop and
Redis connection per call, so each process keeps one publisher loop for its
lifetime. ``publish`` only puts the event on that loop's queue and returns; one
task sends the queue in order, so a room sees its events in the order they were
published. Under the embedded default the in-memory channel layer lives on the
ASGI server's loop, which ``bind_loop`` registers at startup.
"""

import asyncio
import json
import logging
import os
import threading
from concurrent.futures import TimeoutError as FutureTimeout

from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

logger = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 5.0
# Past this many unsent events (Redis down for a while), new ones are dropped.
QUEUE_LIMIT = 5000

_lock = threading.Lock()
_loop = None
_queue = None
_sender_task = None


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


def publish(room_id, event_type: str, payload: dict | None = None) -> None:
    """Queue ``{"type": event_type, **payload}`` for every browser in the room; returns at once."""
    layer = get_channel_layer()
    if layer is None:
        return
    data = json.loads(json.dumps(payload or {}, cls=DjangoJSONEncoder))
    item = (layer, room_group(room_id), {"type": "room.event", "event": event_type, "payload": data})
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


def publish_on_commit(room_id, event_type: str, payload: dict | None = None) -> None:
    """Publish once the surrounding transaction commits (at once outside one)."""
    transaction.on_commit(lambda: publish(room_id, event_type, payload))


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
