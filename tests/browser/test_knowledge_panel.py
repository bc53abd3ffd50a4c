"""The Related panel and the room assistant in a real browser (same stack as test_room_page.py)."""

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from incidents.models import IncidentRoom, MemberRole, RoomStatus
from knowledge import services
from knowledge.models import DocumentStatus, Feedback, KnowledgeDocument
from tests.browser.test_room_page import browser, log_in, open_room, page, shot, stack  # noqa: F401 - shared fixtures
from tests.fakes.ai_server import Reply
from tests.factories import add_member, add_messages, make_room, make_user
from tests.services import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def indexed(document_id):
    return KnowledgeDocument.objects.get(id=document_id).status == DocumentStatus.INDEXED


def test_related_panel_shows_the_past_incident_and_the_assistant_streams_an_answer_citing_a_message(page, stack):
    commander = make_user(username="kb-ic", display_name="指揮官 Lin")
    operator = make_user(username="kb-op", staff=True)
    past = make_room(title="光模塊故障 core-sw-01", commander=commander, category="Network")
    IncidentRoom.objects.filter(id=past.id).update(status=RoomStatus.RESOLVED, resolution_summary="更換光模塊後恢復")
    report = services.index_report(room=past, report_id=uuid.uuid4(), kind="incident_report", title="光模塊故障事件報告",
                                   text="# 摘要\n\ncore-sw-01 的光模塊故障，連線中斷 20 分鐘。")
    runbook = services.document_upload(uploaded_by=operator, uploaded=SimpleUploadedFile(
        "optics.md", "# 光模塊更換\n\n1. 關閉連接埠。\n2. 更換光模塊。\n3. 確認 link up。".encode()))
    wait_until(lambda: indexed(report.id) and indexed(runbook.id), timeout=60, what="documents indexed by the worker")

    room = make_room(title="光模塊又故障 core-sw-02", commander=commander, category="Network")
    add_member(room, make_user(username="kb-resp"), MemberRole.RESPONDER)
    messages = add_messages(room, commander, 3, body="core-sw-02 連接埠 {i} 錯誤計數上升")

    log_in(page, stack["url"], "kb-ic")
    open_room(page, stack["url"], room)
    page.wait_for_selector(f"#related-incidents a[href='/rooms/{past.id}/']")
    assert "更換光模塊後恢復" in page.inner_text("#related-incidents")
    assert "光模塊更換" in page.inner_text("#related-passages")
    assert page.locator("#related-passages mark").count() > 0
    shot(page, "knowledge-01-related")

    # The AI (the stack's fake DIFY) streams an answer citing a message and the runbook.
    step = runbook.chunks.first()
    answer = f"core-sw-02 的連接埠錯誤計數持續上升 [m{messages[-1].id}]，請依 runbook 更換光模塊 [kb:{step.id}]。"
    stack["ai"].script[:] = [Reply(answer=answer, chunks=6, chunk_delay=0.3)]
    page.evaluate("""() => { window.assistantPieces = [];
      new MutationObserver(() => window.assistantPieces.push(document.getElementById("assistant-answers").innerText))
        .observe(document.getElementById("assistant-answers"), {childList: true, subtree: true, characterData: true}); }""")
    page.fill("#assistant-question", "catch me up")
    page.click("#assistant-form button[type=submit]")
    page.wait_for_selector(f"#assistant-answers a.chip.cite[href='/knowledge/passages/{step.id}/']")
    assert "請依 runbook 更換光模塊" in page.inner_text("#assistant-answers")
    # Streamed: the panel showed part of the answer before all of it.
    pieces = page.evaluate("window.assistantPieces")
    assert any("連接埠" in p and "更換光模塊" not in p for p in pieces), pieces
    shot(page, "knowledge-02-assistant")
    page.click(f"#assistant-answers .chip.cite:text('m{messages[-1].id}')")
    assert page.locator(f"#timeline li[data-id='{messages[-1].id}']").is_visible()

    # 👎 with a comment on the answer: recorded for the AI-quality card.
    page.click("#assistant-answers .feedback button[aria-label]:nth-of-type(2)")
    page.fill("#assistant-answers .feedback input", "少了告警資訊")
    page.press("#assistant-answers .feedback input", "Enter")
    wait_until(lambda: Feedback.objects.filter(target="answer", rating="down", comment="少了告警資訊").exists(),
               timeout=10, what="the feedback stored")
    shot(page, "knowledge-03-feedback")
