"""Writing a version of the ticket notes: start it, claim it, stream it, save it.

Resolving never waits on AI: the room flips at once and ``room_resolved``
starts a notes report (``kind=notes``) after commit. The task streams the
writer's answer as ``notes.delta`` events; if streaming fails it asks once more
without streaming, and if that fails too the offline writer writes the notes
from the room data. Every version is kept; Regenerate makes a new one.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as BrokerError

from config import metrics
from reports import events, evidence, ledger, lifecycle
from reports.llm import LLMError, LLMRequest, LLMResult, configured_provider, get_client
from reports.models import Report, ReportKind, ReportStatus, ReportStep, StepStatus
from reports.notes.prompt import PROBLEM, SYSTEM_PROMPT, next_steps, prompt_version
from reports.notes.streamer import Streamer
from reports.notes.writer import offline_notes
from reports.pipeline.collect import collect_room
from reports.snapshot import EmptyRoom
from reports.prompts import format_room, normalize_language
from reports.services import report_create

logger = logging.getLogger(__name__)

# What the operator's step view keeps of the prompt and the raw answer.
KEPT_CHARS = 20000


def notes_request(*, room, requested_by, language=None) -> tuple[Report, bool]:
    """Start a notes version for the room (or return the one being written)."""
    with transaction.atomic():
        report, created = report_create(room=room, requested_by=requested_by, kind=ReportKind.NOTES, language=language)
        if created:
            transaction.on_commit(lambda: _start(report.id))
    return report, created


def _start(report_id) -> None:
    try:
        write_notes.delay(str(report_id))
    except BrokerError as exc:
        logger.error("Could not start ticket notes %s: %r", report_id, exc)
        lifecycle.fail(report_id, detail=f"broker unavailable: {exc!r}")


def on_room_resolved(sender, *, room, resolved_by, **kwargs):
    notes_request(room=room, requested_by=resolved_by)


def latest_notes(room):
    return Report.objects.filter(room=room, kind=ReportKind.NOTES).order_by("-created_at")


@shared_task(name="reports.write_notes", soft_time_limit=240, time_limit=300, acks_late=True)
def write_notes(report_id: str) -> None:
    # Claim the work: a redelivered task finds the report taken and does nothing.
    now = timezone.now()
    if not lifecycle.claim(report_id, source=[ReportStatus.PENDING], target=ReportStatus.GENERATING_CONTENT,
                           started_at=now, stage_started_at=now, attempts=1):
        return
    report = Report.objects.select_related("room").get(id=report_id)
    try:
        _write(report)
    except Exception as exc:
        logger.exception("Ticket notes %s failed", report_id)
        lifecycle.fail_for(report_id, exc)
        raise


# --- Writing ----------------------------------------------------------------------


@dataclass
class Draft:
    """What the writers produced: the text, which writer, and what the attempts said."""

    text: str = ""
    provider: str = ""
    result: LLMResult | None = None
    fallback_reason: str = ""
    attempts: list[dict] = field(default_factory=list)


def _ask_ai(report: Report, provider: str, system: str, prompt: str, streamer: Streamer, draft: Draft) -> None:
    """Streaming first, then one blocking call; ``draft.result`` stays None when both fail."""
    for streaming in (True, False):
        request = LLMRequest(
            system=system, prompt=prompt, language=report.language,
            user=f"warroom-{report.requested_by_id or 'system'}", on_delta=streamer if streaming else None,
        )
        try:
            result = get_client(provider, streaming=streaming).complete(request)
            if not result.text.strip():
                raise LLMError("the AI answered with empty notes")
        except LLMError as exc:
            draft.attempts.append({"streaming": streaming, "error": str(exc)[:500]})
            draft.fallback_reason = str(exc.user_message or exc)
            continue
        draft.result, draft.text, draft.provider = result, result.text.strip(), provider
        return


def _draft(report: Report, snapshot, system: str, prompt: str, streamer: Streamer) -> Draft:
    draft = Draft()
    provider = configured_provider()
    if provider != "offline" and snapshot is not None:
        _ask_ai(report, provider, system, prompt, streamer, draft)
    if draft.result is None:
        draft.text = offline_notes(snapshot) if snapshot else report.room.resolution_summary or report.room.title
        draft.provider = "offline" if provider == "offline" else "offline-fallback"
        if draft.provider == "offline-fallback" and draft.attempts:
            metrics.ai_fallback(kind=report.kind)
    return draft


def _write(report: Report) -> None:
    language = normalize_language(report.language)
    step = ReportStep.objects.create(report=report, key="notes", label="Ticket notes")
    try:
        snapshot = collect_room(report.room, max_messages=settings.REPORT_MAX_MESSAGES, language=language)
    except EmptyRoom:
        snapshot = None
    streamer = Streamer(report)
    started = time.monotonic()
    with translation.override(language):
        system = str(SYSTEM_PROMPT)
        prompt = format_room(snapshot, language) if snapshot else report.room.title
        draft = _draft(report, snapshot, system, prompt, streamer)
        title = _("%(room)s — %(notes)s") % {"room": report.room.title, "notes": PROBLEM}
    streamer.flush()
    if snapshot is not None:
        # Only the passages the writer was given may be cited ([kb:ID]); invented ids are dropped.
        draft.text = evidence.keep_known_text(draft.text, evidence.citable(snapshot))
    if draft.result is None or streamer.text.strip() != draft.text:
        # What the room saw so far is not the final text (fallback, an invented citation, a blocking retry).
        streamer(draft.text, True)
    entry = _ledger(draft, language, seconds=time.monotonic() - started)
    _save(report, step, draft, title=title, system=system, prompt=prompt, deltas=streamer.count, entry=entry)


def _ledger(draft: Draft, language: str, *, seconds: float) -> dict:
    """The AI ledger of the notes: who wrote them, with which prompt, at what cost."""
    result = draft.result or LLMResult(text="", provider=draft.provider)
    return ledger.entry(provider=draft.provider, model=result.model, prompt_version=prompt_version(language),
                        prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens,
                        seconds=seconds, price=result.price, currency=result.currency)


def _save(report: Report, step: ReportStep, draft: Draft, *, title: str, system: str, prompt: str,
          deltas: int, entry: dict) -> None:
    result = draft.result
    content = {"text": draft.text, "next_steps": next_steps(draft.text), "deltas": deltas}
    now = timezone.now()
    fields = {
        "status": ReportStatus.COMPLETED, "content": content, "provider": draft.provider,
        "fallback_reason": draft.fallback_reason, "prompt_tokens": result.prompt_tokens if result else 0,
        "completion_tokens": result.completion_tokens if result else 0, "completed_at": now, "percent": 100,
        "title": title[:300], "ledger": entry,
    }
    Report.objects.filter(id=report.id).update(**fields)
    for name, value in fields.items():
        setattr(report, name, value)
    step.status, step.finished_at = StepStatus.COMPLETED, now
    step.detail = {"system": system, "prompt": prompt[:KEPT_CHARS], "attempts": draft.attempts,
                   "raw": result.raw[:KEPT_CHARS] if result else ""}
    step.save(update_fields=["status", "finished_at", "detail"])
    metrics.report_finished(kind=report.kind, status=ReportStatus.COMPLETED)
    events.emit(report, events.notes_done(report), now=True)
