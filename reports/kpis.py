"""The numbers of the daily report: one calendar day (Asia/Taipei) of incidents and reports.

Each source is collected on its own, inside its own savepoint: when one query
fails (a missing column after a bad deploy, a timeout), that part of the report
is marked unavailable with its cause, the cause is logged, and every other part
still comes out. On PostgreSQL the savepoint also matters because a failed
query would otherwise abort the surrounding transaction for the sources after it.

Percentiles use the nearest-rank definition on every database: PostgreSQL's
``percentile_disc`` in the same aggregate query, elsewhere (SQLite) one
``ORDER BY ... OFFSET k LIMIT 1`` query per percentile, which picks the same row.
"""

import logging
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Aggregate, Avg, Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from alerts.selectors import alert_kpis
from knowledge.selectors import knowledge_kpis
from incidents.models import IncidentRoom, RoomStatus, Severity
from reports.models import Report, ReportKind, ReportStatus

logger = logging.getLogger(__name__)

TOP_CATEGORIES = 10
LONGEST_OPEN = 5
TREND_DAYS = 7
UNCATEGORIZED = "未分類 Uncategorized"


def report_timezone() -> ZoneInfo:
    return ZoneInfo(settings.DAILY_REPORT_TIME_ZONE)


@dataclass(frozen=True)
class Window:
    """One calendar day in the report's zone, as aware datetimes [start, end)."""

    day: date
    start: datetime
    end: datetime


def day_window(day: date) -> Window:
    start = datetime.combine(day, time.min, tzinfo=report_timezone())
    # Wall-clock arithmetic: the next midnight, whatever the zone's offsets do.
    return Window(day=day, start=start, end=datetime.combine(day + timedelta(days=1), time.min, tzinfo=start.tzinfo))


def report_day_for(moment: datetime | None = None) -> date:
    """The day a run at ``moment`` reports on: the day before, in the report's zone."""
    moment = moment or timezone.now()
    return moment.astimezone(report_timezone()).date() - timedelta(days=1)


def _minutes(duration: timedelta | None) -> float | None:
    if duration is None:
        return None
    return round(duration.total_seconds() / 60, 1)


def _local(moment: datetime) -> str:
    return moment.astimezone(report_timezone()).isoformat()


def _open_at(moment: datetime) -> Q:
    """Rooms opened before ``moment`` and not resolved by then."""
    still_active = Q(resolved_at__isnull=True, status=RoomStatus.ACTIVE)
    return Q(created_at__lt=moment) & (still_active | Q(resolved_at__gte=moment))


def _opened_in(window: Window) -> Q:
    return Q(created_at__gte=window.start, created_at__lt=window.end)


def _resolved_in(window: Window) -> Q:
    return Q(resolved_at__gte=window.start, resolved_at__lt=window.end)


def _duration():
    return ExpressionWrapper(F("resolved_at") - F("created_at"), output_field=DurationField())


class PercentileDisc(Aggregate):
    """PostgreSQL's nearest-rank percentile of a duration."""

    function = "percentile_disc"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), output_field=DurationField(), **extra)


# --- Sources: each takes the window and returns a JSON-ready dict ----------------


def rooms_source(window: Window) -> dict:
    return IncidentRoom.objects.aggregate(
        opened=Count("id", filter=_opened_in(window)),
        resolved=Count("id", filter=_resolved_in(window)),
        still_open=Count("id", filter=_open_at(window.end)),
    )


def mttr_source(window: Window) -> dict:
    """Time to resolve the rooms resolved during the day (opened whenever)."""
    resolved = IncidentRoom.objects.filter(_resolved_in(window)).annotate(duration=_duration())
    fractions = {"p50": 0.5, "p90": 0.9}
    if connections[resolved.db].vendor == "postgresql":
        numbers = resolved.aggregate(
            count=Count("id"),
            mean=Avg("duration"),
            **{name: PercentileDisc("duration", fraction) for name, fraction in fractions.items()},
        )
    else:
        numbers = resolved.aggregate(count=Count("id"), mean=Avg("duration"))
        ordered = resolved.order_by("duration", "id").values_list("duration", flat=True)
        for name, fraction in fractions.items():
            rank = max(math.ceil(fraction * numbers["count"]), 1)
            numbers[name] = ordered[rank - 1] if numbers["count"] else None
    return {
        "count": numbers["count"],
        "mean_minutes": _minutes(numbers["mean"]),
        "p50_minutes": _minutes(numbers["p50"]),
        "p90_minutes": _minutes(numbers["p90"]),
    }


def severity_source(window: Window) -> dict:
    counts = dict(
        IncidentRoom.objects.filter(_opened_in(window)).values_list("severity").annotate(n=Count("id")).order_by()
    )
    return {"counts": {value: counts.get(value, 0) for value in Severity.values}}


def category_source(window: Window) -> dict:
    rows = list(
        IncidentRoom.objects.filter(_opened_in(window))
        .values_list("category")
        .annotate(n=Count("id"))
        .order_by("-n", "category")
    )
    top = [{"category": name or UNCATEGORIZED, "count": n} for name, n in rows[:TOP_CATEGORIES]]
    return {"top": top, "others": sum(n for _, n in rows[TOP_CATEGORIES:])}


def longest_open_source(window: Window) -> dict:
    rooms = IncidentRoom.objects.filter(_open_at(window.end)).order_by("created_at", "id")[:LONGEST_OPEN]
    return {
        "rooms": [
            {
                "id": str(room.id),
                "title": room.title,
                "severity": room.severity,
                "category": room.category,
                "opened_at": _local(room.created_at),
                "open_minutes": _minutes(window.end - room.created_at),
            }
            for room in rooms
        ]
    }


def reports_source(window: Window) -> dict:
    """Reports written from rooms during the day (the daily report itself not counted)."""
    rows = (
        Report.objects.exclude(kind=ReportKind.DAILY)
        .filter(created_at__gte=window.start, created_at__lt=window.end)
        .values_list("kind", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_kind: dict[str, dict[str, int]] = {}
    totals = {"generated": 0, "failed": 0, "in_progress": 0}
    for kind, status, n in rows:
        bucket = {ReportStatus.COMPLETED: "generated", ReportStatus.FAILED: "failed"}.get(status, "in_progress")
        totals[bucket] += n
        by_kind.setdefault(kind, {"generated": 0, "failed": 0, "in_progress": 0})[bucket] += n
    return {**totals, "by_kind": by_kind}


def tokens_source(window: Window) -> dict:
    rows = (
        Report.objects.filter(created_at__gte=window.start, created_at__lt=window.end)
        .exclude(provider="")
        .values_list("provider")
        .annotate(reports=Count("id"), prompt=Sum("prompt_tokens"), completion=Sum("completion_tokens"))
        .order_by("provider")
    )
    writers = [
        {"writer": writer, "reports": n, "prompt_tokens": prompt, "completion_tokens": completion,
         "total_tokens": prompt + completion}
        for writer, n, prompt, completion in rows
    ]
    writers.sort(key=lambda row: (-row["total_tokens"], row["writer"]))
    return {"writers": writers, "total_tokens": sum(row["total_tokens"] for row in writers)}


def postmortems_source(window: Window) -> dict:
    postmortems = (
        Report.objects.filter(kind=ReportKind.POSTMORTEM, created_at__gte=window.start, created_at__lt=window.end)
        .select_related("room")
        .order_by("created_at")
    )
    produced = [
        {"room": report.room.title if report.room else "", "status": report.status} for report in postmortems
    ]
    return {
        "produced": sum(1 for row in produced if row["status"] == ReportStatus.COMPLETED),
        "failed": sum(1 for row in produced if row["status"] == ReportStatus.FAILED),
        "reports": produced,
    }


def trend_source(window: Window) -> dict:
    """Rooms opened and resolved on each of the seven days ending with this one."""
    first = day_window(window.day - timedelta(days=TREND_DAYS - 1))
    zone = report_timezone()
    opened = dict(
        IncidentRoom.objects.filter(created_at__gte=first.start, created_at__lt=window.end)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values_list("day")
        .annotate(n=Count("id"))
        .order_by()
    )
    resolved = dict(
        IncidentRoom.objects.filter(resolved_at__gte=first.start, resolved_at__lt=window.end)
        .annotate(day=TruncDate("resolved_at", tzinfo=zone))
        .values_list("day")
        .annotate(n=Count("id"))
        .order_by()
    )
    days = [first.day + timedelta(days=offset) for offset in range(TREND_DAYS)]
    return {
        "days": [
            {"date": day.isoformat(), "opened": opened.get(day, 0), "resolved": resolved.get(day, 0)} for day in days
        ]
    }


def alerts_source(window: Window) -> dict:
    """Alert intake of the day: received, unique, duplicates, rooms opened, auto-resolved, MTTA (alerts/selectors.py)."""
    return alert_kpis(start=window.start, end=window.end)


def knowledge_source(window: Window) -> dict:
    """New knowledge entries by kind, runbooks in all, assistant questions and their 👍 share (knowledge/selectors.py)."""
    return knowledge_kpis(start=window.start, end=window.end)


# Name -> source. Tests replace one entry to prove the others still come out.
SOURCES = {
    "rooms": rooms_source,
    "mttr": mttr_source,
    "severity": severity_source,
    "category": category_source,
    "longest_open": longest_open_source,
    "reports": reports_source,
    "tokens": tokens_source,
    "postmortems": postmortems_source,
    "trend": trend_source,
    "alerts": alerts_source,
    "knowledge": knowledge_source,
}


def unavailable(section) -> bool:
    return isinstance(section, dict) and bool(section.get("unavailable"))


def collect_kpis(window: Window) -> dict:
    """Every source's numbers, or ``{"unavailable": True, "reason": ...}`` for those that failed."""
    kpis = {}
    for name, source in SOURCES.items():
        try:
            with transaction.atomic():
                kpis[name] = source(window)
        except Exception as exc:  # noqa: BLE001 - one broken source must not sink the report
            logger.exception("Daily report %s: the %s figures are unavailable", window.day, name)
            kpis[name] = {"unavailable": True, "reason": f"{type(exc).__name__}: {str(exc)[:200]}"}
    return kpis


# --- Health label -------------------------------------------------------------------

GOOD, WATCH, ATTENTION = "good", "watch", "attention"
_LEVELS = [GOOD, WATCH, ATTENTION]


def _graded(value, watch, attention) -> str:
    if value is None:
        return GOOD
    if value >= attention:
        return ATTENTION
    if value >= watch:
        return WATCH
    return GOOD


def health_of(kpis: dict) -> dict:
    """good / watch / attention from the DAILY_HEALTH_* thresholds, with the reasons that set it."""
    findings = []  # (level, reason)
    rooms, mttr, severity, reports = (kpis.get(name, {}) for name in ("rooms", "mttr", "severity", "reports"))
    if not unavailable(rooms):
        level = _graded(rooms["still_open"], settings.DAILY_HEALTH_OPEN_WATCH, settings.DAILY_HEALTH_OPEN_ATTENTION)
        findings.append((level, _("%(count)d still open") % {"count": rooms["still_open"]}))
    if not unavailable(mttr):
        level = _graded(
            mttr["p90_minutes"],
            settings.DAILY_HEALTH_MTTR_P90_WATCH_MINUTES,
            settings.DAILY_HEALTH_MTTR_P90_ATTENTION_MINUTES,
        )
        if mttr["p90_minutes"] is not None:
            findings.append((level, _("MTTR p90 %(minutes)s min") % {"minutes": f"{mttr['p90_minutes']:g}"}))
    if not unavailable(severity):
        sev1 = severity["counts"].get(Severity.SEV1, 0)
        if sev1 >= settings.DAILY_HEALTH_SEV1_ATTENTION:
            findings.append((ATTENTION, _("%(count)d SEV1 opened") % {"count": sev1}))
    if not unavailable(reports):
        level = _graded(
            reports["failed"], settings.DAILY_HEALTH_FAILED_REPORTS_WATCH, settings.DAILY_HEALTH_FAILED_REPORTS_ATTENTION
        )
        if reports["failed"]:
            findings.append((level, ngettext("%(count)d report failed", "%(count)d reports failed", reports["failed"])
                             % {"count": reports["failed"]}))
    missing = [name for name, section in kpis.items() if unavailable(section)]
    if missing:
        findings.append((WATCH, _("unavailable: %(parts)s") % {"parts": ", ".join(missing)}))
    label = max((level for level, _ in findings), key=_LEVELS.index, default=GOOD)
    return {"label": label, "reasons": [reason for level, reason in findings if level != GOOD]}
