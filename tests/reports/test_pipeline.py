"""The whole chain (eager Celery), its steps, events, failure paths and idempotency."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone

from incidents.models import Message, MessageKind, RoomFile
from reports import lifecycle, tasks
from reports.models import Report, ReportStatus, ReportStep, StepStatus
from reports.pipeline import stages, workflow
from reports.pipeline.collect import collect_room
from reports.prompts import SECTION_KEYS
from tests import factories
from tests.fakes.ai_server import Reply
from tests.reports.helpers import all_text, east_asia_fonts, generate, generate_inline, headings, read_docx

pytestmark = pytest.mark.django_db

ZH_TITLES = ["事件摘要", "時間軸", "參與人員", "處理過程", "目前狀態", "最終處置結果"]
EN_TITLES = ["Summary", "Timeline", "Participants", "Resolution process", "Current status", "Final resolution"]


def test_offline_report_runs_the_whole_chain_and_stores_the_docx(
    incident, commander, published, django_capture_on_commit_callbacks
):
    report = generate(incident, commander, django_capture_on_commit_callbacks)

    assert report.status == ReportStatus.COMPLETED, report.error_detail
    assert report.provider == "offline"
    assert report.percent == 100
    assert report.document.name == f"reports/{incident.id}/{report.id}.docx"
    document = read_docx(report)
    assert headings(document)[:6] == ZH_TITLES
    assert "未使用 AI" in all_text(document)
    assert settings.REPORT_EAST_ASIAN_FONT in east_asia_fonts(document)
    assert len(document.inline_shapes) == 1
    # Events: progress through every stage, then exactly one completed event, all to the room
    # (the knowledge base then indexes the finished report: its own knowledge.progress events follow).
    types = [event for _, event, _ in published if event.startswith("report.")]
    assert types.count("report.completed") == 1 and types[-1] == "report.completed"
    assert {room for room, _, _ in published} == {str(incident.id)}
    percents = [p["percent"] for _, e, p in published if e == "report.progress"]
    assert percents == sorted(percents) and percents[0] == 0
    assert set(published[1][2]) == {"report_id", "status", "step", "percent"}


def test_steps_form_a_tree_of_stages_and_sections(incident, commander, django_capture_on_commit_callbacks):
    report = generate(incident, commander, django_capture_on_commit_callbacks)
    stages_ = ReportStep.objects.filter(report=report, parent=None)
    assert [s.key for s in stages_] == ["collect_data", "generate_content", "assemble_document", "publish"]
    assert all(s.status == StepStatus.COMPLETED and s.finished_at for s in stages_)
    content = stages_.get(key="generate_content")
    children = {c.key for c in content.children.all()}
    assert {f"generate_content.section.{k}" for k in SECTION_KEYS} <= children
    ai = ReportStep.objects.get(report=report, key="generate_content.ai")
    assert "事件室" in ai.detail["prompt"]["user"] or incident.title in ai.detail["prompt"]["user"]
    assert ai.detail["raw_response"]


def test_running_any_stage_again_changes_nothing(incident, commander, published, django_capture_on_commit_callbacks):
    report = generate(incident, commander, django_capture_on_commit_callbacks)
    steps_before = list(ReportStep.objects.filter(report=report).values_list("key", "finished_at"))
    document = report.document.name
    events_before = len(published)

    for task in (workflow.collect_data, workflow.generate_content, workflow.assemble_document, workflow.publish_report):
        with django_capture_on_commit_callbacks(execute=True):
            result = task.apply(args=[str(report.id)])
        assert result.state == "IGNORED"

    report.refresh_from_db()
    assert report.status == ReportStatus.COMPLETED
    assert report.document.name == document
    assert list(ReportStep.objects.filter(report=report).values_list("key", "finished_at")) == steps_before
    assert len(published) == events_before
    folder = Path(report.document.storage.path(f"reports/{incident.id}"))
    assert [f.name for f in folder.rglob("*.docx")] == [f"{report.id}.docx"]


def test_publish_twice_stores_one_file_and_announces_once(incident, commander, published,
                                                          django_capture_on_commit_callbacks):
    from reports.services import report_create

    report, _ = report_create(room=incident, requested_by=commander)
    stages.collect_data(report.id)
    stages.generate_content(report.id)
    # assemble twice (a redelivery while still at its stage): one step row, one staging file
    stages.assemble_document(report.id)
    ReportStep.objects.filter(report=report, key="assemble_document").update(status=StepStatus.RUNNING)
    stages.assemble_document(report.id)
    with django_capture_on_commit_callbacks(execute=True):
        stages.publish(report.id)
        with pytest.raises(stages.StageSkipped):
            stages.publish(report.id)
    assert [e for _, e, _ in published].count("report.completed") == 1
    assert ReportStep.objects.filter(report=report, key="assemble_document").count() == 1
    folder = Path(report.document.storage.path(f"reports/{incident.id}"))
    assert [f.name for f in folder.rglob("*.docx")] == [f"{report.id}.docx"]


def test_a_stage_redelivered_after_it_finished_is_skipped(incident, commander):
    from reports.services import report_create

    report, _ = report_create(room=incident, requested_by=commander)
    stages.collect_data(report.id)
    with pytest.raises(stages.StageSkipped):
        stages.collect_data(report.id)
    assert ReportStep.objects.filter(report=report).count() == 1


def test_an_empty_room_fails_with_a_message(room, commander, published, django_capture_on_commit_callbacks):
    report = generate(room, commander, django_capture_on_commit_callbacks)
    assert report.status == ReportStatus.FAILED
    assert "沒有任何訊息" in report.error_message
    assert "no messages" in report.error_detail and "Traceback" not in report.error_message


def test_a_failure_is_announced_once_to_the_room(room, commander, published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report = generate_inline(room, commander, language="en")
    assert report.status == ReportStatus.FAILED
    assert report.error_message == "The room has no messages, so there is nothing to report."
    failed = [p for _, e, p in published if e == "report.failed"]
    assert failed == [{"report_id": str(report.id), "status": "failed", "error_message": report.error_message}]


def test_every_control_character_in_a_message_still_makes_a_readable_document(
    incident, commander, django_capture_on_commit_callbacks
):
    # PostgreSQL text holds neither NUL nor lone surrogates (the docx tests cover those); everything else goes in.
    nasty = "".join(chr(c) for c in range(1, 32)) + "\x7f\x85\ufffe\uffff" + "結尾 end"
    Message.objects.create(room=incident, sender=commander, body=nasty,
                           created_at=incident.created_at + timedelta(minutes=20))
    incident.title = "標題\x1b\x0b title"
    incident.save()
    report = generate(incident, commander, django_capture_on_commit_callbacks)
    assert report.status == ReportStatus.COMPLETED, report.error_detail
    text = all_text(read_docx(report))
    assert "結尾 end" in text
    assert not any(ch in text for ch in "\x01\x1b\x7f\x85\ufffe\uffff")


def test_a_corrupt_image_becomes_a_note_not_a_failed_report(incident, member, django_capture_on_commit_callbacks):
    factories.add_raw_file(incident, member, name="broken.png", data=b"\x89PNG\r\n\x1a\nthis is not a png",
                           content_type="image/png", width=64, height=48)
    missing = factories.add_raw_file(incident, member, name="gone.png", data=factories.png_bytes(),
                                     content_type="image/png", width=64, height=48)
    missing.file.storage.delete(missing.file.name)
    report = generate(incident, member, django_capture_on_commit_callbacks)
    assert report.status == ReportStatus.COMPLETED, report.error_detail
    document = read_docx(report)
    text = all_text(document)
    assert "broken.png" in text and "gone.png" in text
    assert len(document.inline_shapes) == 1  # the good screenshot is still there
    assert ReportStep.objects.get(report=report, key="assemble_document").detail["image_problems"] == ["gone.png"]


def test_the_report_embeds_the_stored_report_image_and_makes_a_missing_one_once(
    incident, member, django_capture_on_commit_callbacks
):
    (old,) = RoomFile.objects.filter(room=incident)  # uploaded before report images existed: none yet
    ready = factories.png_bytes(300, 100)
    new = factories.add_image(incident, member, name="ready.png", data=factories.png_bytes(1600, 900))
    new.report_image.save("ready.report.png", ContentFile(ready))
    report = generate(incident, member, django_capture_on_commit_callbacks)
    assert report.status == ReportStatus.COMPLETED, report.error_detail
    blobs = [r.target_part.blob for r in read_docx(report).part.rels.values() if r.reltype.endswith("/image")]
    assert ready in blobs and len(blobs) == 2  # embedded as it was stored, not decoded again
    old.refresh_from_db()
    with old.report_image.open("rb") as handle:
        assert handle.read() in blobs  # made by the assemble stage, kept for the next report


def test_a_long_timeline_is_condensed_and_the_recent_part_kept_verbatim(settings, room, commander, member):
    start = room.created_at
    factories.add_messages(room, commander, 150, start=start, body="早期訊息 {i}")
    Message.objects.create(room=room, kind=MessageKind.SYSTEM, body="severity changed to SEV1",
                           created_at=start + timedelta(minutes=30, seconds=30))
    factories.add_messages(room, member, 60, start=start + timedelta(hours=8), body="近期訊息 {i}")
    snapshot = collect_room(room, max_messages=50)
    assert snapshot.total_messages == 211
    assert len(snapshot.messages) == 50
    assert snapshot.messages[-1].body == "近期訊息 59"
    older = snapshot.condensed
    assert older.message_count == 161
    assert dict(older.by_sender)["陳指揮 Commander Chen"] == 150
    assert [e.body for e in older.events] == ["severity changed to SEV1"]
    assert older.quiet_stretches and older.quiet_stretches[0].end - older.quiet_stretches[0].start > timedelta(hours=5)


def test_snapshot_has_members_with_roles_and_files(incident):
    snapshot = collect_room(incident, max_messages=200)
    assert {(m.name, m.role_label) for m in snapshot.members} == {
        ("陳指揮 Commander Chen", "指揮官"), ("王小明 Member Wang", "處理人員")}
    assert snapshot.messages[0].sender == "陳指揮 Commander Chen"
    assert [(f.name, f.is_image) for f in snapshot.files] == [("db-dashboard.png", True)]
    assert snapshot.files[0].size == RoomFile.objects.get(room=incident).size


def test_auth_rejection_fails_the_report_after_exactly_one_ai_request(
    incident, commander, dify, published, django_capture_on_commit_callbacks
):
    dify.script = [Reply(status=401, error_code="unauthorized", error_message="Access token is invalid")]
    report = generate(incident, commander, django_capture_on_commit_callbacks)
    assert report.status == ReportStatus.FAILED
    assert report.error_message == "AI 服務拒絕了存取憑證，請通知管理員檢查 AI 設定。"
    assert "401" in report.error_detail and "401" not in report.error_message
    assert len(dify.requests) == 1
    assert ReportStep.objects.get(report=report, key="generate_content.ai").status == StepStatus.FAILED


def test_three_server_errors_fall_back_to_the_offline_writer(
    incident, commander, dify, django_capture_on_commit_callbacks
):
    dify.script = [Reply(status=500), Reply(status=500), Reply(status=500)]
    report = generate(incident, commander, django_capture_on_commit_callbacks)
    assert report.status == ReportStatus.COMPLETED
    assert report.provider == "offline-fallback"
    assert "嘗試 3 次後仍失敗" in report.fallback_reason
    assert len(dify.requests) == 3
    assert "改用離線撰寫" in all_text(read_docx(report))


def test_dify_writes_the_report_and_tokens_are_recorded(incident, commander, dify, django_capture_on_commit_callbacks):
    dify.script = [Reply(status=429), Reply(status=200)]
    report = generate(incident, commander, django_capture_on_commit_callbacks)
    assert report.status == ReportStatus.COMPLETED
    assert report.provider == "dify"
    assert (report.prompt_tokens, report.completion_tokens) == (321, 123)
    assert report.llm_message_id
    assert "AI 摘要" in all_text(read_docx(report))
    assert dify.requests[-1].headers["Authorization"] == "Bearer app-test-key"


def test_invalid_json_is_repaired_once(incident, commander, dify, django_capture_on_commit_callbacks):
    dify.script = [Reply(answer="抱歉，我無法輸出 JSON。"), Reply()]
    report = generate(incident, commander, django_capture_on_commit_callbacks)
    assert report.provider == "dify"
    assert set(report.content["sources"].values()) == {"dify"}
    assert len(dify.requests) == 2
    assert ReportStep.objects.get(report=report, key="generate_content.repair").status == StepStatus.COMPLETED


def test_sections_still_missing_after_repair_are_written_offline_and_marked(
    incident, commander, dify, django_capture_on_commit_callbacks
):
    partial = '```json\n{"summary": "只有摘要", "timeline": []}\n```'
    dify.script = [Reply(answer=partial), Reply(answer="still not json")]
    report = generate(incident, commander, django_capture_on_commit_callbacks)
    assert report.status == ReportStatus.COMPLETED
    assert report.content["sections"]["summary"] == "只有摘要"
    assert report.content["sources"]["summary"] == "dify"
    assert report.content["sources"]["timeline"] == "offline"
    assert "離線撰寫器" in all_text(read_docx(report))


def test_parallel_sections_isolate_a_failed_section(settings, incident, commander, dify,
                                                    django_capture_on_commit_callbacks):
    settings.REPORT_SECTION_MODE = "parallel"
    # Eager section tasks run in order: the first (summary) gets three 500s.
    dify.script = [Reply(status=500), Reply(status=500), Reply(status=500)]
    report = generate(incident, commander, django_capture_on_commit_callbacks)
    assert report.status == ReportStatus.COMPLETED, report.error_detail
    assert report.content["sources"]["summary"] == "error"
    assert "summary" in report.content["notes"]
    assert all(report.content["sources"][k] == "dify" for k in SECTION_KEYS[1:])
    assert ReportStep.objects.get(report=report, key="generate_content.section.summary").status == StepStatus.FAILED
    text = all_text(read_docx(report))
    assert "本節撰寫失敗" in text and "AI 處理過程" in text


def test_an_unexpected_error_marks_the_report_failed_with_the_detail_for_operators(
    incident, commander, monkeypatch, django_capture_on_commit_callbacks
):
    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("reports.pipeline.stages.build_docx", explode)
    report = generate(incident, commander, django_capture_on_commit_callbacks)
    assert report.status == ReportStatus.FAILED
    assert "disk on fire" in report.error_detail and "disk on fire" not in report.error_message
    assert not ReportStep.objects.filter(report=report, status=StepStatus.RUNNING).exists()


def test_reaper_requeues_a_stuck_report_and_fails_it_after_the_last_try(
    settings, incident, commander, django_capture_on_commit_callbacks
):
    from reports.services import report_create

    report, _ = report_create(room=incident, requested_by=commander)
    stages.collect_data(report.id)
    long_ago = timezone.now() - timedelta(seconds=settings.REPORT_STUCK_AFTER_SECONDS + 5)
    # The worker died in generate_content.
    Report.objects.filter(id=report.id).update(status=ReportStatus.GENERATING_CONTENT, stage_started_at=long_ago)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.reap_stuck_reports() == {"requeued": 1, "failed": 0}
    report.refresh_from_db()
    assert report.status == ReportStatus.COMPLETED
    assert report.attempts == 1

    stuck, _ = report_create(room=incident, requested_by=commander)
    Report.objects.filter(id=stuck.id).update(status=ReportStatus.COLLECTING_DATA, stage_started_at=long_ago,
                                              attempts=lifecycle.MAX_REQUEUES)
    assert tasks.reap_stuck_reports() == {"requeued": 0, "failed": 1}
    stuck.refresh_from_db()
    assert stuck.status == ReportStatus.FAILED and stuck.error_message == "報告產生逾時而被中止，請重新產生。"
    # A fresh report is left alone.
    fresh, _ = report_create(room=incident, requested_by=commander)
    assert tasks.reap_stuck_reports() == {"requeued": 0, "failed": 0}


def test_generate_report_command_writes_the_file(incident, capsys):
    from django.core.management import call_command

    call_command("generate_report", str(incident.id), "--language", "en")
    out = capsys.readouterr().out
    report = Report.objects.get(room=incident)
    assert report.status == ReportStatus.COMPLETED and report.language == "en"
    assert report.document.storage.path(report.document.name) in out
    assert "100%" in out
    assert headings(read_docx(report))[:6] == EN_TITLES
