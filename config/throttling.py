"""The API's per-user rate limit in one cache round trip.

DRF's ``UserRateThrottle`` keeps each user's request times as a list in the cache:
a GET and a SET of a pickled list per request (up to 1,200 entries at the default rate).
This one counts a user's requests in a window that opens at their first request and
lasts the rate's period: ``INCR``, ``EXPIRE NX`` and ``TTL`` in one Redis pipeline, one
round trip and a few bytes. Unlike the sliding list, a client may send up to twice the
rate across the end of one window and the start of the next, which is fine for a limit
whose job is to stop runaway scripts.
"""

from django.core.cache import cache
from rest_framework import throttling


def count_request(key: str, period: int) -> tuple[int, float]:
    """Count one request under ``key``: (requests in the current window, seconds until it ends)."""
    client = getattr(getattr(cache, "_cache", None), "get_client", None)
    if client is not None:  # django.core.cache.backends.redis.RedisCache
        key = cache.make_and_validate_key(key)
        pipe = client(key, write=True).pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, period, nx=True)
        pipe.ttl(key)
        count, _set, ttl = pipe.execute()
        return int(count), float(ttl if ttl and ttl > 0 else period)
    # Any other cache (the embedded default's local memory): two calls, the same counting.
    cache.add(key, 0, period)
    try:
        return cache.incr(key), float(period)
    except ValueError:  # expired between the two calls
        cache.add(key, 1, period)
        return 1, float(period)


class _OneRoundTrip:
    """SimpleRateThrottle.allow_request and wait, counted by :func:`count_request`."""

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        count, self.remaining = count_request(f"{self.key}:n", int(self.duration))
        return count <= self.num_requests

    def wait(self):
        return max(self.remaining, 1.0)


class UserRateThrottle(_OneRoundTrip, throttling.UserRateThrottle):
    """DRF's per-user (per-address for anonymous callers) rate, counted in one round trip."""


class ScopedRateThrottle(_OneRoundTrip, throttling.ScopedRateThrottle):
    """DRF's per-view scoped rate (``throttle_scope``), counted in one round trip."""

    def allow_request(self, request, view):
        # As DRF's: the scope, hence the rate, comes from the view.
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)
