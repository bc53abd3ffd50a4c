"""Every knowledge URL, walked as an anonymous visitor, an outsider, a plain member, a commander and an operator.

The knowledge base is shared by everyone logged in; uploading is for commanders and
operators; changing a document for its uploader and operators; a room's related panel,
its assistant and feedback on its answers for the room's members (and operators) only,
404 for anyone else.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

pytestmark = pytest.mark.django_db


@pytest.fixture
def document(upload, operator):
    return upload("# 光模塊\n\n更換步驟。".encode(), "a.md", by=operator)


@pytest.fixture
def question(room, member, django_capture_on_commit_callbacks):
    from knowledge.services import question_ask

    with django_capture_on_commit_callbacks(execute=True):
        return question_ask(room=room, asked_by=member, question="catch me up")


def urls(room, document, question):
    docs = "/api/knowledge/documents/"
    ask = f"/api/rooms/{room.id}/assistant/questions"
    # The SSE stream (an async view) is walked in test_assistant.py: 401, 404, 200.
    return {
        # Before "reparse": reparsing replaces the document's passages (and their ids).
        "passage page": ("get", f"/knowledge/passages/{document.chunks.first().id}/", None),
        "ai quality": ("get", "/api/feedback/quality", None),
        "questions": ("get", ask, None),
        "ask": ("post", ask, {"question": "進度？"}),
        "question": ("get", f"{ask}/{question.id}", None),
        "feedback": ("post", "/api/feedback/", {"target": "answer", "id": str(question.id), "rating": "up"}),
        "list": ("get", docs, None),
        "upload": ("post", docs, "file"),
        "detail": ("get", f"{docs}{document.id}/", None),
        "reparse": ("post", f"{docs}{document.id}/reparse", None),
        "delete": ("delete", f"{docs}{document.id}/", None),
        "search": ("get", "/api/knowledge/search?q=光模", None),
        "related": ("get", f"/api/rooms/{room.id}/related", None),
        "upload page": ("get", "/knowledge/", None),
    }


EXPECTED = {
    #               anonymous  outsider  member  commander  operator
    "list":         (401,      200,      200,    200,       200),
    "upload":       (401,      403,      403,    201,       201),
    "detail":       (401,      200,      200,    200,       200),
    "reparse":      (401,      403,      403,    403,       202),
    "delete":       (401,      403,      403,    403,       204),
    "search":       (401,      200,      200,    200,       200),
    "related":      (401,      404,      200,    200,       200),
    "upload page":  (302,      200,      200,    200,       200),
    "passage page": (302,      200,      200,    200,       200),
    "ai quality":   (401,      200,      200,    200,       200),
    "questions":    (401,      404,      200,    200,       200),
    "ask":          (401,      404,      202,    202,       202),
    "question":     (401,      404,      200,    200,       200),
    "feedback":     (401,      404,      201,    201,       201),
}
PERSONAS = ["anonymous", "outsider", "member", "commander", "operator"]


def call(api, method, url, body):
    if body == "file":
        return api.post(url, {"file": SimpleUploadedFile("r.md", "# 步驟\n\n重開機。".encode())}, format="multipart")
    if body is not None:
        return getattr(api, method)(url, body, format="json")
    return getattr(api, method)(url)


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_knowledge_url_answers_each_persona_as_designed(request, api, room, document, question, persona,
                                                              django_capture_on_commit_callbacks):
    if persona != "anonymous":
        api.force_login(request.getfixturevalue(persona))
    column = PERSONAS.index(persona)
    # Delete last: the other URLs need the document.
    for name, (method, url, body) in sorted(urls(room, document, question).items(), key=lambda item: item[0] == "delete"):
        with django_capture_on_commit_callbacks(execute=True):
            response = call(api, method, url, body)
        assert response.status_code == EXPECTED[name][column], (persona, name, response.status_code, response.content[:300])
        if response.status_code == 404:
            assert response.json()["error"]["code"] == "not_found"
        if persona == "anonymous" and name == "upload page":
            assert "/accounts/login/" in response["Location"]
