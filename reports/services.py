"""Every write to reports starts here.

``report_request`` is what the API, pages and other apps (postmortems, ticket
notes) call: it creates the report and starts the workflow after commit; while
a report of the same kind is in flight for the room, it returns that one.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction

from reports import events
from reports.models import IN_FLIGHT_STATUSES, Report, ReportKind
from reports.pipeline import workflow
from reports.prompts import normalize_language


def report_in_flight(*, room, kind=ReportKind.INCIDENT) -> Report | None:
    return Report.objects.filter(room=room, kind=kind, status__in=IN_FLIGHT_STATUSES).order_by("-created_at").first()


def report_create(*, room, requested_by, kind=ReportKind.INCIDENT, language=None) -> tuple[Report, bool]:
    """Create a pending report, or return the one in flight for the room and kind (created=False).

    The partial unique constraint ``report_one_in_flight_per_room_kind`` settles
    races: the loser of two simultaneous inserts gets the winner's report.
    """
    language = normalize_language(language or settings.REPORT_LANGUAGE)
    existing = report_in_flight(room=room, kind=kind)
    if existing is not None:
        return existing, False
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
