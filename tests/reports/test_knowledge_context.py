"""Reports and notes use the knowledge base: related passages as context cited [kb:ID], room documents as text,
the assistant answered by the AI, and 👍/👎 on report versions and notes."""

import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from incidents.services import file_upload
from knowledge import answering, services as knowledge_services
from knowledge.models import AssistantQuestion, Feedback, KnowledgeChunk
from knowledge.selectors import knowledge_kpis
from reports.notes import service as notes
from reports.models import ReportKind, ReportStatus
from reports.pipeline.collect import collect_room
from reports.prompts import format_room
from tests.fakes.ai_server import FakeAIServer, Reply
from tests.reports.helpers import generate_inline, read_docx

pytestmark = pytest.mark.django_db

RUNBOOK = "# 資料庫逾時處理\n\n## 步驟\n\n1. 重新啟動連線池。\n2. 調整逾時設定，觀察錯誤率。\n".encode()
NOISE = "# 午餐訂購\n\n週五訂便當，請在中午前填單。\n".encode()


def index(data: bytes, name: str, operator, capture, *, kind="runbook", title=""):
    with capture(execute=True):
        document = knowledge_services.document_upload(uploaded_by=operator, uploaded=SimpleUploadedFile(name, data),
                                                      kind=kind, title=title)
    document.refresh_from_db()
    assert document.status == "indexed", document.error_detail
    return document


def step_chunk(document) -> KnowledgeChunk:
    return next(c for c in document.chunks.all() if "連線池" in c.text)


def use_dify(settings, ai):
    settings.AI_PROVIDER = "dify"
    settings.DIFY_BASE_URL = ai.base_url
    settings.DIFY_API_KEY = "app-test"
    settings.DIFY_RESPONSE_MODE = "streaming"
    settings.AI_RETRY_BACKOFF_SECONDS = 0.01


def sent_text(request) -> str:
    return json.dumps(request.json, ensure_ascii=False)


@pytest.fixture
def runbook(operator, django_capture_on_commit_callbacks):
    index(NOISE, "lunch.md", operator, django_capture_on_commit_callbacks)
    return index(RUNBOOK, "db.md", operator, django_capture_on_commit_callbacks, title="資料庫逾時處理")


def test_the_writer_is_given_the_related_passages_and_the_room_documents(incident, member, runbook):
    file_upload(room=incident, uploaded_by=member,
                uploaded=SimpleUploadedFile("app.log", b"2026-03-05 14:31 ERROR pool exhausted on db-01\n", "text/plain"))
    snapshot = collect_room(incident, max_messages=200)
    chunk = step_chunk(runbook)
    assert chunk.id in [p.id for p in snapshot.knowledge]
    assert "午餐" not in " ".join(p.text for p in snapshot.knowledge)
    prompt = format_room(snapshot, "zh-hant")
    assert f"[kb:{chunk.id}] 資料庫逾時處理 › 步驟: 1. 重新啟動連線池。" in prompt
    assert "app.log" in prompt and "pool exhausted on db-01" in prompt


def test_room_documents_share_the_budget_and_a_cut_one_says_so(incident, member, settings, english):
    settings.REPORT_DOCUMENT_BUDGET_CHARS = 100
    for name in ("first.log", "second.log"):
        file_upload(room=incident, uploaded_by=member,
                    uploaded=SimpleUploadedFile(name, (("x" * 79 + "\n") * 3).encode(), "text/plain"))
    documents = collect_room(incident, max_messages=200, language="en").documents
    assert [d.name for d in documents] == ["first.log (cut)", "second.log (cut)"]
    assert sum(len(d.text) for d in documents) <= 100 and all(d.truncated for d in documents)


def test_an_ai_report_keeps_its_real_knowledge_citations_and_lists_them_as_references(incident, commander, runbook,
                                                                                    settings):
    chunk = step_chunk(runbook)
    answer = json.loads(FakeAIServer().answer)
    answer["resolution_process"] = f"依照 runbook 重新啟動連線池 [kb:{chunk.id}]，並非 [kb:999999]。"
    with FakeAIServer(answer=json.dumps(answer, ensure_ascii=False)) as ai:
        use_dify(settings, ai)
        report = generate_inline(incident, commander)
    assert report.status == ReportStatus.COMPLETED and report.provider == "dify"
    assert f"[kb:{chunk.id}]" in sent_text(ai.requests[0])
    process = report.content["sections"]["resolution_process"]
    assert f"[kb:{chunk.id}]" in process and "999999" not in process
    document = read_docx(report)
    texts = [p.text for p in document.paragraphs]
    assert "參考資料" in texts
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    assert f"[kb:{chunk.id}]" in cells and "資料庫逾時處理 › 步驟" in cells and "[kb:999999]" not in cells


def test_the_offline_report_offers_related_knowledge_as_reading_not_as_what_was_done(incident, commander, runbook):
    chunk = step_chunk(runbook)
    report = generate_inline(incident, commander)
    process = report.content["sections"]["resolution_process"]
    assert "由搜尋找到的相關知識" in process and f"[kb:{chunk.id}]" in process
    cells = [cell.text for table in read_docx(report).tables for row in table.rows for cell in row.cells]
    assert f"[kb:{chunk.id}]" in cells


NOTES = "## Problem Summary\nPool exhausted.\n\n## Steps Taken\n- Restarted the pool [kb:{id}] [kb:999999]\n\n" \
        "## Resolution\nPool restarted.\n\n## Next Steps\n- Alert on pool usage\n"


def test_notes_cite_the_passages_they_were_given_and_record_their_prompt_version(incident, commander, runbook,
                                                                                 settings, monkeypatch):
    monkeypatch.setattr("realtime.events.publish", lambda room_id, built: True)
    chunk = step_chunk(runbook)
    with FakeAIServer(answer=NOTES.format(id=chunk.id)) as ai:
        use_dify(settings, ai)
        report, _ = notes.notes_request(room=incident, requested_by=commander, language="en")
        notes.write_notes(str(report.id))
    report.refresh_from_db()
    assert report.provider == "dify"
    assert f"[kb:{chunk.id}]" in report.content["text"] and "999999" not in report.content["text"]
    assert f"[kb:{chunk.id}]" in sent_text(ai.requests[0])
    assert len(report.ledger["prompt_version"]) == 12 and report.ledger["provider"] == "dify"


# --- Feedback on report versions and notes -------------------------------------------------


def test_feedback_on_a_report_version_and_on_notes_is_recorded_with_the_prompt_version(api, incident, commander, member,
                                                                                      outsider, monkeypatch):
    monkeypatch.setattr("realtime.events.publish", lambda room_id, built: True)
    report = generate_inline(incident, commander)
    version = report.versions.get(number=1)
    written, _ = notes.notes_request(room=incident, requested_by=commander)
    notes.write_notes(str(written.id))
    written.refresh_from_db()
    api.force_login(member)
    listed = api.get(f"/api/rooms/{incident.id}/reports/{report.id}/versions").json()
    assert listed[0]["id"] == version.id
    on_version = api.post("/api/feedback/", {"target": "report_version", "id": version.id, "rating": "down",
                                            "comment": "時間軸漏了告警"}, format="json")
    on_notes = api.post("/api/feedback/", {"target": "notes", "id": str(written.id), "rating": "up"}, format="json")
    assert on_version.status_code == 201 and on_notes.status_code == 201
    assert on_version.json()["prompt_version"] == version.ledger["prompt_version"] != ""
    assert on_notes.json()["prompt_version"] == written.ledger["prompt_version"] != ""
    api.force_login(outsider)
    for target, target_id in (("report_version", version.id), ("notes", str(written.id)), ("notes", "not-a-uuid"),
                              ("report_version", "12abc")):
        response = api.post("/api/feedback/", {"target": target, "id": target_id, "rating": "up"}, format="json")
        assert response.status_code == 404, (target, target_id)
    assert Feedback.objects.count() == 2


def test_the_ai_quality_card_counts_thumbs_per_kind_and_prompt_version(api, room, member, commander):
    for user, rating in ((member, "up"), (commander, "down")):
        Feedback.objects.create(target="answer", target_id="a1", user=user, rating=rating, room=room, prompt_version="p1")
    Feedback.objects.create(target="notes", target_id="n1", user=member, rating="up", room=room, prompt_version="n1")
    Feedback.objects.create(target="notes", target_id="old", user=commander, rating="down", room=room,
                            prompt_version="n0", created_at=timezone.now() - timedelta(days=40))
    assert api.get("/api/feedback/quality").status_code in (401, 403)
    api.force_login(member)
    body = api.get("/api/feedback/quality?days=30").json()
    rows = {(r["target"], r["prompt_version"]): (r["up"], r["down"], r["up_share"]) for r in body["rows"]}
    assert rows == {("answer", "p1"): (1, 1, 0.5), ("notes", "n1"): (1, 0, 1.0)}
    assert api.get("/api/feedback/quality?days=0").status_code == 400


# --- The assistant answered by the AI --------------------------------------------------------


def ask(room, user, question):
    asked = AssistantQuestion.objects.create(room=room, asked_by=user, question=question, language="en")
    answering.question_answer(question_id=asked.id)
    asked.refresh_from_db()
    return asked


def test_the_ai_answers_from_the_room_the_passages_and_the_conversation_and_streams_to_the_asker(
        incident, member, runbook, settings, monkeypatch):
    sent = []
    monkeypatch.setattr("realtime.events.publish", lambda room_id, built: sent.append(built))
    chunk = step_chunk(runbook)
    cited = incident.messages.filter(body__contains="資料庫逾時").first()
    text = f"The pool was restarted [m{cited.id}], as the runbook says [kb:{chunk.id}]; not [m999999]."
    with FakeAIServer(answer=text, default=Reply(chunks=5, chunk_delay=0.06)) as ai:
        use_dify(settings, ai)
        first = ask(incident, member, "What did we do about the 資料庫逾時?")
        second = ask(incident, member, "And who did it?")
    assert (first.status, first.provider) == ("answered", "dify") and first.answer == text
    assert [c["ref"] for c in first.citations] == [f"m{cited.id}", f"kb:{chunk.id}"]
    prompt = sent_text(ai.requests[0])
    assert f"[kb:{chunk.id}]" in prompt and f"[m{cited.id}]" in prompt and "資料庫逾時?" in prompt
    # The second question carries the first one and its answer: the conversation so far.
    assert "What did we do about the" in sent_text(ai.requests[1]) and "The pool was restarted" in sent_text(ai.requests[1])
    deltas = [e.payload["delta"] for e in sent if e.type == "assistant.delta" and str(e.payload["question_id"]) == str(first.id)]
    assert len(deltas) >= 2 and "".join(deltas) == text
    assert {e.only_user_id for e in sent if e.type.startswith("assistant.")} == {member.id}
    assert len(second.prompt_version) == 12


def test_when_the_ai_fails_the_assistant_answers_offline_and_says_why(incident, member, settings, monkeypatch):
    monkeypatch.setattr("realtime.events.publish", lambda room_id, built: True)
    settings.AI_MAX_RETRIES = 1
    with FakeAIServer(script=[500, 500, 500]) as ai:
        use_dify(settings, ai)
        asked = ask(incident, member, "catch me up")
    assert (asked.status, asked.provider) == ("answered", "offline-fallback")
    assert asked.answer.startswith("The AI could not answer just now") and len(ai.requests) == 2
    assert any(c["kind"] == "message" for c in asked.citations)


# --- The daily report's knowledge figures ------------------------------------------------------


def test_the_day_counts_new_knowledge_runbooks_questions_and_their_thumbs(runbook, room, member, commander):
    question = AssistantQuestion.objects.create(room=room, asked_by=member, question="catch me up")
    Feedback.objects.create(target="answer", target_id=str(question.id), user=member, rating="up", room=room)
    Feedback.objects.create(target="answer", target_id=str(question.id), user=commander, rating="down", room=room)
    start = timezone.now() - timedelta(hours=1)
    figures = knowledge_kpis(start=start, end=timezone.now() + timedelta(minutes=1))
    assert figures == {"new_by_kind": {"runbook": 2}, "runbooks": 2, "questions": 1, "answer_ratings": 2,
                       "answer_up_share": 0.5}
    assert knowledge_kpis(start=start - timedelta(days=1), end=start)["new_by_kind"] == {}


def test_the_daily_document_has_a_knowledge_section(runbook):
    from reports.daily import producer

    day = timezone.localdate(timezone.now(), timezone=timezone.get_default_timezone())
    run = producer.daily_report_produce(day=day, deliver=False)
    assert run.report.kind == ReportKind.DAILY
    text = "\n".join(p.text for p in read_docx(run.report).paragraphs)
    cells = [cell.text for table in read_docx(run.report).tables for row in table.rows for cell in row.cells]
    assert "知識庫" in text and "Runbook 總數" in cells


# --- The passage a kb: chip opens ----------------------------------------------------------------


def test_a_passage_page_shows_the_passage_to_anyone_logged_in(client, runbook, outsider):
    chunk = step_chunk(runbook)
    url = f"/knowledge/passages/{chunk.id}/"
    assert client.get(url).status_code == 302
    client.force_login(outsider)
    page = client.get(url)
    assert page.status_code == 200 and "重新啟動連線池" in page.content.decode()
    assert client.get("/knowledge/passages/999999/").status_code == 404
