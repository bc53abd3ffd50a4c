"""Incident statistics from indexed aggregate queries (no row-by-row Python)."""

import math
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F
from django.db.models.functions import TruncDate
from django.utils import timezone

from incidents.models import IncidentRoom, RoomStatus

RANGES = {"7d": 7, "30d": 30, "90d": 90}

_DURATION = ExpressionWrapper(F("resolved_at") - F("created_at"), output_field=DurationField())


def _percentile(resolved, count, fraction):
    """Nearest-rank percentile of resolution time, computed by the database."""
    if count == 0:
        return None
    index = min(max(math.ceil(fraction * count) - 1, 0), count - 1)
    return resolved.annotate(ttr=_DURATION).order_by("ttr").values_list("ttr", flat=True)[index]


def _seconds(value):
    return None if value is None else round(value.total_seconds(), 1)


def room_statistics(*, rooms, days: int, now=None) -> dict:
    """Statistics of ``rooms`` (a queryset the caller may see) over the last ``days``."""
    now = now or timezone.now()
    zone = ZoneInfo(settings.TIME_ZONE)
    start = now - timedelta(days=days)
    opened = rooms.filter(created_at__gte=start)
    resolved = rooms.filter(resolved_at__gte=start, resolved_at__isnull=False)

    by_category = list(
        opened.values("category").annotate(count=Count("id")).order_by("-count", "category")[:20]
    )
    by_severity = list(opened.values("severity").annotate(count=Count("id")).order_by("severity"))
    opened_daily = dict(
        opened.annotate(day=TruncDate("created_at", tzinfo=zone)).values("day").annotate(n=Count("id")).values_list("day", "n")
    )
    resolved_daily = dict(
        resolved.annotate(day=TruncDate("resolved_at", tzinfo=zone)).values("day").annotate(n=Count("id")).values_list("day", "n")
    )
    today = now.astimezone(zone).date()
    daily = []
    for offset in range(days - 1, -1, -1):
        day = today - timedelta(days=offset)
        daily.append({"date": day.isoformat(), "opened": opened_daily.get(day, 0), "resolved": resolved_daily.get(day, 0)})

    resolved_count = resolved.count()
    mean = resolved.aggregate(mean=Avg(_DURATION))["mean"]
    opened_count = sum(row["opened"] for row in daily)
    stale = rooms.filter(status=RoomStatus.ACTIVE, created_at__lt=now - timedelta(hours=24))
    oldest = list(stale.order_by("created_at").values("id", "title", "severity", "created_at")[:10])
    return {
        "range_days": days,
        "opened": opened_count,
        "resolved": resolved_count,
        "resolution_rate": round(resolved_count / opened_count, 3) if opened_count else None,
        "by_category": [{"category": row["category"] or "", "count": row["count"]} for row in by_category],
        "by_severity": by_severity,
        "daily": daily,
        "mttr_seconds": {
            "mean": _seconds(mean),
            "p50": _seconds(_percentile(resolved, resolved_count, 0.5)),
            "p90": _seconds(_percentile(resolved, resolved_count, 0.9)),
        },
        "open_over_24h": {"count": stale.count(), "oldest": oldest},
    }


