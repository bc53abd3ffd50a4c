"""Every knowledge URL, walked as an anonymous visitor, an outsider, a member, an observer, a commander and an operator.

The knowledge base is shared by everyone logged in; uploading (the API and the knowledge
page) is for commanders and operators; changing a document for its uploader and operators;
a room's related panel, its assistant and feedback on its AI outputs for the room's members
(and operators) only, 404 for anyone else. Responders and commanders ask the assistant;
observers read its answers (and may rate them, as anyone who sees the room may) but not ask.
"""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import AsyncClient

from incidents.models import MemberRole
from reports.models import Report, ReportKind, ReportStatus, ReportVersion
from tests.factories import add_member, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def observer(room):
    user = make_user(username="observer", display_name="觀察者 Observer Hsu")
    add_member(room, user, MemberRole.OBSERVER)
    return user


@pytest.fixture
def document(upload, operator):
    return upload("# 光模塊\n\n更換步驟。".encode(), "a.md", by=operator)


@pytest.fixture
def question(room, member, django_capture_on_commit_callbacks):
    from knowledge.services import question_ask

    with django_capture_on_commit_callbacks(execute=True):
        return question_ask(room=room, asked_by=member, question="catch me up")


@pytest.fixture
def outputs(room):
    """The AI outputs of the room that take feedback besides answers: a report version and written notes."""
    report = Report.objects.create(room=room, kind=ReportKind.INCIDENT, status=ReportStatus.COMPLETED,
                                   ledger={"prompt_version": "report-p1"})
    version = ReportVersion.objects.create(report=report, number=1, ledger={"prompt_version": "report-p1"})
    notes = Report.objects.create(room=room, kind=ReportKind.NOTES, status=ReportStatus.COMPLETED,
                                  ledger={"prompt_version": "notes-p1"})
    return {"report_version": str(version.id), "notes": str(notes.id)}


def urls(room, document, question, outputs):
    docs = "/api/knowledge/documents/"
    ask = f"/api/rooms/{room.id}/assistant/questions"
    # "answer stream" (an async view) is walked by its own test below, in a transaction of its own.
    return {
        # Before "reparse": reparsing replaces the document's passages (and their ids).
        "passage page": ("get", f"/knowledge/passages/{document.chunks.first().id}/", None),
        "ai quality": ("get", "/api/feedback/quality", None),
        "questions": ("get", ask, None),
        "ask": ("post", ask, {"question": "進度？"}),
        "question": ("get", f"{ask}/{question.id}", None),
        "feedback": ("post", "/api/feedback/", {"target": "answer", "id": str(question.id), "rating": "up"}),
        "feedback version": ("post", "/api/feedback/",
                             {"target": "report_version", "id": outputs["report_version"], "rating": "down"}),
        "feedback notes": ("post", "/api/feedback/", {"target": "notes", "id": outputs["notes"], "rating": "up"}),
        "list": ("get", docs, None),
        "upload": ("post", docs, "file"),
        "detail": ("get", f"{docs}{document.id}/", None),
        "reparse": ("post", f"{docs}{document.id}/reparse", None),
        "delete": ("delete", f"{docs}{document.id}/", None),
        "search": ("get", "/api/knowledge/search?q=光模", None),
        "related": ("get", f"/api/rooms/{room.id}/related", None),
        "upload page": ("get", "/knowledge/", None),
        "upload page post": ("post", "/knowledge/", "page file"),
    }


EXPECTED = {
    #                   anonymous  outsider  member  observer  commander  operator
    "list":             (401,      200,      200,    200,      200,       200),
    "upload":           (401,      403,      403,    403,      201,       201),
    "detail":           (401,      200,      200,    200,      200,       200),
    "reparse":          (401,      403,      403,    403,      403,       202),
    "delete":           (401,      403,      403,    403,      403,       204),
    "search":           (401,      200,      200,    200,      200,       200),
    "related":          (401,      404,      200,    200,      200,       200),
    "upload page":      (302,      200,      200,    200,      200,       200),
    "upload page post": (302,      403,      403,    403,      302,       302),
    "passage page":     (302,      200,      200,    200,      200,       200),
    "ai quality":       (401,      200,      200,    200,      200,       200),
    "questions":        (401,      404,      200,    200,      200,       200),
    "ask":              (401,      404,      202,    403,      202,       202),
    "question":         (401,      404,      200,    200,      200,       200),
    "answer stream":    (401,      404,      200,    200,      200,       200),
    "feedback":         (401,      404,      201,    201,      201,       201),
    "feedback version": (401,      404,      201,    201,      201,       201),
    "feedback notes":   (401,      404,      201,    201,      201,       201),
}
PERSONAS = ["anonymous", "outsider", "member", "observer", "commander", "operator"]


def call(api, method, url, body):
    if body == "file":
        return api.post(url, {"file": SimpleUploadedFile("r.md", "# 步驟\n\n重開機。".encode())}, format="multipart")
    if body == "page file":
        return api.post(url, {"file": SimpleUploadedFile("p.md", "# 頁面\n\n上傳。".encode()), "kind": "runbook"},
                        format="multipart")
    if body is not None:
        return getattr(api, method)(url, body, format="json")
    return getattr(api, method)(url)


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_knowledge_url_answers_each_persona_as_designed(request, api, room, document, question, outputs, persona,
                                                              django_capture_on_commit_callbacks):
    if persona != "anonymous":
        api.force_login(request.getfixturevalue(persona))
    column = PERSONAS.index(persona)
    # Delete last: the other URLs need the document.
    for name, (method, url, body) in sorted(urls(room, document, question, outputs).items(),
                                            key=lambda item: item[0] == "delete"):
        with django_capture_on_commit_callbacks(execute=True):
            response = call(api, method, url, body)
        expected = EXPECTED[name][column]
        assert response.status_code == expected, (persona, name, response.status_code, response.content[:300])
        if response.status_code == 404 and url.startswith("/api/"):
            assert response.json()["error"]["code"] == "not_found"
        if persona == "anonymous" and name.startswith("upload page"):
            assert "/accounts/login/" in response["Location"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("persona", PERSONAS)
async def test_the_answer_stream_answers_each_persona_as_designed(request, persona):
    # The async view reads the database from a worker thread: the rows must be committed, and
    # the fixtures are made here (in the test's thread) rather than in the async loop.
    from asgiref.sync import sync_to_async

    def arrange():
        room = request.getfixturevalue("room")
        request.getfixturevalue("observer")
        asked = request.getfixturevalue("question")
        user = None if persona == "anonymous" else request.getfixturevalue(persona)
        return f"/api/rooms/{room.id}/assistant/questions/{asked.id}/stream", user

    url, user = await sync_to_async(arrange)()
    client = AsyncClient()
    if user is not None:
        await sync_to_async(client.force_login)(user)
    response = await client.get(url)
    assert response.status_code == EXPECTED["answer stream"][PERSONAS.index(persona)], (persona, response.status_code)
    if response.status_code == 200:
        # The answer is written already: the stream sends it and ends (its content: test_assistant.py).
        chunks = [c.decode() if isinstance(c, bytes) else c async for c in response.streaming_content]
        assert response["Content-Type"].startswith("text/event-stream") and chunks[-1] == "data: [DONE]\n\n"
    else:
        assert json.loads(response.content)["error"]["code"] == ("not_found" if user else "not_authenticated")


def test_the_matrix_walks_every_knowledge_url():
    """A new URL in knowledge/ must get a row here."""
    from knowledge import api_urls, urls as page_urls

    names = {p.name for p in [*api_urls.urlpatterns, *page_urls.urlpatterns]}
    assert names == {"document-list", "document-detail", "document-reparse", "search", "room-related", "question-list",
                     "question-detail", "question-stream", "feedback", "feedback-quality", "index", "passage"}
