import pytest

from realtime.events import CATALOGUE, Event


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

    def record(room_id, built):
        # Every event published must be one the catalogue declares (docs/events.md).
        assert isinstance(built, Event) and built.type in CATALOGUE, built
        sent.append((str(room_id), built.type, built.payload))
        return True

    monkeypatch.setattr("realtime.events.publish", record)
    return sent
