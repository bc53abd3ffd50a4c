"""The API's per-user rate limit (config/throttling.py) and the shared Redis cache pool (config/cache.py)."""

import pytest
from django.core.cache import caches
from django.test import override_settings

from config import throttling


@pytest.fixture
def redis_cache(redis_url, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url,
                                   "KEY_PREFIX": "throttle-test"}}
    cache = caches["default"]
    cache.clear()
    yield cache
    cache.clear()


def count(key, period=60, times=1):
    return [throttling.count_request(key, period) for _ in range(times)]


def test_redis_counts_requests_in_a_window_that_opens_at_the_first_and_expires(redis_cache, monkeypatch):
    monkeypatch.setattr(throttling, "cache", redis_cache)
    answers = count("user-1", period=60, times=3)
    assert [n for n, _ in answers] == [1, 2, 3]
    assert all(0 < left <= 60 for _, left in answers)
    assert count("user-2")[0][0] == 1  # one counter per user
    # The window ends: the counter starts again.
    redis_cache._cache.get_client(write=True).delete(redis_cache.make_and_validate_key("user-1"))
    assert count("user-1")[0][0] == 1


@override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "t"}})
def test_local_memory_counts_the_same_way(monkeypatch):
    monkeypatch.setattr(throttling, "cache", caches["default"])
    assert [n for n, _ in count("user-1", times=3)] == [1, 2, 3]


def test_every_thread_shares_one_redis_connection_pool(redis_url, settings):
    import threading

    settings.CACHES = {"default": {"BACKEND": "config.cache.RedisCache", "LOCATION": redis_url}}
    seen = []

    def use():
        cache = caches["default"]
        cache.set("pool-test", 1)
        seen.append((cache, cache._cache._get_connection_pool(write=True)))

    threads = [threading.Thread(target=use) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(cache) for cache, _ in seen}) == 3  # Django's cache objects stay per thread
    assert len({id(pool) for _, pool in seen}) == 1  # their Redis connections do not
