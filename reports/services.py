"""Every write to reports starts here.

``report_request`` is what the API, pages and other apps (postmortems, ticket
notes) call: it creates the report and starts the workflow after commit; while
a report of the same kind is in flight for the room, it returns that one.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from reports import events, lifecycle
from reports.models import IN_FLIGHT_STATUSES, Report, ReportKind, ReportStatus
from reports.pipeline import workflow
from reports.pipeline.state import STAGES, first_unfinished_stage
from reports.prompts import normalize_language

logger = logging.getLogger(__name__)


def report_in_flight(*, room, kind=ReportKind.INCIDENT) -> Report | None:
    return Report.objects.filter(room=room, kind=kind, status__in=IN_FLIGHT_STATUSES).order_by("-created_at").first()


def report_create(*, room, requested_by, kind=ReportKind.INCIDENT, language=None) -> tuple[Report, bool]:
    """Create a pending report, or return the one in flight for the room and kind (created=False).

    The partial unique constraint ``report_one_in_flight_per_room_kind`` decides, with no
    look-up first: the insert of a second report while one is in flight (a double click,
    two people at once) fails, and the caller gets the one in flight.
    """
    language = normalize_language(language or settings.REPORT_LANGUAGE)
    try:
        with transaction.atomic():
            report = Report.objects.create(room=room, kind=kind, language=language, requested_by=requested_by)
    except IntegrityError:
        existing = report_in_flight(room=room, kind=kind)
        if existing is None:
            raise
        return existing, False
    return report, True


@transaction.atomic
def report_request(*, room, requested_by, kind=ReportKind.INCIDENT, language=None) -> tuple[Report, bool]:
    """Create the report and start its workflow on commit; returns ``(report, created)``."""
    report, created = report_create(room=room, requested_by=requested_by, kind=kind, language=language)
    if created:
        events.emit(report, events.report_progress(report))
        transaction.on_commit(lambda: workflow.start(report.id))
    return report, created


RERUNNABLE_KINDS = [ReportKind.INCIDENT, ReportKind.POSTMORTEM]


def report_rerun(*, report: Report) -> str | None:
    """Send a failed room report through the workflow again from its first unfinished stage.

    Returns the stage it restarts at, or None when it cannot restart (not failed, not a
    room report, or another report of its kind is already in flight for the room). The
    report is put back at the status that stage claims from, so every stage's claim works
    as on a first run.
    """
    if report.status != ReportStatus.FAILED or report.kind not in RERUNNABLE_KINDS or report.room_id is None:
        return None
    stage = first_unfinished_stage(report)
    try:
        with transaction.atomic():
            claimed = lifecycle.claim(
                report.id, source=[ReportStatus.FAILED], target=STAGES[stage].previous, error_message="",
                error_detail="", completed_at=None, step="", stage_started_at=timezone.now(),
                attempts=F("attempts") + 1,
            )
    except IntegrityError:
        return None  # report_one_in_flight_per_room_kind: the room already has one running
    if not claimed:
        return None
    transaction.on_commit(lambda: workflow.report_workflow(report.id, start=stage).apply_async())
    logger.warning("Report %s re-run by an operator from %s", report.id, stage)
    return stage
