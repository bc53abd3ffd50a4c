"""ASGI entry point: HTTP through Django, WebSockets through Channels.

The outer callable also answers the ASGI ``lifespan`` protocol, which is where
the embedded worker starts and where the realtime publisher learns the
server's event loop (the in-memory channel layer lives on that loop).

Shutdown (SIGTERM from a deploy or ``docker compose stop``) must end in seconds. The server
sends the lifespan shutdown only after every connection has closed, which a WebSocket client
may never do, so at startup we chain onto the server's SIGTERM handler: every room socket is
closed at once with 1001 "going away" (pages reconnect to another process), and the server's
``--timeout-graceful-shutdown`` cancels what is left; a consumer ended so is not an error.
At lifespan shutdown the channel layer's Redis connections are closed, within a bound, so that
no read is left blocking the exit. docs/deployment.md has the figures.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

import asyncio  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import threading  # noqa: E402

from channels.layers import get_channel_layer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from channels.sessions import SessionMiddlewareStack  # noqa: E402
from django.conf import settings  # noqa: E402

from config.bodylimit import BodySizeLimit  # noqa: E402
from config.celery import start_embedded_worker, stop_embedded_worker  # noqa: E402
from realtime import consumers, events  # noqa: E402
from realtime.routing import websocket_urlpatterns  # noqa: E402

router = ProtocolTypeRouter(
    {
        # Oversized bodies are refused here, before Django reads (and spools) them.
        "http": BodySizeLimit(django_asgi_app),
        # The session only: the consumer reads the person from it together with its room check,
        # in one batched call (realtime.access), so Channels' AuthMiddleware is not in front.
        "websocket": AllowedHostsOriginValidator(SessionMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)


logger = logging.getLogger(__name__)

# How long the channel layer may take to close its connections at shutdown.
LAYER_CLOSE_TIMEOUT_SECONDS = 1.0
# How long closed sockets have to leave their groups before the layer is closed under them.
LEAVE_TIMEOUT_SECONDS = 1.5
# The server's shutdown waits for the 1001 frames at most this long.
HAND_OVER_TIMEOUT_SECONDS = 1.0


def _close_sockets_on_sigterm(loop) -> None:
    """Chain onto the server's SIGTERM handler: close every room socket with 1001 at once."""
    if threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum, frame):
        handed_over = False

        def hand_over():
            # The server's own handler: it closes whatever is still open with 1012 on its next tick.
            nonlocal handed_over
            if not handed_over and callable(previous):
                handed_over = True
                previous(signum, frame)

        loop.call_soon_threadsafe(lambda: asyncio.ensure_future(_going_away(hand_over)))
        loop.call_soon_threadsafe(lambda: loop.call_later(HAND_OVER_TIMEOUT_SECONDS, hand_over))

    signal.signal(signal.SIGTERM, on_sigterm)


async def _going_away(hand_over=lambda: None) -> None:
    """SIGTERM: close every socket with 1001, let them leave their groups, then close the channel layer.

    Closing the layer's connections is what ends the one read that cancellation does not: the
    channel layer's shared blocking receive (BZPOPMIN), which kept processes alive after SIGTERM.
    """
    closed = await consumers.close_all_going_away()
    hand_over()
    logger.info("Shutdown: %d sockets closed with 1001 (going away)", closed)
    await consumers.wait_until_gone(timeout=LEAVE_TIMEOUT_SECONDS)
    await _close_channel_layer()


async def _close_channel_layer() -> None:
    layer = get_channel_layer()
    close = getattr(layer, "close_pools", None)
    if close is None:
        return
    try:
        await asyncio.wait_for(close(), LAYER_CLOSE_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001 - the process is leaving; say so and go
        logger.warning("Closing the channel layer at shutdown: %r", exc)


async def application(scope, receive, send):
    if scope["type"] == "websocket":
        try:
            return await router(scope, receive, send)
        except (asyncio.CancelledError, Exception):
            # At shutdown a consumer ends by cancellation (the server's graceful-shutdown timeout,
            # for a client that never answered our 1001) or by the channel layer's connections
            # being closed under its blocked read: expected then, not an error to log.
            if consumers.shutting_down():
                return None
            raise
    if scope["type"] != "lifespan":
        return await router(scope, receive, send)
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            events.bind_loop(asyncio.get_running_loop())
            _close_sockets_on_sigterm(asyncio.get_running_loop())
            if settings.WARROOM_EMBEDDED_WORKER:
                await asyncio.to_thread(
                    start_embedded_worker, concurrency=settings.WARROOM_EMBEDDED_WORKER_CONCURRENCY
                )
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if settings.WARROOM_EMBEDDED_WORKER:
                await asyncio.to_thread(stop_embedded_worker)
            await _close_channel_layer()
            await send({"type": "lifespan.shutdown.complete"})
            return
