"""Postmortems are written with their own sections, prompt, tables and titles, through the same chain."""

import io
import json
from datetime import date, timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone, translation
from docx import Document

from incidents.services import action_item_create, room_resolve
from reports.models import Report, ReportKind, ReportStatus, ReportStep, StepStatus
from reports.pipeline.content import validate_sections
from reports.prompts import (
    POSTMORTEM_LIST_SECTIONS,
    POSTMORTEM_SECTION_KEYS,
    SECTION_KEYS,
    section_title,
    sections_for,
)
from tests import factories
from tests.fakes.ai_server import Reply
from tests.reports.helpers import all_text, generate, headings

pytestmark = pytest.mark.django_db

PM_ZH = ["影響", "根本原因", "時間軸", "做得好的地方", "需要改進的地方", "改善行動項目"]
PM_EN = ["Impact", "Root cause", "Timeline", "What went well", "What went badly", "Action items"]
ZH_TITLES = ["事件摘要", "時間軸", "參與人員", "處理過程", "目前狀態", "最終處置結果"]

AI_POSTMORTEM = {
    "impact": "AI 影響：訂單服務約 45 分鐘無法寫入資料庫。",
    "root_cause": "AI 根本原因：連線池上限過低，尖峰時耗盡。",
    "timeline": [{"time": "09:40", "event": "告警觸發"}, {"time": "10:25", "event": "連線池調整後恢復"}],
    "went_well": "AI 做得好：10 分鐘內即有人回應。",
    "went_badly": "AI 待改進：沒有連線池使用率告警。",
    "action_items": [{"action": "AI 行動：新增連線池使用率告警", "owner": "王小明 Member Wang", "due": "2026-12-01"}],
}


def stored_docx(report) -> Document:
    """The published file, read back from the default storage."""
    with default_storage.open(report.document.name, "rb") as handle:
        return Document(io.BytesIO(handle.read()))


def table_with_header(document, header: list[str]):
    for table in document.tables:
        if [cell.text for cell in table.rows[0].cells] == header:
            return [[cell.text for cell in row.cells] for row in table.rows[1:]]
    raise AssertionError(f"no table with the header {header}")


def paragraphs_after(document, heading: str, count: int = 3) -> list[str]:
    texts = [p.text for p in document.paragraphs]
    index = texts.index(heading)
    return texts[index + 1: index + 1 + count]


@pytest.fixture
def with_item(incident, commander, member):
    action_item_create(room=incident, by=commander, title="新增連線池告警", assignee=member,
                       due_date=date(2026, 12, 1))
    return incident


def test_an_offline_postmortem_has_its_own_sections_headings_and_action_item_table(
    with_item, commander, published, django_capture_on_commit_callbacks
):
    report = generate(with_item, commander, django_capture_on_commit_callbacks, kind=ReportKind.POSTMORTEM)

    assert report.status == ReportStatus.COMPLETED, report.error_detail
    assert report.provider == "offline"
    assert report.title.startswith("事後檢討報告")
    assert sorted(report.content["sections"]) == sorted(POSTMORTEM_SECTION_KEYS)  # jsonb keeps no key order
    assert set(report.content["sources"].values()) == {"offline"}
    document = stored_docx(report)
    assert headings(document) == PM_ZH + ["附件與截圖"]  # the room's action items are the postmortem's own section
    assert table_with_header(document, ["行動", "負責人", "期限"]) == [["新增連線池告警", "王小明 Member Wang", "2026-12-01"]]
    # The offline writer cites the message of every timeline row: a source column follows.
    assert table_with_header(document, ["時間", "事件", "來源"])
    text = all_text(document)
    assert "未使用 AI" in text
    # The root cause is not made up: it says so and quotes what hints at it.
    assert "無法僅從事件室資料判定根本原因" in text and "重新啟動連線池並調整逾時設定" in text
    assert "事件室所有成員（2 位）都參與了討論。" in text and "1 個附件" in text
    # Progress is told with the postmortem's titles.
    steps = [p["step"] for _, event, p in published if event == "report.progress"]
    assert "影響" in steps and "改善行動項目" in steps and "事件摘要" not in steps
    labels = ReportStep.objects.filter(report=report, key__startswith="generate_content.section.")
    assert {s.key.rsplit(".", 1)[-1]: s.label for s in labels} == dict(zip(POSTMORTEM_SECTION_KEYS, PM_ZH))


def test_an_english_postmortem_of_a_room_without_action_items_has_a_placeholder_row(
    incident, commander, django_capture_on_commit_callbacks
):
    report = generate(incident, commander, django_capture_on_commit_callbacks, kind=ReportKind.POSTMORTEM,
                      language="en")

    assert report.status == ReportStatus.COMPLETED, report.error_detail
    document = stored_docx(report)
    assert headings(document)[:6] == PM_EN
    [row] = table_with_header(document, ["Action", "Owner", "Due"])
    assert row[1] == "to be assigned"
    text = all_text(document)
    assert "no AI was used" in text and "cannot be determined from the room's data" in text
    assert "No action items were recorded in the room." in text


def test_a_room_resolved_after_a_long_incident_gets_a_postmortem_document(
    room, commander, member, django_capture_on_commit_callbacks
):
    room.created_at = timezone.now() - timedelta(minutes=40)
    room.save(update_fields=["created_at"])
    factories.add_messages(room, commander, 2, start=room.created_at + timedelta(minutes=1), body="告警 {i}")
    factories.add_messages(room, member, 2, start=room.created_at + timedelta(minutes=5), body="處理中 {i}")

    with django_capture_on_commit_callbacks(execute=True):
        room_resolve(room=room, by=commander, summary="調整連線池上限")

    report = Report.objects.get(room=room, kind=ReportKind.POSTMORTEM)
    assert report.status == ReportStatus.COMPLETED, report.error_detail
    assert headings(stored_docx(report))[:6] == PM_ZH


def test_the_ai_gets_the_postmortem_instructions_and_writes_the_postmortem(
    with_item, commander, dify, django_capture_on_commit_callbacks
):
    dify.answer = json.dumps(AI_POSTMORTEM, ensure_ascii=False)

    report = generate(with_item, commander, django_capture_on_commit_callbacks, kind=ReportKind.POSTMORTEM)

    assert report.status == ReportStatus.COMPLETED, report.error_detail
    assert report.provider == "dify"
    assert len(dify.requests) == 1
    query = dify.requests[0].json["query"]
    assert "事後檢討" in query and "blameless" in query and '"action_items"' in query
    assert "事件摘要" not in query  # not the incident report's prompt
    assert "新增連線池告警" in query  # the room's action items are part of the data
    assert report.content["sections"] == AI_POSTMORTEM
    assert set(report.content["sources"].values()) == {"dify"}
    document = stored_docx(report)
    assert headings(document)[:6] == PM_ZH
    assert table_with_header(document, ["行動", "負責人", "期限"]) == [
        ["AI 行動：新增連線池使用率告警", "王小明 Member Wang", "2026-12-01"]]
    assert "AI 根本原因" in all_text(document)


@pytest.mark.parametrize("repair, source", [
    (json.dumps({"went_badly": "AI 補上的待改進事項"}, ensure_ascii=False), "dify"),
    ("still not json", "offline"),
])
def test_a_missing_postmortem_section_is_repaired_or_written_offline_and_marked(
    with_item, commander, dify, django_capture_on_commit_callbacks, repair, source
):
    partial = {k: v for k, v in AI_POSTMORTEM.items() if k != "went_badly"}
    dify.script = [Reply(answer=json.dumps(partial, ensure_ascii=False)), Reply(answer=repair)]

    report = generate(with_item, commander, django_capture_on_commit_callbacks, kind=ReportKind.POSTMORTEM)

    assert report.status == ReportStatus.COMPLETED, report.error_detail
    assert len(dify.requests) == 2
    assert "went_badly" in dify.requests[1].json["query"]
    assert sorted(report.content["sections"]) == sorted(POSTMORTEM_SECTION_KEYS)  # jsonb keeps no key order
    assert report.content["sources"]["went_badly"] == source
    assert report.content["sources"]["impact"] == "dify"
    after = paragraphs_after(stored_docx(report), "需要改進的地方")
    if source == "dify":
        assert after[0] == "AI 補上的待改進事項"
    else:
        assert "本節由離線撰寫器" in after[0]
        assert "客觀觀察" in after[1]


def test_parallel_mode_writes_the_six_postmortem_sections(
    settings, with_item, commander, dify, django_capture_on_commit_callbacks
):
    settings.REPORT_SECTION_MODE = "parallel"
    dify.answer = json.dumps(AI_POSTMORTEM, ensure_ascii=False)

    report = generate(with_item, commander, django_capture_on_commit_callbacks, kind=ReportKind.POSTMORTEM)

    assert report.status == ReportStatus.COMPLETED, report.error_detail
    assert len(dify.requests) == 6
    steps = ReportStep.objects.filter(report=report, key__startswith="generate_content.section.",
                                      parent__key="generate_content")
    assert sorted(s.key.rsplit(".", 1)[-1] for s in steps) == sorted(POSTMORTEM_SECTION_KEYS)
    assert all(s.status == StepStatus.COMPLETED for s in steps)
    assert report.content["sections"] == AI_POSTMORTEM
    for request in dify.requests:
        assert "blameless" in request.json["query"] and "只撰寫下列段落" in request.json["query"]
    assert headings(stored_docx(report))[:6] == PM_ZH


def test_an_incident_report_is_unchanged(with_item, commander, django_capture_on_commit_callbacks):
    report = generate(with_item, commander, django_capture_on_commit_callbacks)

    assert report.status == ReportStatus.COMPLETED, report.error_detail
    assert sorted(report.content["sections"]) == sorted(SECTION_KEYS)
    document = stored_docx(report)
    assert headings(document) == ZH_TITLES + ["後續待辦事項", "附件與截圖"]
    prompt = ReportStep.objects.get(report=report, key="generate_content.ai").detail["prompt"]
    assert "事後檢討" not in prompt["system"] and "新增連線池告警" not in prompt["user"]


def test_sections_for_each_kind():
    postmortem = sections_for(ReportKind.POSTMORTEM)
    assert postmortem.keys == POSTMORTEM_SECTION_KEYS and postmortem.list_fields == POSTMORTEM_LIST_SECTIONS
    assert postmortem.titles_in("zh-hant") == dict(zip(POSTMORTEM_SECTION_KEYS, PM_ZH))
    assert sections_for("daily").kind == "incident"
    assert section_title("timeline", "en", "postmortem") == "Timeline"
    assert section_title("summary", "zh-hant") == "事件摘要"
    assert '"required": [\n  "went_badly"\n ]' in postmortem.system_prompt("zh-hant", ["went_badly"])


def test_postmortem_action_items_are_validated_with_their_own_fields():
    valid, problems = validate_sections(
        {"action_items": [{"action": "加告警", "owner": "", "due": "12/1"}], "timeline": [{"time": "1", "event": "x"}]},
        ["action_items", "timeline"], POSTMORTEM_LIST_SECTIONS)
    assert valid == {"timeline": [{"time": "1", "event": "x"}]}
    assert problems == ["'action_items[0]' lacks owner"]


def test_the_offline_postmortem_uses_a_stated_root_cause_and_says_nothing_twice(incident, commander, member,
                                                                                  settings):
    from reports.llm.offline import write_offline
    from reports.pipeline.collect import collect_room

    settings.POSTMORTEM_MIN_MINUTES = 10
    factories.add_messages(incident, member, 1, start=incident.created_at + timedelta(minutes=30),
                           body="根因：DNS resolver 設定錯誤，指向已下線的伺服器")
    snapshot = collect_room(incident, max_messages=200, language="zh-hant")
    with translation.override("zh-hant"):
        written = write_offline(snapshot, "zh-hant", ["root_cause", "went_well", "went_badly"])
    assert "DNS resolver 設定錯誤，指向已下線的伺服器" in written["root_cause"]
    assert "無法" not in written["root_cause"].split("\n", 2)[-1]
    # Lasting past the postmortem threshold is why there is a postmortem, not something to improve.
    assert "門檻" not in written["went_badly"]
    # Every member spoke: said once, not "2 members took part (the room has 2 members)".
    assert "事件室所有成員（2 位）都參與了討論。" in written["went_well"]
    assert "參與了討論（" not in written["went_well"]
