"""Personas and settings shared by every test.

The unit tier runs on the embedded default (in-memory channel layer, local
files in a temporary folder, Celery tasks run eagerly) against the database
given by DATABASE_URL (PostgreSQL under `make test`). tests/integration starts
the real services.
"""

import pytest
from django.utils import translation

from config.celery import app as celery_app
from incidents.models import MemberRole
from tests import factories
from tests.services import (  # noqa: F401 - fixtures shared by every test folder
    asgi_server,
    celery_worker,
    redis_url,
    s3_server,
    service_env,
    service_log_dir,
    test_database_url,
)


@pytest.fixture(autouse=True)
def _embedded_defaults(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media"), "base_url": "/media/"},
        },
    }
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": str(tmp_path)}}
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.AI_PROVIDER = "offline"
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts and ends in the site's default language. LocaleMiddleware activates a
    request's language (Accept-Language: en in the login tests) in the test's own thread and
    nothing deactivates it, so a later test reading a lazy string read it in English."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def english(settings):
    """English pages, API answers and timeline texts, for tests that compare English wording
    (the site's default language is Traditional Chinese)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def api():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def commander(db):
    return factories.make_user(username="commander", display_name="陳指揮 Commander Chen")


@pytest.fixture
def member(db):
    return factories.make_user(username="member", display_name="王小明 Member Wang")


@pytest.fixture
def outsider(db):
    return factories.make_user(username="outsider", display_name="Outsider Lin")


@pytest.fixture
def operator(db):
    return factories.make_user(username="operator", display_name="值班 Operator", staff=True)


@pytest.fixture
def room(commander, member):
    room = factories.make_room(commander=commander)
    factories.add_member(room, member, MemberRole.RESPONDER)
    return room
