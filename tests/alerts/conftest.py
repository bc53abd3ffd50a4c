import pytest

from alerts.models import SourceKind
from alerts.services import alert_source_create
from tests.alerts.payloads import alertmanager


@pytest.fixture
def am_source(db, commander, member):
    source, token = alert_source_create(
        name="prometheus", kind=SourceKind.ALERTMANAGER, default_commander=commander, default_members=[member]
    )
    source.token = token
    return source


@pytest.fixture
def post_alerts(api):
    """POST a payload to a receiver with a source's token."""

    def post(kind, payload, token, **extra):
        return api.post(f"/api/alerts/{kind}", payload, format="json", HTTP_AUTHORIZATION=f"Bearer {token}", **extra)

    return post


@pytest.fixture
def published(monkeypatch):
    """Every live event sent, as (room_id, type, payload)."""
    from realtime.events import CATALOGUE, Event

    sent = []

    def record(room_id, built):
        assert isinstance(built, Event) and built.type in CATALOGUE, built
        sent.append((str(room_id), built.type, built.payload))

    monkeypatch.setattr("realtime.events.publish", record)
    return sent


@pytest.fixture
def ingest(am_source):
    """Ingest Alertmanager alerts as the receiver does, at a chosen time."""
    from alerts.parsing import parse_alertmanager
    from alerts.services import alerts_ingest

    def run(*alerts, now=None, source=None):
        return alerts_ingest(source=source or am_source, incoming=parse_alertmanager(alertmanager(*alerts)), now=now)

    return run
