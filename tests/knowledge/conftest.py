import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from knowledge import embeddings, services
from realtime.events import CATALOGUE, Event
from tests.fakes.embeddings_server import FakeEmbeddingsServer


@pytest.fixture(autouse=True)
def _no_embeddings(settings):
    settings.EMBEDDINGS_BASE_URL = ""
    settings.EMBEDDINGS_MODEL = ""
    settings.EMBEDDINGS_RETRY_BACKOFF_SECONDS = 0.01
    settings.KNOWLEDGE_PARSE_RETRY_BACKOFF_SECONDS = 0
    embeddings._client = None


@pytest.fixture
def embeddings_server(settings):
    with FakeEmbeddingsServer() as server:
        settings.EMBEDDINGS_BASE_URL = server.base_url
        settings.EMBEDDINGS_MODEL = "fake-embed-1"
        settings.EMBEDDINGS_API_KEY = "sk-test"
        yield server


@pytest.fixture
def upload(operator, django_capture_on_commit_callbacks):
    """Upload bytes as the operator and run the parse task (eager) after the commit."""

    def do(data: bytes, name="doc.md", *, kind="runbook", title="", by=None, room=None):
        with django_capture_on_commit_callbacks(execute=True):
            document = services.document_upload(
                uploaded_by=by or operator, uploaded=SimpleUploadedFile(name, data), kind=kind, title=title, room=room,
            )
        document.refresh_from_db()
        return document

    return do


@pytest.fixture
def published_events(monkeypatch):
    """Every live event sent, as (room_id, type, payload), after commit; each must be in the catalogue."""
    sent = []

    def record(room_id, built):
        assert isinstance(built, Event) and built.type in CATALOGUE, built
        sent.append((str(room_id), built.type, built.payload))

    monkeypatch.setattr("realtime.events.publish", record)
    return sent
