import pytest


@pytest.fixture
def as_user(api):
    def login(user):
        api.force_login(user)
        return api

    return login


@pytest.fixture
def published(monkeypatch):
    """Every live event sent, as (room_id, type, payload), after commit."""
    sent = []

    def record(room_id, event_type, payload=None):
        sent.append((str(room_id), event_type, payload or {}))
        return True

    monkeypatch.setattr("realtime.events.publish", record)
    return sent
