"""Pages for operators: the daily reports, writing or backfilling a day, and the downloads."""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from kombu.exceptions import OperationalError as BrokerError

from reports import kpis
from reports.daily.document import health_label
from reports.daily.producer import daily_report
from reports.models import Report, ReportKind, ReportStatus

def _require_staff(request):
    if not request.user.is_staff:
        raise PermissionDenied


def _room_counts(rooms) -> list:
    if not rooms or rooms.get("unavailable"):
        return ["—"] * 3
    return [rooms["opened"], rooms["resolved"], rooms["still_open"]]


def _today():
    return timezone.now().astimezone(kpis.report_timezone()).date()


def _partial(report) -> bool:
    """Written before its day ended (a backfill of today): its figures are not the whole day."""
    written = report.completed_at or report.created_at
    return written < kpis.day_window(report.period_date).end


@login_required
def daily_list(request):
    _require_staff(request)
    reports = Report.objects.filter(kind=ReportKind.DAILY).order_by("-period_date")[:90]
    rows = []
    for report in reports:
        content = report.content or {}
        health_key = content.get("health", {}).get("label", "")
        rows.append({
            "report": report,
            "health": health_label(health_key),
            "health_key": health_key,
            "partial": _partial(report),
            "counts": _room_counts(content.get("kpis", {}).get("rooms")),
            "delivery": sorted((report.delivery or {}).items()),
        })
    return render(request, "reports/daily_list.html", {
        "rows": rows, "yesterday": kpis.report_day_for(), "time_zone": kpis.report_timezone().key,
    })


@login_required
@require_POST
def daily_write(request):
    """Write (or backfill) one finished day now, through the same task beat runs."""
    _require_staff(request)
    try:
        day = date.fromisoformat(request.POST.get("day", ""))
    except ValueError:
        messages.error(request, _("Choose a day to write."))
        return redirect("reports:daily-list")
    if day >= _today():
        messages.error(request, _("%(day)s has not ended yet (Asia/Taipei): its report can be written from tomorrow.")
                       % {"day": day.isoformat()})
        return redirect("reports:daily-list")

    try:
        daily_report.delay(day.isoformat())
    except BrokerError:
        messages.error(request, _("The background worker queue is unavailable; try again shortly."))
        return redirect("reports:daily-list")
    messages.success(request, _("The report of %(day)s is being written; reload this page in a minute.")
                     % {"day": day.isoformat()})
    return redirect("reports:daily-list")


@login_required
def daily_download(request, day):
    _require_staff(request)
    try:
        period = date.fromisoformat(day)
    except ValueError:
        raise Http404 from None
    report = Report.objects.filter(kind=ReportKind.DAILY, period_date=period, status=ReportStatus.COMPLETED).first()
    if report is None or not report.document:
        raise Http404
    return FileResponse(
        report.document.open("rb"),
        as_attachment=True,
        filename=f"warroom-daily-{period.isoformat()}.docx",
        content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
