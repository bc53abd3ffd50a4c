"""Named reads of alerts."""

from django.db.models import Avg, Count, DurationField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from alerts.models import Alert, AlertDelivery, AlertGroup, Attachment
from incidents.models import Message


def alerts_all() -> QuerySet[Alert]:
    return Alert.objects.select_related("source", "acknowledged_by").order_by("-last_seen", "-id")


def room_alerts(*, room) -> QuerySet[Alert]:
    """A room's alerts, firing first, then the most recently seen."""
    return Alert.objects.filter(room=room).select_related("source", "acknowledged_by").order_by("status", "-last_seen", "-id")


TOP_CATEGORIES = 10
TOP_NOISY = 5


def _minutes(duration) -> float | None:
    return None if duration is None else round(duration.total_seconds() / 60, 1)


def alert_kpis(*, start, end) -> dict:
    """The alert figures of [start, end) for the daily report (reports/kpis.py), JSON-ready.

    ``received`` and ``duplicates`` count alerts in the deliveries of the period; ``unique``,
    ``converged`` (joined an open room) and ``suppressed`` (snoozed) count alerts first seen in
    it; rooms count the rooms alerts opened in it; the auto-resolve rate is auto-resolved rooms
    over rooms opened by alerts that were resolved in the period; MTTA is from first seen to
    acknowledged, for the alerts acknowledged in the period.
    """
    deliveries = AlertDelivery.objects.filter(received_at__gte=start, received_at__lt=end)
    received = deliveries.aggregate(received=Coalesce(Sum("alert_count"), 0), duplicates=Coalesce(Sum("duplicate_count"), 0))
    new = Alert.objects.filter(first_seen__gte=start, first_seen__lt=end)
    alerts = new.aggregate(
        unique=Count("id"),
        converged=Count("id", filter=Q(attachment=Attachment.GROUPED)),
        suppressed=Count("id", filter=Q(attachment=Attachment.SUPPRESSED)),
    )
    person = Exists(Message.objects.filter(room=OuterRef("room"), sender__isnull=False)) | Exists(
        Alert.objects.filter(room=OuterRef("room"), acknowledged_at__isnull=False)
    )
    groups = AlertGroup.objects.aggregate(
        rooms_opened=Count("id", filter=Q(opened_at__gte=start, opened_at__lt=end)),
        handled_by_person=Count("id", filter=Q(opened_at__gte=start, opened_at__lt=end) & Q(person)),
        auto_resolved=Count("id", filter=Q(auto_resolved_at__gte=start, auto_resolved_at__lt=end)),
        rooms_resolved=Count("id", filter=Q(room__resolved_at__gte=start, room__resolved_at__lt=end)),
    )
    acked = Alert.objects.filter(acknowledged_at__gte=start, acknowledged_at__lt=end).aggregate(
        count=Count("id"),
        mean=Avg(ExpressionWrapper(F("acknowledged_at") - F("first_seen"), output_field=DurationField())),
    )
    categories = list(new.values_list("category").annotate(n=Count("id")).order_by("-n", "category")[:TOP_CATEGORIES])
    sources = list(
        deliveries.values_list("source__name").annotate(n=Sum("alert_count")).order_by("-n", "source__name")[:TOP_NOISY]
    )
    names = list(
        Alert.objects.filter(last_seen__gte=start, last_seen__lt=end)
        .values_list("alertname").annotate(n=Sum("occurrences")).order_by("-n", "alertname")[:TOP_NOISY]
    )
    rate = groups["auto_resolved"] / groups["rooms_resolved"] if groups["rooms_resolved"] else None
    return {
        **received,
        **alerts,
        "rooms_opened": groups["rooms_opened"],
        "handled_by_person": groups["handled_by_person"],
        "auto_resolved": groups["auto_resolved"],
        "alert_rooms_resolved": groups["rooms_resolved"],
        "auto_resolve_rate": None if rate is None else round(rate, 3),
        "acknowledged": acked["count"],
        "mtta_minutes": _minutes(acked["mean"]),
        "categories": [{"category": name, "count": n} for name, n in categories],
        "noisiest_sources": [{"source": name, "count": n} for name, n in sources],
        "noisiest_alertnames": [{"alertname": name, "count": n} for name, n in names],
    }
