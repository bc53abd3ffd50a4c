"""Reviewing a report in the browser: edit the summary and find the edit in the .docx, compare two versions,
follow a citation to its message, finalize. Real Chromium, uvicorn, a Celery worker and the fake DIFY."""

import io
import json
import re
import uuid
from pathlib import Path

import pytest
from docx import Document
from playwright.sync_api import expect

from incidents.models import IncidentRoom, MemberRole, Message, RoomStatus
from tests.browser.test_room_page import ARTIFACTS, browser, log_in, open_room, page, stack  # noqa: F401 - fixtures
from tests.factories import add_member, add_messages, make_room, make_user
from tests.fakes.ai_server import DEFAULT_ANSWER, Reply

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def room_with_citations():
    """A resolved room, and an AI answer that cites one of its messages in the summary and the timeline."""
    name = uuid.uuid4().hex[:6]
    commander = make_user(username=f"rv-{name}", display_name="審閱指揮官 Reviewer Lin")
    responder = make_user(username=f"rp-{name}", display_name="處理人員 Wang")
    room = make_room(title="核心交換器 BGP 中斷", commander=commander, category="Network", severity="sev1")
    add_member(room, responder, MemberRole.RESPONDER)
    add_messages(room, responder, 6, body="更新 {i}：BGP 鄰居反覆重建")
    IncidentRoom.objects.filter(id=room.id).update(status=RoomStatus.RESOLVED, resolution_summary="更換光模組")
    cited = Message.objects.filter(room=room).order_by("id")[2]
    answer = json.loads(DEFAULT_ANSWER)
    answer["summary"] = f"核心交換器 BGP 中斷，更換光模組後恢復 [m{cited.id}]。"
    answer["timeline"] = [{"time": "09:40", "event": "BGP 鄰居中斷", "evidence": [cited.id]}]
    return commander, room, cited, json.dumps(answer, ensure_ascii=False)


def docx_text(path) -> str:
    document = Document(io.BytesIO(Path(path).read_bytes()))
    return "\n".join([p.text for p in document.paragraphs]
                     + [c.text for t in document.tables for r in t.rows for c in r.cells])


def test_edit_compare_cite_and_finalize_a_report(page, stack):  # noqa: F811 - fixtures imported above
    commander, room, cited, answer = room_with_citations()
    stack["ai"].script[:] = [Reply(answer=answer)]
    log_in(page, stack["url"], commander.username)
    open_room(page, stack["url"], room)
    page.click("#generate-report")
    page.wait_for_selector("#progress-download:not([hidden])", timeout=60_000)
    page.click("#progress-close")
    page.click("#report-list a.review")
    page.wait_for_url(re.compile(r".*/reports/rooms/.*"))
    summary = page.locator('textarea[data-key="summary"]')
    expect(summary).to_have_value(re.compile("更換光模組"))
    expect(page.locator(f'.section[data-key="summary"] a.citation[data-message="{cited.id}"]')).to_be_visible()
    shot(page, "review-01-draft")

    # Edit the summary and save: version 2, and the downloaded .docx says it.
    summary.fill("人工審閱後的摘要：核心交換器光模組故障，已更換。")
    page.click("#review-save")
    expect(page.locator("#review-version")).to_have_text("2")
    expect(page.locator("#review-notice")).to_be_visible()
    with page.expect_download() as download:
        page.click("#review-download")
    assert "人工審閱後的摘要" in docx_text(download.value.path())

    # Compare version 1 with version 2: the summary changed, character by character.
    page.select_option("#compare-from", "1")
    page.select_option("#compare-to", "2")
    page.click("#compare-run")
    expect(page.locator("#review-diff ins").first).to_contain_text("人工審閱後的摘要")
    expect(page.locator("#review-diff .badge.diff-unchanged").first).to_be_visible()
    shot(page, "review-02-compare")

    # A citation opens the room with that message highlighted.
    page.click(f'.section[data-key="timeline"] a.citation[data-message="{cited.id}"]')
    page.wait_for_url(re.compile(rf".*/rooms/{room.id}/#m{cited.id}$"))
    expect(page.locator(f'#timeline li.msg.cited[data-id="{cited.id}"]')).to_be_visible()
    shot(page, "review-03-cited-message")

    # Finalize: the badge says final and the document carries the approval line.
    page.go_back()
    expect(page.locator('textarea[data-key="summary"]')).to_have_value(re.compile("人工審閱後的摘要"))
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#review-finalize")
    expect(page.locator("#review-state")).to_have_text("定稿")
    with page.expect_download() as download:
        page.click("#review-download")
    text = docx_text(download.value.path())
    assert "核准者" in text and "審閱指揮官 Reviewer Lin" in text
    shot(page, "review-04-final")


def test_the_review_page_fits_a_phone(browser, stack):  # noqa: F811 - fixtures imported above
    commander, room, _cited, answer = room_with_citations()
    stack["ai"].script[:] = [Reply(answer=answer)]
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-TW")
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        log_in(page, stack["url"], commander.username)
        open_room(page, stack["url"], room)
        page.click("#generate-report")
        page.wait_for_selector("#progress-download:not([hidden])", timeout=60_000)
        page.click("#progress-close")
        page.click("#report-list a.review")
        expect(page.locator('textarea[data-key="summary"]')).to_be_visible()
        size = page.evaluate("({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})")
        shot(page, "review-phone")
        assert size["scroll"] <= size["inner"], size
    finally:
        context.close()
