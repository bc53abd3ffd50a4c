"""Django's Redis cache with one connection pool per process instead of one per thread.

Django keeps a cache object per thread, and each Redis cache object makes its own
connection pool. Under ASGI every request's sync code runs on a thread of its own, so
each request opened a new Redis connection (a TCP connect and redis-py's handshake,
which also reads the package metadata) just to count the request for the throttle:
a fifth of an API request's CPU. redis-py's pools are thread-safe (and reset themselves
in a forked child), so one per process serves every thread.
"""

import threading

from django.core.cache.backends import redis
from django.utils.functional import cached_property

_lock = threading.Lock()
_clients: dict = {}


class RedisCache(redis.RedisCache):
    @cached_property
    def _cache(self):
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = self._class(self._servers, **self._options)
        return client
