"""Named reads of alerts."""

from django.db.models import QuerySet

from alerts.models import Alert


def alerts_all() -> QuerySet[Alert]:
    return Alert.objects.select_related("source", "acknowledged_by").order_by("-last_seen", "-id")


def room_alerts(*, room) -> QuerySet[Alert]:
    """A room's alerts, firing first, then the most recently seen."""
    return Alert.objects.filter(room=room).select_related("source", "acknowledged_by").order_by("status", "-last_seen", "-id")
