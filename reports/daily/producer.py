"""Producing a day's report exactly once, and the tasks beat runs.

Exactly once per day, however many beats, retries and manual runs: the
(kind, period_date) unique constraint makes one row per day, a claim on that
row (``lifecycle.claim``, one conditional UPDATE) keeps the work to one process
even without a shared cache, and a cache lock keeps a second worker from even
trying while the first one runs.

Missed days: beat itself runs a missed 08:00 once when it comes back (its
crontab is due as soon as the last run is older than the last 08:00), and every
scheduled run also produces any day missing among the ``DAILY_REPORT_CATCHUP_DAYS``
before it (from the first daily report on), so a beat that was down for longer
still leaves no gap.
"""

import logging
import traceback
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import OperationalError
from django.db.models import Min, Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from config import metrics
from reports import delivery, kpis, lifecycle
from reports.daily.document import build_daily_docx, daily_parcel, daily_title
from reports.daily.schedule import TASK_NAME
from reports.models import IN_FLIGHT_STATUSES, Report, ReportKind, ReportStatus, report_document_path

logger = logging.getLogger(__name__)

COLLECTING, ASSEMBLING = _("Collecting the figures"), _("Assembling the document")
COLLECTING_PERCENT, ASSEMBLING_PERCENT = 10, 60


@dataclass
class DailyRun:
    report: Report | None
    produced: bool  # this call did the work
    reason: str = ""  # why it did not


def _lock_key(day: date) -> str:
    return f"reports:daily:{day.isoformat()}"


def _take_lock(key: str, token: str) -> bool:
    try:
        return cache.add(key, token, timeout=settings.DAILY_REPORT_LOCK_SECONDS)
    except Exception:  # noqa: BLE001 - the database claim below still keeps the work to one worker
        logger.warning("Cache unavailable for the daily report lock %s; relying on the database claim", key)
        return True


def _release_lock(key: str, token: str) -> None:
    try:
        if cache.get(key) == token:
            cache.delete(key)
    except Exception:  # noqa: BLE001 - it expires by itself
        logger.warning("Could not release the daily report lock %s", key)


def daily_report_produce(*, day: date, force=False, deliver=True, requested_by=None) -> DailyRun:
    """Produce the daily report of ``day`` unless it exists; ``force`` writes it again (same row)."""
    key, token = _lock_key(day), uuid.uuid4().hex
    if not _take_lock(key, token):
        existing = Report.objects.filter(kind=ReportKind.DAILY, period_date=day).first()
        return DailyRun(existing, False, "another worker is producing this day")
    try:
        return _produce(day, force=force, deliver=deliver, requested_by=requested_by)
    finally:
        _release_lock(key, token)


def _claim(report: Report, *, force: bool) -> bool:
    """Take the day's row if nobody else is at work on it (a stuck run's row may be taken again)."""
    now = timezone.now()
    stuck = now - timedelta(seconds=settings.REPORT_STUCK_AFTER_SECONDS)
    claimable = Q(status__in=[ReportStatus.PENDING, ReportStatus.FAILED]) | Q(
        status__in=IN_FLIGHT_STATUSES, stage_started_at__lt=stuck
    )
    if force:
        claimable |= Q(status=ReportStatus.COMPLETED)
    return lifecycle.claim(
        report.pk, source=claimable, target=ReportStatus.COLLECTING_DATA,
        step=lifecycle.text_in(report.language, COLLECTING), percent=COLLECTING_PERCENT, started_at=now,
        stage_started_at=now, completed_at=None, error_message="", error_detail="", attempts=report.attempts + 1,
    )


def _figures(day: date) -> dict:
    window = kpis.day_window(day)
    figures = kpis.collect_kpis(window)
    return {
        "period": {"date": day.isoformat(), "start": window.start.isoformat(), "end": window.end.isoformat(),
                   "time_zone": settings.DAILY_REPORT_TIME_ZONE},
        "generated_at": timezone.now().isoformat(),
        "health": kpis.health_of(figures),
        "kpis": figures,
    }


def _write(report: Report, day: date) -> dict:
    content = _figures(day)
    Report.objects.filter(pk=report.pk).update(
        status=ReportStatus.ASSEMBLING_DOCUMENT, step=str(ASSEMBLING), percent=ASSEMBLING_PERCENT,
        stage_started_at=timezone.now(),
    )
    document = build_daily_docx(content)
    report.refresh_from_db()
    path = report_document_path(report, "")
    if report.document.storage.exists(path):
        # A forced re-run replaces the day's file instead of writing a suffixed copy beside it.
        report.document.storage.delete(path)
    report.document.save(f"{day.isoformat()}.docx", ContentFile(document), save=False)
    report.content = content
    report.title = daily_title(day)
    report.status = ReportStatus.COMPLETED
    report.step, report.percent = "", 100
    report.document_size = len(document)
    report.completed_at = timezone.now()
    report.delivery = {}
    report.save()
    return content


def _produce(day, *, force, deliver, requested_by) -> DailyRun:
    language = settings.REPORT_LANGUAGE
    with translation.override(language):
        report, _created = Report.objects.get_or_create(
            kind=ReportKind.DAILY, period_date=day,
            defaults={"title": daily_title(day), "requested_by": requested_by, "language": language},
        )
    if not _claim(report, force=force):
        report.refresh_from_db()
        reason = "already produced" if report.status == ReportStatus.COMPLETED else "in progress elsewhere"
        return DailyRun(report, False, reason)
    try:
        with translation.override(report.language):
            content = _write(report, day)
    except Exception as exc:
        logger.exception("The daily report of %s failed", day)
        lifecycle.fail(report.pk, detail="".join(traceback.format_exception(exc))[-5000:])
        raise
    logger.info("Daily report %s produced (%s)", day, content["health"]["label"])
    metrics.report_finished(kind=ReportKind.DAILY, status=ReportStatus.COMPLETED)
    if deliver:
        deliver_daily_report.delay(str(report.id))
    return DailyRun(report, True)


def missing_days(target: date) -> list[date]:
    """Days before ``target`` (within the catch-up span, from the first daily report on) with no completed report."""
    first = Report.objects.filter(kind=ReportKind.DAILY).aggregate(first=Min("period_date"))["first"]
    if first is None:
        return []
    candidates = [target - timedelta(days=n) for n in range(settings.DAILY_REPORT_CATCHUP_DAYS, 0, -1)]
    done = set(
        Report.objects.filter(kind=ReportKind.DAILY, status=ReportStatus.COMPLETED, period_date__in=candidates)
        .values_list("period_date", flat=True)
    )
    return [day for day in candidates if day >= first and day not in done]


@shared_task(name=TASK_NAME, autoretry_for=(OperationalError,), retry_backoff=60, max_retries=3)
def daily_report(day=None):
    """Beat's entry point: yesterday's report, then any missed day; with ``day`` (ISO date), that day only."""
    if day:
        runs = [daily_report_produce(day=date.fromisoformat(day))]
    else:
        target = kpis.report_day_for(timezone.now())
        runs = [daily_report_produce(day=target)]
        runs += [daily_report_produce(day=missed) for missed in missing_days(target)]
    return [
        {"date": run.report.period_date.isoformat() if run.report else None, "produced": run.produced,
         "reason": run.reason}
        for run in runs
    ]


@shared_task(name="reports.deliver_daily_report", soft_time_limit=900, time_limit=960)
def deliver_daily_report(report_id):
    report = Report.objects.filter(pk=report_id, status=ReportStatus.COMPLETED).first()
    if report is None:
        return {}
    with translation.override(report.language):
        return delivery.deliver(report, daily_parcel(report))
