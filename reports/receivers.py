"""What happens after a room is resolved: ticket notes, then the postmortem decision.

The resolve request only queues one task (one broker message) and returns; the
worker then starts the notes stream and decides on a postmortem. If the broker
cannot take the task, the same work runs in the request instead, so nothing is
lost (each part then handles its own broker trouble).
"""

import logging

from celery import shared_task
from django.contrib.auth import get_user_model
from kombu.exceptions import OperationalError as BrokerError

from incidents.models import IncidentRoom
from reports import postmortem
from reports.notes import service as notes

logger = logging.getLogger(__name__)


def on_room_resolved(sender, *, room, resolved_by, first_resolution=True, **kwargs):
    """Receiver of incidents.signals.room_resolved (sent after the resolve committed)."""
    user_id = resolved_by.pk if resolved_by is not None else None
    try:
        after_resolve.delay(str(room.pk), user_id, first_resolution)
    except BrokerError as exc:
        logger.warning("Broker unavailable after resolving room %s (%r); writing follow-ups inline", room.pk, exc)
        _follow_up(room, resolved_by, first_resolution)


def _follow_up(room, resolved_by, first_resolution):
    # Notes first: people watch them stream in; the postmortem takes its time anyway.
    try:
        notes.on_room_resolved(sender=type(room), room=room, resolved_by=resolved_by, first_resolution=first_resolution)
    except Exception:  # noqa: BLE001 - the postmortem decision must still be made
        logger.exception("Ticket notes could not start for room %s", room.pk)
    postmortem.on_room_resolved(sender=type(room), room=room, resolved_by=resolved_by, first_resolution=first_resolution)


@shared_task(name="reports.after_resolve", soft_time_limit=60, time_limit=90, acks_late=True)
def after_resolve(room_id: str, user_id: int | None, first_resolution: bool) -> None:
    room = IncidentRoom.objects.filter(pk=room_id).first()
    if room is None:
        return
    resolved_by = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    _follow_up(room, resolved_by, first_resolution)
