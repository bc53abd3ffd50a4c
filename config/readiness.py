"""Is this process ready for traffic? The database, Redis and the file storage, each asked once.

``/readyz`` (config/views.py) answers from :func:`check_all`; ``/healthz`` stays a cheap
liveness check. Each check is bounded by a short timeout of its own, so that a load balancer
or a compose healthcheck gets an answer in a few seconds whatever is down.
"""

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connections

logger = logging.getLogger(__name__)

OK = "ok"
DOWN = "down"
NOT_CONFIGURED = "not_configured"
# Seconds each dependency has to answer. The checks run side by side, so /readyz takes at most about this.
CHECK_TIMEOUT_SECONDS = 3.0


def check_database() -> str:
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        # This runs in a worker thread of its own: leave no connection behind in it.
        connection.close()
    return OK


def check_redis() -> str:
    """A read through the cache: the same Redis (and the same connection settings) as the broker and the channel layer."""
    if not settings.REDIS_URL:
        return NOT_CONFIGURED
    from django.core.cache import cache

    cache.get("readyz")  # a miss is fine; a connection error raises (socket timeouts of 2 s in settings)
    return OK


def check_storage() -> str:
    """The bucket answers (S3) or the media folder is writable (local files)."""
    bucket_name = getattr(default_storage, "bucket_name", None)
    if bucket_name:
        import boto3
        from botocore.config import Config

        # A client of its own: the storage's client retries three times with 5 s connect timeouts.
        client = boto3.client(
            "s3",
            endpoint_url=default_storage.endpoint_url or None,
            aws_access_key_id=default_storage.access_key or None,
            aws_secret_access_key=default_storage.secret_key or None,
            region_name=default_storage.region_name,
            config=Config(connect_timeout=CHECK_TIMEOUT_SECONDS, read_timeout=CHECK_TIMEOUT_SECONDS,
                          retries={"max_attempts": 1}, s3={"addressing_style": default_storage.addressing_style}),
        )
        client.head_bucket(Bucket=bucket_name)
        return OK
    location = getattr(default_storage, "location", None)
    if location:
        os.makedirs(location, exist_ok=True)
        if not os.access(location, os.W_OK):
            raise PermissionError(f"{location} is not writable")
    return OK


CHECKS = {"database": check_database, "redis": check_redis, "storage": check_storage}


def _run(name, check) -> str:
    try:
        return check()
    except Exception as exc:  # noqa: BLE001 - any failure of a dependency means "not ready", and says which
        logger.warning("Readiness: %s unreachable: %r", name, exc)
        return DOWN


def check_all() -> dict[str, str]:
    """``{"database": "ok" | "down", "redis": ..., "storage": ...}``, within about CHECK_TIMEOUT_SECONDS."""
    results = {}
    pool = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="readyz")
    try:
        futures = {name: pool.submit(_run, name, check) for name, check in CHECKS.items()}
        for name, future in futures.items():
            try:
                # The database's own connect_timeout may be longer; past this it counts as down.
                results[name] = future.result(timeout=CHECK_TIMEOUT_SECONDS + 1)
            except FutureTimeout:
                logger.warning("Readiness: %s did not answer within %s s", name, CHECK_TIMEOUT_SECONDS + 1)
                results[name] = DOWN
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return results
