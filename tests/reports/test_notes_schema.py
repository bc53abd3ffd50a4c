"""The ticket-notes SSE stream is in the API schema integrators read."""

import pytest

pytestmark = pytest.mark.django_db


def test_the_notes_stream_is_described_in_the_schema(client, member):
    client.force_login(member)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/rooms/{room_id}/notes/stream"]["get"]
    assert "text/event-stream" in operation["responses"]["200"]["content"]
    assert {"404", "429"} <= set(operation["responses"])
