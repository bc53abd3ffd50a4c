"""The live event this app sends to a room (docs/events.md)."""

from alerts.models import Alert
from alerts.serializers import AlertSerializer
from realtime.events import event


@event("alert.changed", "An alert of the room fired, repeated, resolved or was acknowledged.")
def alert_changed(alert: Alert) -> dict:
    return dict(AlertSerializer(alert).data)
