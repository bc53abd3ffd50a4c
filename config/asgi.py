"""ASGI entry point: HTTP through Django, WebSockets through Channels.

The outer callable also answers the ASGI ``lifespan`` protocol, which is where
the embedded worker starts and where the realtime publisher learns the
server's event loop (the in-memory channel layer lives on that loop).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

import asyncio  # noqa: E402

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from channels.sessions import SessionMiddlewareStack  # noqa: E402
from django.conf import settings  # noqa: E402

from config.bodylimit import BodySizeLimit  # noqa: E402
from config.celery import start_embedded_worker, stop_embedded_worker  # noqa: E402
from realtime import events  # noqa: E402
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


async def application(scope, receive, send):
    if scope["type"] != "lifespan":
        return await router(scope, receive, send)
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            events.bind_loop(asyncio.get_running_loop())
            if settings.WARROOM_EMBEDDED_WORKER:
                await asyncio.to_thread(
                    start_embedded_worker, concurrency=settings.WARROOM_EMBEDDED_WORKER_CONCURRENCY
                )
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if settings.WARROOM_EMBEDDED_WORKER:
                await asyncio.to_thread(stop_embedded_worker)
            await send({"type": "lifespan.shutdown.complete"})
            return
