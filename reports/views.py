"""Pages for operators: the daily reports, writing or backfilling a day, and the downloads."""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from kombu.exceptions import OperationalError as BrokerError

from incidents.selectors import room_for_user_or_404
from incidents.services import can_contribute, can_manage
from reports import kpis, ledger
from reports.daily.document import health_label
from reports.daily.producer import daily_report
from reports.models import Report, ReportKind, ReportStatus
from reports.page_strings import REVIEW
from reports.pipeline.assemble import labels_for
from reports.prompts import CITED_SECTIONS, sections_for
from reports.review import REVIEWED_KINDS

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


@login_required
def report_review(request, room_id, report_id):
    """A report as people review it: sections to edit, rewrite, compare and sign off (static/js/report_review.js)."""
    room = room_for_user_or_404(user=request.user, room_id=room_id)
    report = Report.objects.filter(room=room, id=report_id, kind__in=REVIEWED_KINDS,
                                   status=ReportStatus.COMPLETED).select_related("approved_by").first()
    if report is None:
        raise Http404
    kind = sections_for(report.kind)
    config = {
        "roomId": str(room.id), "reportId": str(report.id), "socket": f"/ws/rooms/{room.id}/",
        "api": f"/api/rooms/{room.id}/reports/{report.id}",
        "roomUrl": reverse("incidents:room-detail", args=[room.id]),
        "sections": [{"key": key, "title": str(kind.title(key, report.language)),
                      "fields": kind.list_fields.get(key), "cited": key in CITED_SECTIONS} for key in kind.keys],
        "fieldLabels": {field: str(label) for field, label in _field_labels(report.language).items()},
        "canEdit": can_contribute(room=room, user=request.user), "canFinalize": can_manage(room=room, user=request.user),
    }
    return render(request, "reports/report_review.html", {
        "room": room, "report": report, "ledger_label": ledger.label(report.ledger),
        "review_config": config, "strings": {key: str(value) for key, value in REVIEW.items()},
    })


def _field_labels(language: str) -> dict:
    labels = labels_for(language)
    return {field: labels.get(field, field) for field in
            ("time", "event", "name", "role", "contribution", "action", "owner", "due", "source")}
