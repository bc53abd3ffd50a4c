"""Where Redis is, in one place: a plain URL or a Sentinel-watched primary.

Warroom uses Redis four ways: the Celery broker, the Celery result backend, the
channel layer (channels-redis) and the Django cache (API and login throttles,
the daily report's lock). Each library names a Sentinel deployment its own way,
so the settings module asks :func:`redis_target` once and this module writes
every library's settings from the answer:

- ``REDIS_URL=redis://host:6379/0``: one Redis server (or a managed endpoint
  that fails over behind one address).
- ``REDIS_SENTINELS=host:26379,host:26379`` with ``REDIS_SENTINEL_MASTER``:
  every client asks the sentinels where the primary is, and asks again after a
  failover. ``REDIS_PASSWORD`` is the primary's (and replicas') password,
  ``REDIS_SENTINEL_PASSWORD`` the sentinels' own, ``REDIS_DB`` the database.

Code that needs a Redis client of its own calls :func:`redis_client` rather
than opening ``REDIS_URL`` itself, so that it follows a failover too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from django.core.exceptions import ImproperlyConfigured
from redis.sentinel import Sentinel, SentinelConnectionPool

# Seconds; a dead primary must turn into an error (and a 503) quickly, not a hung request.
CONNECT_TIMEOUT = 2
SOCKET_TIMEOUT = 2
# Each sentinel is asked in turn; one that does not answer must not hold the question up.
SENTINEL_TIMEOUT = 1


@dataclass(frozen=True)
class RedisTarget:
    """One Redis deployment: ``url`` for a single server, or ``sentinels`` + ``master``."""

    url: str = ""
    sentinels: tuple[tuple[str, int], ...] = field(default_factory=tuple)
    master: str = ""
    password: str = ""
    sentinel_password: str = ""
    db: int = 0

    @property
    def uses_sentinel(self) -> bool:
        return bool(self.sentinels)

    def sentinel_kwargs(self) -> dict:
        """Connection options for the sentinels themselves (redis-py's ``sentinel_kwargs``)."""
        options = {"socket_connect_timeout": SENTINEL_TIMEOUT, "socket_timeout": SENTINEL_TIMEOUT}
        if self.sentinel_password:
            options["password"] = self.sentinel_password
        return options

    def describe(self) -> str:
        """Where Redis is, without passwords (for logs and checks)."""
        if self.uses_sentinel:
            nodes = ",".join(f"{host}:{port}" for host, port in self.sentinels)
            return f"sentinel {self.master} via {nodes} db {self.db}"
        from kombu.utils.url import maybe_sanitize_url

        return maybe_sanitize_url(self.url)


def parse_sentinels(text: str) -> tuple[tuple[str, int], ...]:
    """``"a:26379, b:26380"`` -> ``(("a", 26379), ("b", 26380))``; a clear error for anything else."""
    nodes = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        host = host.strip("[]")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ImproperlyConfigured(
                f"REDIS_SENTINELS: {item!r} is not host:port (give them as host:port,host:port)."
            )
        nodes.append((host, int(port)))
    return tuple(nodes)


def redis_target(environ) -> RedisTarget | None:
    """The Redis deployment the environment names, or None for the embedded default."""
    url = environ.get("REDIS_URL", "").strip()
    sentinels = parse_sentinels(environ.get("REDIS_SENTINELS", ""))
    if not sentinels:
        return RedisTarget(url=url) if url else None
    if url:
        raise ImproperlyConfigured("Set REDIS_URL or REDIS_SENTINELS, not both.")
    master = environ.get("REDIS_SENTINEL_MASTER", "").strip()
    if not master:
        raise ImproperlyConfigured("REDIS_SENTINELS is set: REDIS_SENTINEL_MASTER must name the monitored primary.")
    db = environ.get("REDIS_DB", "0").strip() or "0"
    if not db.isdigit():
        raise ImproperlyConfigured(f"REDIS_DB must be a database number, not {db!r}.")
    return RedisTarget(
        sentinels=sentinels,
        master=master,
        password=environ.get("REDIS_PASSWORD", ""),
        sentinel_password=environ.get("REDIS_SENTINEL_PASSWORD", ""),
        db=int(db),
    )


# --- Each library's settings ----------------------------------------------------------


def cache_settings(target: RedisTarget) -> dict:
    """``CACHES["default"]``: Django's Redis cache; over Sentinel through :class:`SentinelCachePool`."""
    options = {"socket_connect_timeout": CONNECT_TIMEOUT, "socket_timeout": SOCKET_TIMEOUT}
    if not target.uses_sentinel:
        return {
            "BACKEND": "config.cache.RedisCache",  # one connection pool per process (config/cache.py)
            "LOCATION": target.url,
            "KEY_PREFIX": "warroom",
            "OPTIONS": options,
        }
    options.update(
        {
            "pool_class": "config.redis_settings.SentinelCachePool",
            "sentinels": list(target.sentinels),
            "service_name": target.master,
            "sentinel_kwargs": target.sentinel_kwargs(),
            "db": target.db,
        }
    )
    if target.password:
        options["password"] = target.password
    return {
        "BACKEND": "config.cache.RedisCache",  # one connection pool per process (config/cache.py)
        # Django wants a location; the pool asks the sentinels and ignores it.
        "LOCATION": f"sentinel://{target.master}/{target.db}",
        "KEY_PREFIX": "warroom",
        "OPTIONS": options,
    }


def channel_layer_host(target: RedisTarget, *, max_connections: int = 500) -> dict:
    """One entry of channels-redis's ``hosts``.

    channels-redis builds a ``redis.asyncio.sentinel.SentinelConnectionPool`` from
    an entry with ``master_name`` and ``sentinels`` (channels_redis.utils.create_pool);
    the other keys are the connections' options.
    """
    # redis-py 8 reads with a 5 s socket timeout by default, the same as
    # channels-redis's blocking receive (BZPOPMIN 5 s): the read timed out
    # first and every WebSocket idle for 5 s was dropped. Reads may wait longer.
    options = {"socket_timeout": 15, "socket_connect_timeout": 5, "max_connections": max_connections}
    if not target.uses_sentinel:
        return {"address": target.url, **options}
    host = {
        "master_name": target.master,
        "sentinels": list(target.sentinels),
        "sentinel_kwargs": target.sentinel_kwargs(),
        "db": target.db,
        **options,
    }
    if target.password:
        host["password"] = target.password
    return host


def celery_settings(target: RedisTarget) -> dict:
    """Broker and result backend URLs, and the options kombu and Celery read the primary's name from."""
    if not target.uses_sentinel:
        return {"broker_url": target.url, "result_backend": target.url, "transport_options": {}}
    # kombu and Celery take the sentinels as `sentinel://` URLs joined with ';'; the password in
    # the URLs is the primary's, the sentinels' own goes in sentinel_kwargs.
    credentials = f":{quote(target.password, safe='')}@" if target.password else ""
    url = ";".join(f"sentinel://{credentials}{_host(host)}:{port}/{target.db}" for host, port in target.sentinels)
    return {
        "broker_url": url,
        "result_backend": url,
        "transport_options": {"master_name": target.master, "sentinel_kwargs": target.sentinel_kwargs()},
    }


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


# --- Clients ---------------------------------------------------------------------------


def redis_client(target: RedisTarget | None = None, **options):
    """A redis-py client to the current primary (None without Redis): for code that opens Redis itself."""
    import redis

    if target is None:
        from django.conf import settings

        target = settings.REDIS_TARGET
    if target is None:
        return None
    options = {"socket_connect_timeout": CONNECT_TIMEOUT, "socket_timeout": SOCKET_TIMEOUT, **options}
    if not target.uses_sentinel:
        return redis.Redis.from_url(target.url, **options)
    manager = Sentinel(list(target.sentinels), sentinel_kwargs=target.sentinel_kwargs())
    return manager.master_for(target.master, db=target.db, password=target.password or None, **options)


class SentinelCachePool(SentinelConnectionPool):
    """Django's Redis cache makes its pools with ``pool_class.from_url(LOCATION, **OPTIONS)``;
    this one asks the sentinels named in the options where the primary is (and again after a failover)."""

    @classmethod
    def from_url(cls, url, *, sentinels, service_name, sentinel_kwargs=None, **options):
        manager = Sentinel([tuple(node) for node in sentinels], sentinel_kwargs=sentinel_kwargs)
        return cls(service_name, manager, **options)
