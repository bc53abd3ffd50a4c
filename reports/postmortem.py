"""Automatic postmortems: long incidents do not end without one.

``incidents`` sends ``room_resolved`` after the resolve commits; this receiver
(connected in ReportsConfig.ready) decides, requests the postmortem through the
same pipeline as every report, and writes the decision into the room's timeline
as a system message, so responders see why there is (or is not) a postmortem.
A room resolved again after a reopen gets no second postmortem; people can
still ask for one explicitly.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from incidents import timeline
from incidents.services import room_note
from incidents.timing import minutes_between
from reports.models import Report, ReportKind, ReportStatus
from reports.services import report_request

logger = logging.getLogger(__name__)

GENERATED, TOO_SHORT, ALREADY_EXISTS = "generated", "too_short", "already_exists"

# The decision's timeline lines, rendered in each reader's language (incidents.timeline).
LINE_EXISTS = timeline.line(
    "postmortem.exists", _("No new postmortem: this incident already has one (it now lasted %(minutes)s)"),
    minutes=timeline.MINUTES)
LINE_TOO_SHORT = timeline.line(
    "postmortem.too_short", _("No postmortem: incident lasted %(minutes)s, under the %(threshold)d min threshold"),
    minutes=timeline.MINUTES)
LINE_GENERATED = timeline.line(
    "postmortem.generated", _("Postmortem generated automatically (incident lasted %(minutes)s)"),
    minutes=timeline.MINUTES)


def postmortem_decide(*, room, resolved_by) -> tuple[str, Report | None]:
    """Request a postmortem for ``room`` if it lasted long enough and has none; note the decision."""
    lasted = room.resolved_at - room.created_at
    minutes = minutes_between(room.created_at, room.resolved_at)
    threshold = settings.POSTMORTEM_MIN_MINUTES
    existing = Report.objects.filter(room=room, kind=ReportKind.POSTMORTEM).exclude(status=ReportStatus.FAILED).first()
    if existing is not None:
        room_note(room=room, event=LINE_EXISTS, params={"minutes": minutes})
        return ALREADY_EXISTS, existing
    if lasted <= timedelta(minutes=threshold):
        room_note(room=room, event=LINE_TOO_SHORT, params={"minutes": minutes, "threshold": threshold})
        return TOO_SHORT, None
    report, _created = report_request(room=room, requested_by=resolved_by, kind=ReportKind.POSTMORTEM)
    room_note(room=room, event=LINE_GENERATED, params={"minutes": minutes})
    return GENERATED, report


def on_room_resolved(sender, *, room, resolved_by, **kwargs):
    """Receiver of incidents.signals.room_resolved; a failure here must never undo or fail the resolve."""
    try:
        decision, report = postmortem_decide(room=room, resolved_by=resolved_by)
    except Exception:  # noqa: BLE001 - logged with the room; the resolve itself has committed
        logger.exception("Postmortem decision failed for room %s", room.pk)
        return
    logger.info("Room %s resolved: postmortem %s (%s)", room.pk, decision, report.pk if report else "-")
