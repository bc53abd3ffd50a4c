"""The four stages of a room report (and the parallel section writer), each a plain function of a report id.

Each stage claims its transition (``state.claim_stage``), writes one step row
keyed by the stage, reports progress, and commits its output together with
the step's completion, so that running it again changes nothing. Stages know
nothing of Celery: ``reports/pipeline/workflow.py`` runs them in order.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config import metrics
from reports import events, evidence, indexing, ledger
from reports.lifecycle import ReportFailure
from reports.llm import LLMAuthError, LLMBadRequest, LLMError, configured_provider
from reports.models import (
    Report,
    ReportStatus,
    ReportStep,
    ReportVersion,
    StepStatus,
    VersionSource,
    report_document_path,
)
from reports.pipeline import state
from reports.pipeline.assemble import document_model, font_settings, report_title, staging_name
from reports.pipeline.collect import collect_room
from reports.snapshot import EmptyRoom, RoomSnapshot
from reports.pipeline.content import WriteOutcome, write_sections
from reports.pipeline.docx_builder import build_docx
from reports.pipeline.state import ASSEMBLE, COLLECT, CONTENT, PUBLISH, STAGES, StageSkipped, step_finish, step_start
from reports.prompts import normalize_language, sections_for

logger = logging.getLogger(__name__)

EMPTY_ROOM = _("The room has no messages, so there is nothing to report.")
NO_ROOM = _("This report has no room to report on.")
AI_REJECTED_KEY = _("The AI service rejected the credentials. Ask an operator to check the AI settings.")
AI_REFUSED = _("The AI service refused the request; tell an operator.")
WRITER_NAMES = {"offline": _("offline writer"), "dify": "DIFY", "openai": "AI"}
WRITING_WITH = _("%(stage)s (%(writer)s)")
SECTION_PREFIX = f"{CONTENT}.section."


def _snapshot_of(report: Report) -> dict:
    return ReportStep.objects.get(report=report, key=COLLECT).detail["snapshot"]


def _section_key(key: str) -> str:
    return f"{SECTION_PREFIX}{key}"


def _seconds_since(started: float) -> float:
    return round(time.monotonic() - started, 3)


# --- 1. collect_data ------------------------------------------------------------------------


def collect_data(report_id) -> None:
    stage = STAGES[COLLECT]
    report = state.claim_stage(report_id, stage)
    language = normalize_language(report.language)
    step = step_start(report, stage.key, label=state.label(report, stage.label))
    state.progress(report, step=stage.label, percent=stage.percent_start)
    if report.room is None:
        raise ReportFailure(NO_ROOM)
    started = time.monotonic()
    try:
        snapshot = collect_room(report.room, max_messages=settings.REPORT_MAX_MESSAGES, language=language)
    except EmptyRoom as exc:
        raise ReportFailure(EMPTY_ROOM, detail=str(exc)) from exc
    with transaction.atomic():
        report.title = report_title(kind=report.kind, room_title=report.room.title, language=language)[:300]
        Report.objects.filter(id=report.id).update(title=report.title)
        step_finish(step, snapshot=snapshot.to_dict(), seconds=_seconds_since(started),
                    messages=snapshot.total_messages, verbatim=len(snapshot.messages),
                    condensed=snapshot.condensed.message_count if snapshot.condensed else 0,
                    members=len(snapshot.members), files=len(snapshot.files))
        state.progress(report, step=stage.label, percent=stage.percent_done)


# --- 2. generate_content --------------------------------------------------------------------


def _record_calls(report: Report, parent: ReportStep, outcome: WriteOutcome, *, prefix: str) -> None:
    for suffix, detail, ok in outcome.calls:
        step = step_start(report, f"{prefix}.{suffix}", label=f"{prefix} {suffix}", parent=parent)
        step_finish(step, status=StepStatus.COMPLETED if ok else StepStatus.FAILED, **detail)


def _refused(error: LLMError) -> ReportFailure:
    """Bad credentials or a refused request: no retry or fallback helps, so the report fails."""
    message = AI_REJECTED_KEY if isinstance(error, LLMAuthError) else AI_REFUSED
    return ReportFailure(message, detail=f"{type(error).__name__}: {error}")


def _start_content(report_id) -> tuple[Report, ReportStep]:
    stage = STAGES[CONTENT]
    report = state.claim_stage(report_id, stage)
    parent = step_start(report, stage.key, label=state.label(report, stage.label))
    writer = WRITER_NAMES.get(configured_provider(), configured_provider())
    state.progress(report, step=state.label(report, WRITING_WITH) % {
        "stage": state.label(report, stage.label), "writer": state.label(report, writer)},
        percent=stage.percent_start)
    return report, parent


def generate_content(report_id, *, deadline: float | None = None) -> None:
    """Write every section of the report's kind in one request to the writer (single mode)."""
    stage = STAGES[CONTENT]
    report, parent = _start_content(report_id)
    language = normalize_language(report.language)
    sections = sections_for(report.kind)
    started = time.monotonic()
    try:
        outcome = write_sections(_snapshot_of(report), language, kind=report.kind, report_id=report.id,
                                 provider=configured_provider(), deadline=deadline)
    except (LLMAuthError, LLMBadRequest) as exc:
        _record_calls(report, parent, getattr(exc, "outcome", WriteOutcome()), prefix=stage.key)
        raise _refused(exc) from exc
    _record_calls(report, parent, outcome, prefix=stage.key)
    with transaction.atomic():
        for done, key in enumerate(sections.keys, start=1):
            section = step_start(report, _section_key(key), label=sections.title(key, language), parent=parent)
            step_finish(section, source=outcome.sources.get(key, ""))
            state.progress_through(report, stage, step=sections.title(key, language), done=done,
                                   total=len(sections.keys))
        _save_content(report, outcome, seconds=_seconds_since(started))
        step_finish(parent, provider=outcome.provider, fallback_reason=outcome.fallback_reason)
        state.progress(report, step=stage.label, percent=stage.percent_done)


def _save_content(report: Report, outcome: WriteOutcome, *, seconds: float) -> None:
    """The sections (only citations of the room's own messages kept) and the AI ledger of the writing."""
    kind = sections_for(report.kind)
    known = evidence.citable(RoomSnapshot.from_dict(_snapshot_of(report)))
    outcome.sections = evidence.keep_known(outcome.sections, known, kind.list_fields)
    fields = {
        "content": state.json_safe(outcome.content()), "provider": outcome.provider[:20],
        "fallback_reason": outcome.fallback_reason, "llm_message_id": outcome.message_id[:200],
        "llm_conversation_id": outcome.conversation_id[:200], "prompt_tokens": outcome.prompt_tokens,
        "completion_tokens": outcome.completion_tokens,
        "ledger": ledger.entry(
            provider=outcome.provider, model=outcome.model, prompt_version=kind.prompt_version(report.language),
            prompt_tokens=outcome.prompt_tokens, completion_tokens=outcome.completion_tokens, seconds=seconds,
            price=outcome.price, currency=outcome.currency,
        ),
    }
    Report.objects.filter(id=report.id).update(**fields)
    for name, value in fields.items():
        setattr(report, name, value)


def start_sections(report_id) -> list[str]:
    """Parallel mode: claim the content stage and name the sections still to write (one task each)."""
    report, _parent = _start_content(report_id)
    keys = sections_for(report.kind).keys
    finished = set(ReportStep.objects.filter(
        report=report, key__in=[_section_key(k) for k in keys], status__in=[StepStatus.COMPLETED, StepStatus.FAILED],
    ).values_list("key", flat=True))
    return [key for key in keys if _section_key(key) not in finished]


def write_section(report_id, key: str, *, deadline: float | None = None) -> None:
    """Write one section (parallel mode). An AI failure becomes a note in that section; bad credentials fail the report."""
    report = Report.objects.filter(id=report_id, status=ReportStatus.GENERATING_CONTENT).first()
    if report is None:
        raise StageSkipped(f"report {report_id} is not writing content")
    language = normalize_language(report.language)
    sections = sections_for(report.kind)
    existing = ReportStep.objects.filter(report=report, key=_section_key(key)).first()
    if existing and existing.status in (StepStatus.COMPLETED, StepStatus.FAILED):
        return
    parent = ReportStep.objects.get(report=report, key=CONTENT)
    step = step_start(report, _section_key(key), label=sections.title(key, language), parent=parent)
    started = time.monotonic()
    try:
        outcome = write_sections(_snapshot_of(report), language, keys=[key], kind=report.kind, report_id=report.id,
                                 provider=configured_provider(), deadline=deadline, fallback=False)
    except (LLMAuthError, LLMBadRequest) as exc:
        _record_calls(report, step, getattr(exc, "outcome", WriteOutcome()), prefix=_section_key(key))
        step_finish(step, status=StepStatus.FAILED, error=str(exc))
        raise _refused(exc) from exc
    except LLMError as exc:
        # The AI kept failing for this section only: the section says so, the others stand.
        _record_calls(report, step, getattr(exc, "outcome", WriteOutcome()), prefix=_section_key(key))
        step_finish(step, status=StepStatus.FAILED, error=f"{type(exc).__name__}: {exc}", note=state.label(report, exc.user_message),
                    seconds=_seconds_since(started))
        logger.warning("Section %s of report %s failed: %r", key, report_id, exc)
    else:
        _record_calls(report, step, outcome, prefix=_section_key(key))
        step_finish(step, content=outcome.sections[key], source=outcome.sources[key], provider=outcome.provider,
                    prompt_tokens=outcome.prompt_tokens, completion_tokens=outcome.completion_tokens,
                    message_id=outcome.message_id, conversation_id=outcome.conversation_id,
                    model=outcome.model, price=outcome.price, currency=outcome.currency,
                    seconds=_seconds_since(started))
    done = ReportStep.objects.filter(report=report, key__startswith=SECTION_PREFIX,
                                     status__in=[StepStatus.COMPLETED, StepStatus.FAILED]).count()
    state.progress_through(report, STAGES[CONTENT], step=sections.title(key, language), done=done,
                           total=len(sections.keys))


def finish_sections(report_id) -> bool:
    """The fan-in: when every section step has finished, merge them and complete the stage (exactly once)."""
    keys = sections_for(Report.objects.values_list("kind", flat=True).get(id=report_id)).keys
    with transaction.atomic():
        steps = {s.key.removeprefix(SECTION_PREFIX): s
                 for s in ReportStep.objects.filter(report_id=report_id, key__in=[_section_key(k) for k in keys])}
        if any(k not in steps or steps[k].status not in (StepStatus.COMPLETED, StepStatus.FAILED) for k in keys):
            return False
        # No join in the claim: Django would update through "id IN (subquery)", which PostgreSQL
        # does not re-check after a concurrent claim commits, so two sections finishing together
        # both claimed the stage and sent assemble_document twice.
        if not Report.objects.filter(id=report_id, status=ReportStatus.GENERATING_CONTENT).exists():
            return False
        if not ReportStep.objects.filter(report_id=report_id, key=CONTENT, status=StepStatus.RUNNING).update(
            status=StepStatus.COMPLETED, finished_at=timezone.now(),
        ):
            return False
        report = Report.objects.get(id=report_id)
        # The sections were written side by side: the slowest one is how long the writing took.
        seconds = max(float((steps[k].detail or {}).get("seconds") or 0) for k in keys)
        _save_content(report, _merged(keys, steps), seconds=seconds)
        state.progress(report, step=STAGES[CONTENT].label, percent=STAGES[CONTENT].percent_done)
    return True


def _merged(keys: list[str], steps: dict[str, ReportStep]) -> WriteOutcome:
    """The sections written apart, as one outcome (a failed section keeps its note)."""
    outcome = WriteOutcome()
    outcome.provider = configured_provider()
    for key in keys:
        detail = steps[key].detail or {}
        if steps[key].status == StepStatus.COMPLETED:
            outcome.sections[key] = detail["content"]
            outcome.sources[key] = detail.get("source", "")
        else:
            outcome.notes[key] = detail.get("note") or detail.get("error", "")
            outcome.sources[key] = "error"
        outcome.prompt_tokens += int(detail.get("prompt_tokens") or 0)
        outcome.completion_tokens += int(detail.get("completion_tokens") or 0)
        outcome.message_id = detail.get("message_id") or outcome.message_id
        outcome.conversation_id = detail.get("conversation_id") or outcome.conversation_id
        outcome.model = detail.get("model") or outcome.model
        if detail.get("price") is not None:
            outcome.price = (outcome.price or 0.0) + float(detail["price"])
            outcome.currency = detail.get("currency") or outcome.currency
    failed = [k for k in keys if k in outcome.notes]
    if failed:
        outcome.fallback_reason = f"{len(failed)} section(s) could not be written: {', '.join(failed)}"
    return outcome


# --- 3. assemble_document -------------------------------------------------------------------


def assemble_document(report_id) -> None:
    stage = STAGES[ASSEMBLE]
    report = state.claim_stage(report_id, stage)
    step = step_start(report, stage.key, label=state.label(report, stage.label))
    state.progress(report, step=stage.label, percent=stage.percent_start)
    started = time.monotonic()
    model = document_model(report, RoomSnapshot.from_dict(_snapshot_of(report)))
    data = build_docx(model, **font_settings())
    name = staging_name(report)
    if default_storage.exists(name):
        default_storage.delete(name)
    saved = default_storage.save(name, ContentFile(data))
    with transaction.atomic():
        step_finish(step, staging=saved, size=len(data), images=len(model.images),
                    image_problems=[i.name for i in model.images if i.data is None],
                    seconds=_seconds_since(started))
        state.progress(report, step=stage.label, percent=stage.percent_done)


# --- 4. publish -------------------------------------------------------------------------------


def publish(report_id) -> None:
    stage = STAGES[PUBLISH]
    report = state.claim_stage(report_id, stage)
    step = step_start(report, stage.key, label=state.label(report, stage.label))
    state.progress(report, step=stage.label, percent=stage.percent_start)
    staging = ReportStep.objects.get(report=report, key=ASSEMBLE).detail["staging"]
    with default_storage.open(staging, "rb") as handle:
        data = handle.read()
    final = report_document_path(report, f"{report.id}.docx")
    if default_storage.exists(final):
        default_storage.delete(final)
    saved = default_storage.save(final, ContentFile(data))
    if saved != final:
        raise RuntimeError(f"the storage saved the report as {saved!r} instead of {final!r}")
    with transaction.atomic():
        if not Report.objects.filter(id=report.id, status=ReportStatus.ASSEMBLING_DOCUMENT).update(
            status=ReportStatus.COMPLETED, document=saved, document_size=len(data), completed_at=timezone.now(),
            percent=stage.percent_done, step="", error_message="", error_detail="",
        ):
            raise StageSkipped(f"report {report_id} was completed or ended elsewhere")
        step_finish(step, document=saved, size=len(data))
        # Version 1 is what the pipeline wrote; people's edits and rewritten sections follow it.
        ReportVersion.objects.get_or_create(report=report, number=1, defaults={
            "source": VersionSource.AI, "content": report.content, "author": report.requested_by,
            "document": saved, "document_size": len(data), "ledger": report.ledger,
        })
        Report.objects.filter(id=report.id).update(version=1)
        report.status, report.percent, report.version = ReportStatus.COMPLETED, stage.percent_done, 1
        events.emit(report, events.report_completed(report))
        transaction.on_commit(lambda: metrics.report_finished(kind=report.kind, status=ReportStatus.COMPLETED))
    try:
        default_storage.delete(staging)
    except Exception:  # noqa: BLE001 - a leftover staging file is harmless; the report is published
        logger.warning("Could not delete the staging file %s", staging)
    # Last, after the staging file is gone: the knowledge base indexes the finished report.
    indexing.index_on_commit(report)
