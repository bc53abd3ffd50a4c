"""config/redis_settings.py: one Redis deployment (URL or Sentinel) written as each library's settings.

The real thing (a primary killed under three sentinels) is tests/reliability/test_redis_failover.py;
these check the translation itself, and that a bad setting is a clear error at start.
"""

import pytest
from celery import Celery
from django.core.exceptions import ImproperlyConfigured
from kombu import Connection
from redis.sentinel import SentinelConnectionPool

from config import redis_settings
from config.redis_settings import celery_settings, channel_layer_host, parse_sentinels, redis_target

SENTINEL_ENV = {
    "REDIS_SENTINELS": "10.1.0.1:26379, sentinel-b:26380,[fd00::3]:26381",
    "REDIS_SENTINEL_MASTER": "warroom-primary",
    "REDIS_PASSWORD": "p@ss/word;1",
    "REDIS_SENTINEL_PASSWORD": "s-pass",
    "REDIS_DB": "2",
}


def test_no_redis_variables_mean_the_embedded_default():
    assert redis_target({}) is None
    assert redis_target({"REDIS_URL": "  ", "REDIS_SENTINELS": ""}) is None


def test_a_url_is_used_as_it_is_by_every_library():
    target = redis_target({"REDIS_URL": "redis://:pw@cache:6379/3"})
    assert not target.uses_sentinel
    assert celery_settings(target) == {"broker_url": "redis://:pw@cache:6379/3",
                                       "result_backend": "redis://:pw@cache:6379/3", "transport_options": {}}
    assert channel_layer_host(target)["address"] == "redis://:pw@cache:6379/3"
    assert redis_settings.cache_settings(target)["LOCATION"] == "redis://:pw@cache:6379/3"
    assert target.describe() == "redis://:**@cache:6379/3"


def test_sentinels_are_parsed_from_host_port_pairs():
    assert parse_sentinels(SENTINEL_ENV["REDIS_SENTINELS"]) == (
        ("10.1.0.1", 26379), ("sentinel-b", 26380), ("fd00::3", 26381))


@pytest.mark.parametrize("value", ["sentinel-a", "sentinel-a:", ":26379", "a:26379,b:port", "a:70000"])
def test_a_sentinel_that_is_not_host_port_is_a_clear_error(value):
    with pytest.raises(ImproperlyConfigured, match="REDIS_SENTINELS"):
        redis_target({"REDIS_SENTINELS": value, "REDIS_SENTINEL_MASTER": "m"})


def test_sentinels_without_the_primary_name_or_with_a_url_too_are_refused():
    with pytest.raises(ImproperlyConfigured, match="REDIS_SENTINEL_MASTER"):
        redis_target({"REDIS_SENTINELS": "a:26379"})
    with pytest.raises(ImproperlyConfigured, match="not both"):
        redis_target({"REDIS_SENTINELS": "a:26379", "REDIS_SENTINEL_MASTER": "m", "REDIS_URL": "redis://x"})
    with pytest.raises(ImproperlyConfigured, match="REDIS_DB"):
        redis_target({"REDIS_SENTINELS": "a:26379", "REDIS_SENTINEL_MASTER": "m", "REDIS_DB": "one"})


def test_celery_gets_sentinel_urls_that_kombu_and_the_result_backend_read_back():
    target = redis_target(SENTINEL_ENV)
    conf = celery_settings(target)
    assert conf["transport_options"]["master_name"] == "warroom-primary"
    assert conf["transport_options"]["sentinel_kwargs"]["password"] == "s-pass"
    # kombu reads the alternates and the quoted password back as they were given.
    connection = Connection(conf["broker_url"], transport_options=conf["transport_options"])
    assert connection.transport_cls == "sentinel"
    assert connection.password == "p@ss/word;1"
    assert [Connection(url).hostname for url in connection.alt] == ["10.1.0.1", "sentinel-b", "fd00::3"]
    # So does Celery's sentinel result backend (no connection is made here).
    app = Celery("t", broker=conf["broker_url"], backend=conf["result_backend"],
                 result_backend_transport_options=conf["transport_options"])
    params = app.backend.connparams
    assert [(h["host"], h["port"]) for h in params["hosts"]] == list(target.sentinels)
    assert params["password"] == "p@ss/word;1" and params["db"] == 2


def test_the_channel_layer_gets_a_sentinel_host_entry_channels_redis_turns_into_a_sentinel_pool():
    from channels_redis.utils import create_pool

    host = channel_layer_host(redis_target(SENTINEL_ENV))
    pool = create_pool(host)
    assert pool.service_name == "warroom-primary"
    assert pool.connection_kwargs["password"] == "p@ss/word;1" and pool.connection_kwargs["db"] == 2
    assert pool.connection_kwargs["socket_timeout"] == 15
    assert pool.sentinel_manager.sentinels[0].connection_pool.connection_kwargs["password"] == "s-pass"


def test_the_cache_gets_a_pool_that_asks_the_sentinels():
    from django.core.cache.backends.redis import RedisCache

    conf = redis_settings.cache_settings(redis_target(SENTINEL_ENV))
    cache = RedisCache(conf["LOCATION"], {"OPTIONS": conf["OPTIONS"], "KEY_PREFIX": conf["KEY_PREFIX"]})
    pool = cache._cache._get_connection_pool(write=True)
    assert isinstance(pool, SentinelConnectionPool)
    assert pool.service_name == "warroom-primary"
    assert pool.connection_kwargs["db"] == 2 and pool.connection_kwargs["socket_timeout"] == 2
    assert [s.connection_pool.connection_kwargs["port"] for s in pool.sentinel_manager.sentinels] == [26379, 26380, 26381]
    assert redis_target(SENTINEL_ENV).describe() == "sentinel warroom-primary via 10.1.0.1:26379,sentinel-b:26380,fd00::3:26381 db 2"
