"""The room report's stages as data, and the bookkeeping every stage shares: its claim, its steps, its progress.

A stage claims its transition through ``lifecycle.claim``, so that a
redelivered or duplicated task finds the work already claimed or done and does
nothing twice. Steps are keyed per report (``report_step_unique_key``), so
running a stage again reuses its step row instead of adding one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from reports import events, lifecycle
from reports.models import Report, ReportStatus, ReportStep, StepStatus

COLLECT, CONTENT, ASSEMBLE, PUBLISH = "collect_data", "generate_content", "assemble_document", "publish"


@dataclass(frozen=True)
class Stage:
    key: str
    previous: str  # the status the report must be in (with the previous stage's step completed) to start
    running: str  # the status while this stage runs
    label: Promise
    percent_start: int  # the progress bar when the stage starts ...
    percent_done: int  # ... and when it has finished


STAGES = {
    COLLECT: Stage(COLLECT, ReportStatus.PENDING, ReportStatus.COLLECTING_DATA,
                   _("Collecting the room's data"), 5, 20),
    CONTENT: Stage(CONTENT, ReportStatus.COLLECTING_DATA, ReportStatus.GENERATING_CONTENT,
                   _("Writing the content"), 25, 70),
    ASSEMBLE: Stage(ASSEMBLE, ReportStatus.GENERATING_CONTENT, ReportStatus.ASSEMBLING_DOCUMENT,
                    _("Assembling the document"), 75, 90),
    # Publishing has no status of its own: it needs the finished document stage.
    PUBLISH: Stage(PUBLISH, ReportStatus.ASSEMBLING_DOCUMENT, ReportStatus.ASSEMBLING_DOCUMENT,
                   _("Storing and publishing"), 92, 100),
}
STAGE_ORDER = list(STAGES)


def previous_stage(key: str) -> str | None:
    index = STAGE_ORDER.index(key)
    return STAGE_ORDER[index - 1] if index else None


def first_unfinished_stage(report: Report) -> str:
    """The stage a stuck report resumes from."""
    done = set(ReportStep.objects.filter(report=report, status=StepStatus.COMPLETED, parent__isnull=True)
               .values_list("key", flat=True))
    return next((key for key in STAGE_ORDER if key not in done), PUBLISH)


class StageSkipped(Exception):
    """The stage has nothing to do: another run claimed it, finished it, or the report ended."""


# --- Progress -------------------------------------------------------------------------------


def label(report: Report, text) -> str:
    """``text`` (a lazy translation) in the report's language."""
    with translation.override(report.language):
        return str(text)


def progress(report: Report, *, step, percent: int) -> None:
    """Save the live position (``step`` in the report's language) and send ``report.progress``."""
    report.step = label(report, step)[:200]
    report.percent = max(0, min(int(percent), 100))
    Report.objects.filter(id=report.id).update(step=report.step, percent=report.percent)
    events.emit(report, events.report_progress(report))


def progress_through(report: Report, stage: Stage, *, step, done: int, total: int) -> None:
    """Progress inside ``stage``: ``done`` of ``total`` parts finished."""
    span = stage.percent_done - stage.percent_start
    progress(report, step=step, percent=stage.percent_start + round(span * done / max(total, 1)))


# --- Claims ---------------------------------------------------------------------------------


def claim_stage(report_id, stage: Stage) -> Report:
    """Move the report into ``stage`` or raise :class:`StageSkipped`.

    A report still at the stage's own running status with the stage's step
    unfinished is a retry or a redelivery after a lost worker: it runs again.
    """
    now = timezone.now()
    fields = {"stage_started_at": now, **({"started_at": now} if stage.previous == ReportStatus.PENDING else {})}
    before = previous_stage(stage.key)
    if stage.previous != stage.running and (before is None or _step_done(report_id, before)):
        if lifecycle.claim(report_id, source=[stage.previous], target=stage.running, **fields):
            return Report.objects.select_related("room", "requested_by").get(id=report_id)
    report = Report.objects.select_related("room", "requested_by").filter(id=report_id).first()
    if report is None:
        raise StageSkipped(f"report {report_id} no longer exists")
    if report.status == stage.running and not _step_done(report_id, stage.key):
        if before is not None and not _step_done(report_id, before):
            raise StageSkipped(f"report {report_id}: {before} has not finished")
        Report.objects.filter(id=report_id).update(stage_started_at=now)
        return report
    raise StageSkipped(f"report {report_id} is {report.status}; {stage.key} has nothing to do")


def _step_done(report_id, key: str) -> bool:
    return ReportStep.objects.filter(report_id=report_id, key=key, status=StepStatus.COMPLETED).exists()


# --- Steps ------------------------------------------------------------------------------------


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
