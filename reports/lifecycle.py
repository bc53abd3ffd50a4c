"""One lifecycle for every report: claim a transition, fail with a message, reap what is stuck.

Room reports, postmortems, ticket notes and daily reports all live in the same
``Report`` row and move through the same statuses (``ReportStatus``). Work on
a report starts with a *claim*: one conditional UPDATE from the statuses the
work may start from, so a redelivered task, a second worker or a second beat
finds the row taken and does nothing twice. Every ending that is not a success
goes through :func:`fail`, which keeps a message for people (in the report's
language) apart from the detail for operators. The reaper (:func:`reap`, every
minute from beat or from the embedded worker's timer) ends or resumes what a
dead worker left in flight.

What differs per kind is in :data:`RULES`:

============  =====================================================  ==========================================  ==============
kind          statuses it passes through                             when stuck past REPORT_STUCK_AFTER_SECONDS   failure event
============  =====================================================  ==========================================  ==============
incident      pending → collecting_data → generating_content →       resumed from its first unfinished stage,     report.failed
postmortem    assembling_document → completed | failed               at most MAX_REQUEUES times, then failed
notes         pending → generating_content → completed | failed      failed (people press Regenerate)             notes.failed
daily         pending → collecting_data → assembling_document →      claimed again by the next run (no reaping)   — (no room)
              completed | failed
============  =====================================================  ==========================================  ==============
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from config import metrics
from reports import events
from reports.models import IN_FLIGHT_STATUSES, Report, ReportKind, ReportStatus, ReportStep, StepStatus

logger = logging.getLogger(__name__)

# How often a stuck report is sent again from where it stopped before it is failed.
MAX_REQUEUES = 2
# The reaper looks at this many stuck reports per run (oldest first); the next run takes the rest.
REAP_BATCH = 500
MESSAGE_LIMIT, DETAIL_LIMIT = 500, 20000

RESUME, FAIL, RECLAIM = "resume", "fail", "reclaim"

GENERIC_FAILURE = _("The report could not be written. Try again; if it fails again, tell an operator.")
TIMED_OUT = _("The report took too long and was stopped; try again.")
STUCK = _("The report stopped making progress and was ended; try again.")
BROKER_DOWN = _("The background worker queue is unavailable; try again shortly.")


@dataclass(frozen=True)
class KindRules:
    on_stuck: str  # RESUME, FAIL or RECLAIM (see the table above)
    failure_message: Promise  # what people read when nothing more precise is known
    failed_event: Callable | None  # the event builder that tells the room


PIPELINE_RULES = KindRules(RESUME, GENERIC_FAILURE, events.report_failed)
RULES = {
    ReportKind.INCIDENT: PIPELINE_RULES,
    ReportKind.POSTMORTEM: PIPELINE_RULES,
    ReportKind.NOTES: KindRules(FAIL, _("The ticket notes could not be written; try Regenerate in a moment."),
                                events.notes_failed),
    ReportKind.DAILY: KindRules(RECLAIM, _("The daily report could not be written; the next run tries again."), None),
}


class ReportFailure(Exception):
    """A failure with a message for people (a lazy translation) and the technical ``detail`` for operators."""

    def __init__(self, message, *, detail: str = ""):
        super().__init__(str(message))
        self.message = message
        self.detail = detail or str(message)


def text_in(language: str, message) -> str:
    """``message`` (a lazy translation or plain text) rendered in ``language``."""
    with translation.override(language):
        return str(message)


# --- Claims ---------------------------------------------------------------------------------


def claim(report_id, *, source, target: str, **fields) -> bool:
    """Move the report from ``source`` (statuses, or a Q) to ``target`` in one UPDATE; True if this caller won."""
    condition = source if isinstance(source, Q) else Q(status__in=list(source))
    # The status is repeated outside any subquery so that PostgreSQL re-checks it when a
    # concurrent claim of the same row commits first.
    return bool(Report.objects.filter(condition, id=report_id).update(status=target, **fields))


# --- Failure ------------------------------------------------------------------------------


def failure_for(exc: BaseException) -> tuple[Promise | str | None, str]:
    """What people and operators are told about ``exc`` (None: the kind's own failure message)."""
    if isinstance(exc, ReportFailure):
        return exc.message, exc.detail
    if isinstance(exc, SoftTimeLimitExceeded):
        return TIMED_OUT, "SoftTimeLimitExceeded"
    return None, ""


def fail(report_id, *, message=None, detail: str = "") -> bool:
    """End an in-flight report in ``failed`` and tell its room; False if it had already ended. Safe to call twice."""
    with transaction.atomic():
        report = Report.objects.filter(id=report_id).first()
        if report is None:
            return False
        rules = RULES[report.kind]
        text = text_in(report.language, message or rules.failure_message)[:MESSAGE_LIMIT]
        updated = Report.objects.filter(id=report_id, status__in=IN_FLIGHT_STATUSES).update(
            status=ReportStatus.FAILED, error_message=text, error_detail=detail[:DETAIL_LIMIT],
            completed_at=timezone.now(), step="",
        )
        if not updated:
            return False
        ReportStep.objects.filter(report_id=report_id, status=StepStatus.RUNNING).update(
            status=StepStatus.FAILED, finished_at=timezone.now()
        )
        report.status, report.error_message = ReportStatus.FAILED, text
        if rules.failed_event is not None:
            events.emit(report, rules.failed_event(report))
        transaction.on_commit(lambda: metrics.report_finished(kind=report.kind, status=ReportStatus.FAILED))
    logger.warning("Report %s (%s) failed: %s", report_id, report.kind, detail or text)
    return True


def fail_for(report_id, exc: BaseException, *, detail: str = "") -> bool:
    """End the report because of ``exc``, with the message that fits it."""
    message, known = failure_for(exc)
    return fail(report_id, message=message, detail=f"{known or repr(exc)}\n\n{detail}".strip())


# --- Reaping --------------------------------------------------------------------------------


def stuck(now=None):
    """In-flight reports whose current step was claimed (or, pending, created) too long ago."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.REPORT_STUCK_AFTER_SECONDS)
    reaped_kinds = [kind for kind, rules in RULES.items() if rules.on_stuck != RECLAIM]
    return Report.objects.filter(kind__in=reaped_kinds, status__in=IN_FLIGHT_STATUSES).filter(
        Q(stage_started_at__lt=cutoff) | Q(stage_started_at__isnull=True, created_at__lt=cutoff)
    )


def reap(*, resume: Callable[[Report], str], now=None) -> dict:
    """Resume or fail every stuck report; ``resume(report)`` sends it on from where it stopped and names the stage."""
    now = now or timezone.now()
    counts = {"requeued": 0, "failed": 0}
    for report in stuck(now).order_by("created_at")[:REAP_BATCH]:
        if RULES[report.kind].on_stuck == FAIL or report.attempts >= MAX_REQUEUES:
            if fail(report.id, message=STUCK, detail=f"stuck in {report.status} since "
                                                     f"{report.stage_started_at or report.created_at}; "
                                                     f"re-queued {report.attempts} times"):
                counts["failed"] += 1
            continue
        with transaction.atomic():
            # Claim the re-queue so that two reapers never send the same report twice.
            requeued = Report.objects.filter(
                id=report.id, status=report.status, stage_started_at=report.stage_started_at
            ).update(stage_started_at=now, attempts=F("attempts") + 1)
            if not requeued:
                continue
            transaction.on_commit(lambda report=report: logger.warning(
                "Re-queued report %s from %s (it was stuck in %s)", report.id, resume(report), report.status))
        counts["requeued"] += 1
    metrics.reports_reaped(**counts)
    return counts
