"""Fixtures for the report tests: rooms with a real timeline, recorded events, a fake AI."""

from datetime import timedelta

import pytest

from realtime.events import CATALOGUE, Event

from config.celery import app as celery_app

from incidents.models import MemberRole, Message, MessageKind
from tests import factories
from tests.fakes.ai_server import FakeAIServer


@pytest.fixture(autouse=True)
def _failures_recorded_like_a_worker():
    """Eager tasks that propagate skip on_failure; a worker never propagates, so neither do these tests."""
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_eager_propagates = True


@pytest.fixture
def published(monkeypatch):
    """Every realtime.events.publish call, as (room_id, type, payload), once its transaction committed."""
    calls = []

    def record(room_id, built):
        # Every event published must be one the catalogue declares (docs/events.md).
        assert isinstance(built, Event) and built.type in CATALOGUE, built
        calls.append((str(room_id), built.type, built.payload))
        return True

    monkeypatch.setattr("realtime.events.publish", record)
    return calls


@pytest.fixture
def incident(room, commander, member):
    """A resolved room with a short timeline, a status event and one screenshot."""
    room.status = "resolved"
    room.resolved_at = room.created_at + timedelta(minutes=45)
    room.resolution_summary = "重新啟動連線池並調整逾時設定。"
    room.category = "Database"
    room.save()
    factories.add_messages(room, commander, 3, body="指揮官訊息 {i}：資料庫逾時")
    factories.add_messages(room, member, 3, start=room.created_at + timedelta(minutes=10), body="處理人員回報 {i}")
    Message.objects.create(room=room, kind=MessageKind.STATUS, body="Resolved after 45 min",
                           created_at=room.created_at + timedelta(minutes=45))
    factories.add_image(room, member, name="db-dashboard.png", data=factories.png_bytes(1000, 560))
    return room


@pytest.fixture
def fast_retries(settings):
    settings.AI_RETRY_BACKOFF_SECONDS = 0.01
    settings.AI_MAX_RETRIES = 2
    return settings


@pytest.fixture
def fake_ai():
    with FakeAIServer() as server:
        yield server


@pytest.fixture
def dify(settings, fake_ai, fast_retries):
    settings.AI_PROVIDER = "dify"
    settings.DIFY_BASE_URL = fake_ai.base_url
    settings.DIFY_API_KEY = "app-test-key"
    settings.DIFY_TIMEOUT_SECONDS = 5
    settings.DIFY_RESPONSE_MODE = "streaming"
    return fake_ai


@pytest.fixture
def observer(db, room):
    user = factories.make_user(username="observer", display_name="觀察員 Observer")
    factories.add_member(room, user, MemberRole.OBSERVER)
    return user
