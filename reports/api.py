"""Report API: generate, list, detail, download. Members of the room (and operators) only; 404 for everyone else."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote
from zoneinfo import ZoneInfo

from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle, UserRateThrottle
from rest_framework.views import APIView

from config.errors import Conflict
from incidents.selectors import room_get_for_user
from incidents.services import require_can_start_work
from reports.models import Report, ReportStatus
from reports.pipeline.reaper import reap_stuck_reports, stuck_reports
from reports.serializers import (
    ReportDetailSerializer,
    ReportGenerateInputSerializer,
    ReportGenerateOutputSerializer,
    ReportListSerializer,
)
from reports.services import report_request

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_UNSAFE_NAME = str.maketrans({c: "-" for c in '/\\:*?"<>|\r\n\t'})


def _room_or_404(request, room_id):
    room = room_get_for_user(user=request.user, room_id=room_id)
    if room is None:
        raise NotFound(_("No such room."))
    return room


def _report_or_404(room, report_id) -> Report:
    report = Report.objects.select_related("requested_by").filter(room=room, id=report_id).first()
    if report is None:
        raise NotFound(_("No such report."))
    return report


def download_filename(report: Report, room) -> str:
    """事件報告-<room title>-2026-11-21.docx: readable, and safe as a file name everywhere."""
    day = (report.completed_at or report.created_at or timezone.now()).astimezone(ZoneInfo("Asia/Taipei")).date()
    head = {"postmortem": "事後檢討報告"}.get(report.kind, "事件報告")
    if report.language == "en":
        head = {"postmortem": "Postmortem"}.get(report.kind, "Incident-report")
    title = " ".join(room.title.translate(_UNSAFE_NAME).split())[:80].strip(". ") or "room"
    return f"{head}-{title}-{date.isoformat(day)}.docx"


class ReportGenerateThrottle(ScopedRateThrottle):
    scope_attr = "throttle_scope"


class ReportGenerateView(APIView):
    throttle_classes = [UserRateThrottle, ReportGenerateThrottle]
    throttle_scope = "report_generate"

    @extend_schema(request=ReportGenerateInputSerializer, responses={202: ReportGenerateOutputSerializer})
    def post(self, request, room_id):
        room = _room_or_404(request, room_id)
        require_can_start_work(room=room, user=request.user)
        data = ReportGenerateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report, created = report_request(
            room=room, requested_by=request.user, kind=data.validated_data["kind"],
            language=data.validated_data.get("language"),
        )
        report.refresh_from_db(fields=["status"])
        body = {
            "report_id": report.id, "status": report.status, "created": created,
            "url": ReportListSerializer().get_url(report),
        }
        if room.is_active:
            body["warning"] = _("The room is still active: the report covers it only up to now.")
        return Response(ReportGenerateOutputSerializer(body).data, status=status.HTTP_202_ACCEPTED)


class ReportListView(generics.ListAPIView):
    serializer_class = ReportListSerializer
    queryset = Report.objects.none()  # for the schema generator, which has no room_id

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Report.objects.none()
        room = _room_or_404(self.request, self.kwargs["room_id"])
        return Report.objects.filter(room=room).select_related("requested_by").order_by("-created_at", "-id")


class ReportDetailView(APIView):
    @extend_schema(responses=ReportDetailSerializer)
    def get(self, request, room_id, report_id):
        room = _room_or_404(request, room_id)
        report = _report_or_404(room, report_id)
        if report.is_in_flight and stuck_reports().filter(id=report.id).exists():
            # Where no beat runs (the embedded default), looking at a stuck report reaps it.
            reap_stuck_reports(report_ids=[report.id])
            report = _report_or_404(room, report_id)
        return Response(ReportDetailSerializer(report).data)


class ReportDownloadView(APIView):
    @extend_schema(responses={(200, DOCX): bytes})
    def get(self, request, room_id, report_id):
        room = _room_or_404(request, room_id)
        report = _report_or_404(room, report_id)
        if report.status != ReportStatus.COMPLETED or not report.document:
            raise Conflict(_("The report is not ready yet."), code="not_ready", details={"status": report.status})
        handle = report.document.open("rb")
        response = FileResponse(handle, content_type=DOCX, as_attachment=True,
                                filename=download_filename(report, room))
        # Django writes filename*=utf-8''...; a plain ASCII fallback helps old clients.
        name = download_filename(report, room)
        response["Content-Disposition"] = (
            f"attachment; filename=\"report-{report.id}.docx\"; filename*=utf-8''{quote(name)}"
        )
        response["Cache-Control"] = "private, no-store"
        return response
