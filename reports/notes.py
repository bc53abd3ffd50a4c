"""Ticket notes: written right after resolve, streamed to the room token by token.

Resolving never waits on AI: the room flips at once and ``room_resolved``
starts a notes report (``kind=notes``) after commit. The task streams the
writer's answer as ``notes.delta`` events; if streaming fails it asks once more
without streaming, and if that fails too the offline writer writes the notes
from the room data. Every version is kept; Regenerate makes a new one.

Events (to the room): ``notes.delta`` {report_id, delta, replace},
``notes.done`` {report_id, text, provider}, ``notes.failed`` {report_id, message}.
"""

from __future__ import annotations

import logging
import re
import time

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from reports.llm import LLMError, LLMRequest, configured_provider, get_client
from reports.models import Report, ReportKind, ReportStatus, ReportStep, StepStatus
from reports.pipeline.collect import EmptyRoom, RoomSnapshot, collect_room
from reports.prompts import format_room, normalize_language
from reports.services import report_create
from realtime import events

logger = logging.getLogger(__name__)

HEADINGS = {
    "zh-hant": ["問題摘要", "處理步驟", "解決方式", "後續步驟"],
    "en": ["Problem Summary", "Steps Taken", "Resolution", "Next Steps"],
}
SYSTEM_PROMPT = {
    "zh-hant": (
        "你是資安與維運團隊的值班工程師，要為剛解決的事件寫工單紀錄。請用繁體中文，"
        "依序寫四個段落，每段以「## 標題」開頭：## 問題摘要、## 處理步驟、## 解決方式、## 後續步驟。"
        "處理步驟與後續步驟用「- 」開頭的條列。只根據提供的事件資料，不要編造；簡潔、具體。"
    ),
    "en": (
        "You are the on-call engineer writing ticket notes for an incident that was just resolved. Write in English, "
        "four sections in this order, each starting with '## Title': ## Problem Summary, ## Steps Taken, "
        "## Resolution, ## Next Steps. Use '- ' bullets for steps and next steps. Use only the incident data given; "
        "do not invent facts; be brief and concrete."
    ),
}
OFFLINE_NOTE = {
    "zh-hant": "（離線撰寫：未使用 AI，內容直接整理自事件室資料。）",
    "en": "(Written offline: no AI was used; this is compiled from the room's data.)",
}
FAILED_MESSAGE = {
    "zh-hant": "無法產生工單紀錄，請稍後按「重新產生」。",
    "en": "The ticket notes could not be written; try Regenerate in a moment.",
}
# Streamed pieces are sent at most this often, so a fast model does not flood the room.
DELTA_INTERVAL_SECONDS = 0.05


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
        _fail(report_id, detail=f"broker unavailable: {exc!r}")


def on_room_resolved(sender, *, room, resolved_by, **kwargs):
    notes_request(room=room, requested_by=resolved_by)


def latest_notes(room):
    return Report.objects.filter(room=room, kind=ReportKind.NOTES).order_by("-created_at")


# --- Writing ----------------------------------------------------------------------


def offline_notes(snapshot: RoomSnapshot, language: str) -> str:
    """Four honest sections from the room data alone."""
    problem, steps, resolution, next_steps = HEADINGS[language]
    room = snapshot.room
    said = [m for m in snapshot.messages if m.kind == "text" and m.body.strip()]
    summary = room.title
    if room.description:
        summary += ("：" if language == "zh-hant" else ": ") + room.description
    lines = [f"## {problem}", summary, "", f"## {steps}"]
    picked = said[:3] + said[-5:] if len(said) > 8 else said
    for message in picked:
        stamp = timezone.localtime(message.time).strftime("%H:%M")
        lines.append(f"- {stamp} {message.sender}: {message.body.splitlines()[0][:160]}")
    if not picked:
        lines.append("- " + ("（時間軸沒有文字訊息）" if language == "zh-hant" else "(no written messages in the timeline)"))
    lines += ["", f"## {resolution}", room.resolution_summary or ("（未填寫）" if language == "zh-hant" else "(not given)"), ""]
    lines.append(f"## {next_steps}")
    if language == "zh-hant":
        lines += ["- 檢視時間軸並確認根本原因", "- 將後續待辦加入任務清單"]
    else:
        lines += ["- Review the timeline and confirm the root cause", "- Add follow-up work to the task list"]
    lines += ["", OFFLINE_NOTE[language]]
    return "\n".join(lines).strip()


def fail_stuck_notes(now=None) -> int:
    """End notes whose writer died (worker killed): the room shows an error and Regenerate."""
    from datetime import timedelta

    cutoff = (now or timezone.now()) - timedelta(seconds=settings.REPORT_STUCK_AFTER_SECONDS)
    stuck = list(
        Report.objects.filter(
            kind=ReportKind.NOTES, status__in=[ReportStatus.PENDING, ReportStatus.GENERATING_CONTENT], created_at__lt=cutoff
        ).values_list("id", flat=True)
    )
    for report_id in stuck:
        _fail(report_id, detail="the notes writer stopped (stuck past REPORT_STUCK_AFTER_SECONDS)")
    return len(stuck)


def next_steps(text: str, language: str = "zh-hant") -> list[str]:
    """The bullet lines under the Next Steps heading (for one-click action items)."""
    titles = {h.lower() for pair in HEADINGS.values() for h in pair[3:]}
    lines, inside = [], False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            inside = line.lstrip("#").strip().lower() in titles
            continue
        if inside and re.match(r"^([-*•]|\d+[.)])\s+", line):
            item = re.sub(r"^([-*•]|\d+[.)])\s+", "", line).strip()
            if item:
                lines.append(item[:300])
    return lines


class _Streamer:
    """Publishes pieces of the answer, batched by time, in order."""

    def __init__(self, report: Report):
        self.report = report
        self.pending = ""
        self.sent_at = 0.0
        self.text = ""
        self.count = 0

    def __call__(self, piece: str, replace: bool) -> None:
        if replace:
            self.flush()
            self.text = piece
            self._send(piece, replace=True)
            return
        self.text += piece
        self.pending += piece
        if time.monotonic() - self.sent_at >= DELTA_INTERVAL_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self._send(self.pending, replace=False)
            self.pending = ""

    def _send(self, delta: str, *, replace: bool) -> None:
        self.count += 1
        self.sent_at = time.monotonic()
        events.publish(self.report.room_id, "notes.delta", {"report_id": str(self.report.id), "delta": delta, "replace": replace})


def _fail(report_id, *, detail: str) -> None:
    report = Report.objects.filter(id=report_id).first()
    if report is None:
        return
    message = FAILED_MESSAGE.get(report.language, FAILED_MESSAGE["en"])
    updated = Report.objects.filter(id=report_id).exclude(status__in=[ReportStatus.COMPLETED, ReportStatus.FAILED]).update(
        status=ReportStatus.FAILED, error_message=message, error_detail=detail[:5000], completed_at=timezone.now()
    )
    if updated:
        events.publish(report.room_id, "notes.failed", {"report_id": str(report_id), "message": message})


@shared_task(name="reports.write_notes", soft_time_limit=240, time_limit=300, acks_late=True)
def write_notes(report_id: str) -> None:
    # Claim the work: a redelivered task finds the report taken and does nothing.
    claimed = Report.objects.filter(id=report_id, status=ReportStatus.PENDING).update(
        status=ReportStatus.GENERATING_CONTENT, started_at=timezone.now(), stage_started_at=timezone.now(), attempts=1
    )
    if not claimed:
        return
    report = Report.objects.select_related("room").get(id=report_id)
    try:
        _write(report)
    except Exception as exc:
        logger.exception("Ticket notes %s failed", report_id)
        _fail(report_id, detail=repr(exc))
        raise


def _write(report: Report) -> None:
    language = normalize_language(report.language)
    step = ReportStep.objects.create(report=report, key="notes", label="Ticket notes")
    try:
        snapshot = collect_room(report.room, max_messages=settings.REPORT_MAX_MESSAGES, language=language)
    except EmptyRoom:
        snapshot = None
    provider = configured_provider()
    prompt = format_room(snapshot, language) if snapshot else report.room.title
    attempts, result, fallback_reason = [], None, ""
    streamer = _Streamer(report)
    if provider != "offline" and snapshot is not None:
        for streaming in (True, False):
            request = LLMRequest(
                system=SYSTEM_PROMPT[language], prompt=prompt, language=language,
                user=f"warroom-{report.requested_by_id or 'system'}", on_delta=streamer if streaming else None,
            )
            try:
                result = get_client(provider, streaming=streaming).complete(request)
                if not result.text.strip():
                    raise LLMError("the AI answered with empty notes")
                break
            except LLMError as exc:
                attempts.append({"streaming": streaming, "error": str(exc)[:500]})
                fallback_reason = getattr(exc, "user_message", str(exc))
                result = None
    if result is None:
        text = offline_notes(snapshot, language) if snapshot else report.room.resolution_summary or report.room.title
        used = "offline" if provider == "offline" else "offline-fallback"
        prompt_tokens = completion_tokens = 0
    else:
        text, used = result.text.strip(), provider
        prompt_tokens, completion_tokens = result.prompt_tokens, result.completion_tokens
    streamer.flush()
    if result is None or streamer.text.strip() != text:
        # What the room saw so far is not the final text (fallback, or a blocking retry).
        streamer(text, True)
    content = {"text": text, "next_steps": next_steps(text, language), "deltas": streamer.count}
    now = timezone.now()
    Report.objects.filter(id=report.id).update(
        status=ReportStatus.COMPLETED, content=content, provider=used, fallback_reason=fallback_reason,
        prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, completed_at=now, percent=100,
        title=f"{report.room.title} — {HEADINGS[language][0]}",
    )
    step.status = StepStatus.COMPLETED
    step.finished_at = now
    step.detail = {"system": SYSTEM_PROMPT[language], "prompt": prompt[:20000], "attempts": attempts,
                   "raw": (result.raw[:20000] if result else "")}
    step.save(update_fields=["status", "finished_at", "detail"])
    events.publish(report.room_id, "notes.done", {"report_id": str(report.id), "text": text, "provider": used,
                                           "next_steps": content["next_steps"]})
