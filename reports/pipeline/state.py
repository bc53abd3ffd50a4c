"""Bookkeeping shared by the stages: claiming a stage, steps, progress events, failure.

A stage claims its transition with one conditional UPDATE, so that a
redelivered or duplicated task finds the work already claimed or done and
does nothing twice. Steps are keyed per report (``report_step_unique_key``),
so running a stage again reuses its step row instead of adding one.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from typing import Callable

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from realtime import events
from reports.models import IN_FLIGHT_STATUSES, Report, ReportStatus, ReportStep, StepStatus

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stage:
    key: str
    previous: str  # the status the report must be in (or have left) for this stage to start
    running: str  # the status while this stage runs
    label_zh: str
    label_en: str
    percent_start: int

    def label(self, language: str) -> str:
        return self.label_en if language == "en" else self.label_zh


STAGES = {
    "collect_data": Stage("collect_data", ReportStatus.PENDING, ReportStatus.COLLECTING_DATA,
                          "收集事件室資料", "Collecting the room's data", 5),
    "generate_content": Stage("generate_content", ReportStatus.COLLECTING_DATA, ReportStatus.GENERATING_CONTENT,
                              "撰寫報告內容", "Writing the content", 25),
    "assemble_document": Stage("assemble_document", ReportStatus.GENERATING_CONTENT,
                               ReportStatus.ASSEMBLING_DOCUMENT, "組合 Word 文件", "Assembling the document", 75),
    "publish": Stage("publish", ReportStatus.ASSEMBLING_DOCUMENT, ReportStatus.ASSEMBLING_DOCUMENT,
                     "儲存與發布", "Storing and publishing", 92),
}
STAGE_ORDER = ["collect_data", "generate_content", "assemble_document", "publish"]


class ReportFailure(Exception):
    """A failure with a message for people; ``detail`` is the technical part (operators only)."""

    def __init__(self, message: str, *, detail: str = ""):
        super().__init__(message)
        self.message = message
        self.detail = detail or message


class StageSkipped(Exception):
    """The stage has nothing to do: another run claimed it, finished it, or the report ended."""


# --- Progress -------------------------------------------------------------------

_listeners = threading.local()


def add_progress_listener(callback: Callable[[str, dict], None]) -> None:
    """Also call ``callback(event_type, payload)`` for events of this thread (the terminal command's bar)."""
    if not hasattr(_listeners, "items"):
        _listeners.items = []
    _listeners.items.append(callback)


def remove_progress_listener(callback) -> None:
    if hasattr(_listeners, "items") and callback in _listeners.items:
        _listeners.items.remove(callback)


def announce(report: Report, event_type: str, payload: dict) -> None:
    """Publish to the room after commit, and tell this thread's listeners."""
    for callback in list(getattr(_listeners, "items", [])):
        try:
            callback(event_type, payload)
        except Exception:  # noqa: BLE001 - a display must never break the pipeline
            logger.exception("Progress listener failed")
    if report.room_id:
        events.publish_on_commit(report.room_id, event_type, payload)


def progress(report: Report, *, step: str, percent: int) -> None:
    """Save the live position and send ``report.progress``."""
    percent = max(0, min(int(percent), 100))
    Report.objects.filter(id=report.id).update(step=step[:200], percent=percent)
    report.step, report.percent = step[:200], percent
    announce(report, "report.progress", {
        "report_id": str(report.id), "status": report.status, "step": report.step, "percent": percent,
    })


# --- Claims ---------------------------------------------------------------------


def claim_stage(report_id, stage: Stage) -> Report:
    """Move the report into ``stage`` or raise :class:`StageSkipped`.

    A report still at the stage's own running status with the stage's step
    unfinished is a retry or a redelivery after a lost worker: it runs again.
    """
    now = timezone.now()
    updates = {"status": stage.running, "stage_started_at": now}
    if stage.previous == ReportStatus.PENDING:
        updates["started_at"] = now
    claimed = Report.objects.filter(id=report_id, status=stage.previous)
    if stage.previous != ReportStatus.PENDING:
        # The previous stage must have finished, not merely started.
        previous_key = STAGE_ORDER[STAGE_ORDER.index(stage.key) - 1]
        claimed = claimed.filter(steps__key=previous_key, steps__status=StepStatus.COMPLETED)
    # The status is repeated outside the subquery so that PostgreSQL re-checks it when a
    # concurrent claim of the same stage commits first (the subquery alone is not re-checked).
    if stage.previous != stage.running and Report.objects.filter(
        id__in=claimed.values("id"), status=stage.previous
    ).update(**updates):
        return Report.objects.select_related("room", "requested_by").get(id=report_id)
    report = Report.objects.select_related("room", "requested_by").filter(id=report_id).first()
    if report is None:
        raise StageSkipped(f"report {report_id} no longer exists")
    if report.status == stage.running and not ReportStep.objects.filter(
        report=report, key=stage.key, status=StepStatus.COMPLETED
    ).exists():
        if stage.previous == stage.running:
            # publish has no status of its own: it needs the finished document stage.
            if not ReportStep.objects.filter(
                report=report, key="assemble_document", status=StepStatus.COMPLETED
            ).exists():
                raise StageSkipped("the document is not assembled yet")
        Report.objects.filter(id=report_id).update(stage_started_at=now)
        return report
    raise StageSkipped(f"report {report_id} is {report.status}; {stage.key} has nothing to do")


# --- Steps ----------------------------------------------------------------------


def step_start(report: Report, key: str, *, label: str = "", parent: ReportStep | None = None) -> ReportStep:
    step, created = ReportStep.objects.get_or_create(
        report=report, key=key, defaults={"label": label, "parent": parent, "status": StepStatus.RUNNING},
    )
    if not created:
        step.status = StepStatus.RUNNING
        step.started_at = timezone.now()
        step.finished_at = None
        step.save(update_fields=["status", "started_at", "finished_at"])
    return step


_JSON_UNSAFE = re.compile("[\x00\ud800-\udfff]")


def json_safe(value):
    """``value`` without what PostgreSQL's jsonb refuses (NUL, lone surrogates): AI answers may hold anything."""
    if isinstance(value, str):
        return _JSON_UNSAFE.sub("", value)
    if isinstance(value, dict):
        return {json_safe(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def step_finish(step: ReportStep, *, status=StepStatus.COMPLETED, **detail) -> ReportStep:
    step.status = status
    step.finished_at = timezone.now()
    if detail:
        step.detail = json_safe({**(step.detail or {}), **detail})
    step.save(update_fields=["status", "finished_at", "detail"])
    return step


# --- Failure --------------------------------------------------------------------

GENERIC_FAILURE = "The report could not be written. Try again; if it fails again, tell an operator."


def report_fail(report_id, *, message: str = "", detail: str = "") -> bool:
    """End an in-flight report in ``failed``; False if it had already ended. Safe to call twice."""
    message = (message or GENERIC_FAILURE)[:500]
    with transaction.atomic():
        updated = Report.objects.filter(id=report_id, status__in=IN_FLIGHT_STATUSES).update(
            status=ReportStatus.FAILED, error_message=message, error_detail=detail[:20000],
            completed_at=timezone.now(), step="",
        )
        if not updated:
            return False
        ReportStep.objects.filter(report_id=report_id, status=StepStatus.RUNNING).update(
            status=StepStatus.FAILED, finished_at=timezone.now()
        )
        report = Report.objects.get(id=report_id)
        announce(report, "report.failed", {
            "report_id": str(report.id), "status": report.status, "error_message": report.error_message,
        })
    logger.warning("Report %s failed: %s", report_id, detail or message)
    return True


def bump_attempts(report_id) -> None:
    Report.objects.filter(id=report_id).update(attempts=F("attempts") + 1)
