"""The four stages (and the parallel section writer), each a plain function of a report id.

Each stage claims its transition (``state.claim_stage``), writes one step row
keyed by the stage, reports progress, and commits its output together with
the step's completion, so that running it again changes nothing.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from reports.llm import LLMAuthError, LLMBadRequest, LLMError, configured_provider
from reports.models import Report, ReportStatus, ReportStep, StepStatus, report_document_path
from reports.pipeline import state
from reports.pipeline.assemble import document_model, font_settings, report_title, staging_name
from reports.pipeline.collect import EmptyRoom, RoomSnapshot, collect_room
from reports.pipeline.content import WriteOutcome, write_sections
from reports.pipeline.docx_builder import build_docx
from reports.pipeline.state import STAGES, ReportFailure, StageSkipped, progress, step_finish, step_start
from reports.prompts import normalize_language, sections_for

logger = logging.getLogger(__name__)

MESSAGES = {
    "empty_room": ("事件室沒有任何訊息，無法產生報告。", "The room has no messages, so there is nothing to report."),
    "no_room": ("這份報告沒有對應的事件室。", "This report has no room to report on."),
    "auth": ("AI 服務拒絕了存取憑證，請通知管理員檢查 AI 設定。The AI service rejected the credentials.",
             "The AI service rejected the credentials. Ask an operator to check the AI settings."),
    "bad_request": ("AI 服務拒絕了這次請求，請通知管理員。", "The AI service refused the request; tell an operator."),
}


def message(key: str, language: str) -> str:
    zh, en = MESSAGES[key]
    return en if normalize_language(language) == "en" else zh


def _snapshot_of(report: Report) -> dict:
    return ReportStep.objects.get(report=report, key="collect_data").detail["snapshot"]


def _writer_label(provider: str, language: str) -> str:
    names = {"offline": ("離線撰寫", "offline writer"), "dify": ("DIFY", "DIFY"), "openai": ("AI", "AI")}
    zh, en = names.get(provider, (provider, provider))
    return en if language == "en" else zh


# --- 1. collect_data ------------------------------------------------------------


def collect_data(report_id) -> None:
    stage = STAGES["collect_data"]
    report = state.claim_stage(report_id, stage)
    language = normalize_language(report.language)
    step = step_start(report, stage.key, label=stage.label(language))
    progress(report, step=stage.label(language), percent=stage.percent_start)
    if report.room is None:
        raise ReportFailure(message("no_room", language))
    started = time.monotonic()
    try:
        snapshot = collect_room(report.room, max_messages=settings.REPORT_MAX_MESSAGES, language=language)
    except EmptyRoom as exc:
        raise ReportFailure(message("empty_room", language), detail=str(exc)) from exc
    with transaction.atomic():
        report.title = report_title(kind=report.kind, room_title=report.room.title, language=language)[:300]
        Report.objects.filter(id=report.id).update(title=report.title)
        step_finish(step, snapshot=snapshot.to_dict(), seconds=round(time.monotonic() - started, 3),
                    messages=snapshot.total_messages, verbatim=len(snapshot.messages),
                    condensed=snapshot.condensed.message_count if snapshot.condensed else 0,
                    members=len(snapshot.members), files=len(snapshot.files))
        progress(report, step=stage.label(language), percent=20)


# --- 2. generate_content ----------------------------------------------------------


def _record_calls(report: Report, parent: ReportStep, outcome: WriteOutcome, *, prefix: str) -> None:
    for suffix, detail, ok in outcome.calls:
        step = step_start(report, f"{prefix}.{suffix}", label=f"{prefix} {suffix}", parent=parent)
        step_finish(step, status=StepStatus.COMPLETED if ok else StepStatus.FAILED, **detail)


def _fail_for(error: LLMError, language: str) -> ReportFailure:
    key = "auth" if isinstance(error, LLMAuthError) else "bad_request"
    return ReportFailure(message(key, language), detail=f"{type(error).__name__}: {error}")


def generate_content(report_id, *, deadline: float | None = None, inline: bool = False) -> bool:
    """Write the sections. Returns False when parallel section tasks were sent and will finish the stage."""
    stage = STAGES["generate_content"]
    report = state.claim_stage(report_id, stage)
    language = normalize_language(report.language)
    provider = configured_provider()
    parent = step_start(report, stage.key, label=stage.label(language))
    progress(report, step=f"{stage.label(language)}（{_writer_label(provider, language)}）"
             if language != "en" else f"{stage.label(language)} ({_writer_label(provider, language)})",
             percent=stage.percent_start)
    snapshot = _snapshot_of(report)
    if settings.REPORT_SECTION_MODE == "parallel":
        return _dispatch_sections(report, inline=inline, deadline=deadline)
    sections = sections_for(report.kind)
    try:
        outcome = write_sections(snapshot, language, kind=report.kind, report_id=report.id, provider=provider,
                                 deadline=deadline)
    except (LLMAuthError, LLMBadRequest) as exc:
        _record_calls(report, parent, getattr(exc, "outcome", WriteOutcome()), prefix=stage.key)
        raise _fail_for(exc, language) from exc
    _record_calls(report, parent, outcome, prefix=stage.key)
    with transaction.atomic():
        for index, key in enumerate(sections.keys, start=1):
            section = step_start(report, f"{stage.key}.section.{key}", label=sections.title(key, language),
                                 parent=parent)
            step_finish(section, source=outcome.sources.get(key, ""))
            progress(report, step=sections.title(key, language), percent=25 + index * 7)
        _save_content(report, outcome.content(), provider=outcome.provider, fallback_reason=outcome.fallback_reason,
                      outcome=outcome)
        step_finish(parent, provider=outcome.provider, fallback_reason=outcome.fallback_reason)
        progress(report, step=stage.label(language), percent=70)
    return True


def _save_content(report: Report, content: dict, *, provider: str, fallback_reason: str, outcome=None) -> None:
    fields = {"content": state.json_safe(content), "provider": provider[:20], "fallback_reason": fallback_reason}
    if outcome is not None:
        fields.update(llm_message_id=outcome.message_id[:200], llm_conversation_id=outcome.conversation_id[:200],
                      prompt_tokens=outcome.prompt_tokens, completion_tokens=outcome.completion_tokens)
    Report.objects.filter(id=report.id).update(**fields)
    for name, value in fields.items():
        setattr(report, name, value)


def _section_key(key: str) -> str:
    return f"generate_content.section.{key}"


def _dispatch_sections(report: Report, *, inline: bool, deadline: float | None) -> bool:
    keys = sections_for(report.kind).keys
    finished = set(
        ReportStep.objects.filter(report=report, key__in=[_section_key(k) for k in keys],
                                  status__in=[StepStatus.COMPLETED, StepStatus.FAILED]).values_list("key", flat=True)
    )
    todo = [k for k in keys if _section_key(k) not in finished]
    if inline:
        for key in todo:
            write_section(report.id, key, deadline=deadline)
        return finish_sections(report.id)
    if not todo:
        return finish_sections(report.id)
    from reports.pipeline.chain import section_group

    transaction.on_commit(lambda: section_group(report.id, todo).apply_async())
    return False


def write_section(report_id, key: str, *, deadline: float | None = None) -> None:
    """Write one section (parallel mode). A failure becomes a note in that section; bad credentials fail the report."""
    report = Report.objects.filter(id=report_id, status=ReportStatus.GENERATING_CONTENT).first()
    if report is None:
        raise StageSkipped(f"report {report_id} is not writing content")
    language = normalize_language(report.language)
    sections = sections_for(report.kind)
    parent = ReportStep.objects.get(report=report, key="generate_content")
    existing = ReportStep.objects.filter(report=report, key=_section_key(key)).first()
    if existing and existing.status in (StepStatus.COMPLETED, StepStatus.FAILED):
        return
    step = step_start(report, _section_key(key), label=sections.title(key, language), parent=parent)
    provider = configured_provider()
    started = time.monotonic()
    try:
        outcome = write_sections(_snapshot_of(report), language, keys=[key], kind=report.kind, report_id=report.id,
                                 provider=provider, deadline=deadline, fallback=False)
    except (LLMAuthError, LLMBadRequest) as exc:
        _record_calls(report, step, getattr(exc, "outcome", WriteOutcome()), prefix=_section_key(key))
        step_finish(step, status=StepStatus.FAILED, error=str(exc))
        raise _fail_for(exc, language) from exc
    except Exception as exc:  # noqa: BLE001 - one section's failure stays in that section
        outcome = getattr(exc, "outcome", None)
        if outcome is not None:
            _record_calls(report, step, outcome, prefix=_section_key(key))
        user_error = getattr(exc, "user_message", "") or "unexpected error"
        step_finish(step, status=StepStatus.FAILED, error=f"{type(exc).__name__}: {exc}", note=user_error,
                    seconds=round(time.monotonic() - started, 3))
        logger.warning("Section %s of report %s failed: %r", key, report_id, exc)
    else:
        _record_calls(report, step, outcome, prefix=_section_key(key))
        step_finish(step, content=outcome.sections[key], source=outcome.sources[key], provider=outcome.provider,
                    prompt_tokens=outcome.prompt_tokens, completion_tokens=outcome.completion_tokens,
                    message_id=outcome.message_id, conversation_id=outcome.conversation_id,
                    seconds=round(time.monotonic() - started, 3))
    done = ReportStep.objects.filter(report=report, key__startswith="generate_content.section.",
                                     status__in=[StepStatus.COMPLETED, StepStatus.FAILED]).count()
    progress(report, step=sections.title(key, language), percent=25 + round(45 * done / len(sections.keys)))


def finish_sections(report_id) -> bool:
    """The fan-in: when every section step has finished, merge them and complete the stage (exactly once)."""
    keys = sections_for(Report.objects.values_list("kind", flat=True).get(id=report_id)).keys
    with transaction.atomic():
        steps = {
            s.key.rsplit(".", 1)[-1]: s
            for s in ReportStep.objects.filter(report_id=report_id, key__in=[_section_key(k) for k in keys])
        }
        if any(k not in steps or steps[k].status not in (StepStatus.COMPLETED, StepStatus.FAILED)
               for k in keys):
            return False
        # No join in the claim: Django would update through "id IN (subquery)", which PostgreSQL
        # does not re-check after a concurrent claim commits, so two sections finishing together
        # both claimed the stage and sent assemble_document twice.
        if not Report.objects.filter(id=report_id, status=ReportStatus.GENERATING_CONTENT).exists():
            return False
        claimed = ReportStep.objects.filter(
            report_id=report_id, key="generate_content", status=StepStatus.RUNNING,
        ).update(status=StepStatus.COMPLETED, finished_at=timezone.now())
        if not claimed:
            return False
        report = Report.objects.get(id=report_id)
        sections, sources, notes = {}, {}, {}
        outcome = WriteOutcome()
        for key in keys:
            detail = steps[key].detail or {}
            if steps[key].status == StepStatus.COMPLETED:
                sections[key] = detail["content"]
                sources[key] = detail.get("source", "")
            else:
                notes[key] = detail.get("note") or "unexpected error"
                sources[key] = "error"
            outcome.prompt_tokens += int(detail.get("prompt_tokens") or 0)
            outcome.completion_tokens += int(detail.get("completion_tokens") or 0)
            outcome.message_id = detail.get("message_id") or outcome.message_id
            outcome.conversation_id = detail.get("conversation_id") or outcome.conversation_id
        failed = [k for k in keys if k in notes]
        reason = f"{len(failed)} section(s) could not be written: {', '.join(failed)}" if failed else ""
        _save_content(report, {"sections": sections, "sources": sources, "notes": notes},
                      provider=configured_provider(), fallback_reason=reason, outcome=outcome)
        language = normalize_language(report.language)
        progress(report, step=STAGES["generate_content"].label(language), percent=70)
    return True


# --- 3. assemble_document ----------------------------------------------------------


def assemble_document(report_id) -> None:
    stage = STAGES["assemble_document"]
    report = state.claim_stage(report_id, stage)
    language = normalize_language(report.language)
    step = step_start(report, stage.key, label=stage.label(language))
    progress(report, step=stage.label(language), percent=stage.percent_start)
    started = time.monotonic()
    snapshot = RoomSnapshot.from_dict(_snapshot_of(report))
    model = document_model(report, snapshot)
    progress(report, step=stage.label(language), percent=82)
    data = build_docx(model, **font_settings())
    name = staging_name(report)
    if default_storage.exists(name):
        default_storage.delete(name)
    saved = default_storage.save(name, ContentFile(data))
    with transaction.atomic():
        step_finish(step, staging=saved, size=len(data), images=len(model.images),
                    image_problems=[i.name for i in model.images if i.data is None],
                    seconds=round(time.monotonic() - started, 3))
        progress(report, step=stage.label(language), percent=90)


# --- 4. publish ---------------------------------------------------------------------


def download_path(report: Report) -> str:
    return reverse("reports-api:report-download", kwargs={"room_id": report.room_id, "report_id": report.id})


def publish(report_id) -> None:
    stage = STAGES["publish"]
    report = state.claim_stage(report_id, stage)
    language = normalize_language(report.language)
    step = step_start(report, stage.key, label=stage.label(language))
    progress(report, step=stage.label(language), percent=stage.percent_start)
    staging = ReportStep.objects.get(report=report, key="assemble_document").detail["staging"]
    with default_storage.open(staging, "rb") as handle:
        data = handle.read()
    final = report_document_path(report, f"{report.id}.docx")
    if default_storage.exists(final):
        default_storage.delete(final)
    saved = default_storage.save(final, ContentFile(data))
    if saved != final:
        raise RuntimeError(f"the storage saved the report as {saved!r} instead of {final!r}")
    now = timezone.now()
    with transaction.atomic():
        updated = Report.objects.filter(id=report.id, status=ReportStatus.ASSEMBLING_DOCUMENT).update(
            status=ReportStatus.COMPLETED, document=saved, document_size=len(data), completed_at=now, percent=100,
            step="", error_message="", error_detail="",
        )
        if not updated:
            raise StageSkipped(f"report {report_id} was completed or ended elsewhere")
        step_finish(step, document=saved, size=len(data))
        report.status, report.percent = ReportStatus.COMPLETED, 100
        state.announce(report, "report.completed", {
            "report_id": str(report.id), "status": report.status, "percent": 100,
            "download_url": download_path(report), "provider": report.provider,
        })
    try:
        default_storage.delete(staging)
    except Exception:  # noqa: BLE001 - a leftover staging file is harmless
        logger.warning("Could not delete the staging file %s", staging)
