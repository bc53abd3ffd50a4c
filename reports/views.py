"""Pages for operators: the daily reports and their downloads."""

from datetime import date

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import render

from reports.daily.document import health_label
from reports.models import Report, ReportKind, ReportStatus


def _require_staff(request):
    if not request.user.is_staff:
        raise PermissionDenied


def _room_counts(rooms) -> list:
    if not rooms or rooms.get("unavailable"):
        return ["—"] * 3
    return [rooms["opened"], rooms["resolved"], rooms["still_open"]]


@login_required
def daily_list(request):
    _require_staff(request)
    reports = Report.objects.filter(kind=ReportKind.DAILY).order_by("-period_date")[:90]
    rows = []
    for report in reports:
        content = report.content or {}
        rows.append({
            "report": report,
            "health": health_label(content.get("health", {}).get("label", "")),
            "health_key": content.get("health", {}).get("label", ""),
            "counts": _room_counts(content.get("kpis", {}).get("rooms")),
            "delivery": sorted((report.delivery or {}).items()),
        })
    return render(request, "reports/daily_list.html", {"rows": rows})


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
