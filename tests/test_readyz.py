"""/readyz: the database, Redis and the storage, each named in the answer; /healthz stays liveness."""

import pytest

from tests.services import free_port

pytestmark = pytest.mark.django_db(transaction=True)


def test_readyz_is_ok_when_everything_configured_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "not_configured", "storage": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_readyz_names_what_cannot_be_reached_in_the_uniform_error_body(client, settings, english):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": settings.REDIS_URL,
                                   "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["error"]["code"] == "not_ready"
    assert body["error"]["message"] == "Warroom is not ready: redis cannot be reached."
    assert body["error"]["details"] == {"database": "ok", "redis": "down", "storage": "ok"}
    # Liveness does not depend on Redis.
    assert client.get("/healthz").status_code == 200
