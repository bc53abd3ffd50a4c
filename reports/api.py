"""Report API: generate, list, detail, download. Members of the room (and operators) only; 404 for everyone else."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

from django.http import FileResponse, Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import Conflict, ServiceError
from config.throttling import ScopedRateThrottle, UserRateThrottle
from incidents.selectors import room_for_user_or_404, rooms_visible_to
from incidents.services import require_can_start_work
from reports import ledger, review
from reports.models import Report, ReportStatus, ReportVersion
from reports.prompts import in_language
from reports.serializers import (
    ReportContentInputSerializer,
    ReportDetailSerializer,
    ReportGenerateInputSerializer,
    ReportGenerateOutputSerializer,
    ReportListSerializer,
    ReportVersionSerializer,
    SectionRegenerateInputSerializer,
)
from reports.services import report_request

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_UNSAFE_NAME = str.maketrans({c: "-" for c in '/\\:*?"<>|\r\n\t'})


def _room_or_404(request, room_id):
    return room_for_user_or_404(user=request.user, room_id=room_id)


def _report_or_404(room, report_id) -> Report:
    report = Report.objects.select_related("requested_by").filter(room=room, id=report_id).first()
    if report is None:
        raise Http404
    return report


def download_filename(report: Report, room) -> str:
    """Incident-report-<room title>-2026-11-21.docx, the head in the report's language; safe as a file name."""
    day = timezone.localtime(report.completed_at or report.created_at or timezone.now(),
                             timezone.get_default_timezone()).date()
    with in_language(report.language):
        head = pgettext("file name", "Postmortem") if report.kind == "postmortem" \
            else pgettext("file name", "Incident-report")
    title = " ".join(room.title.translate(_UNSAFE_NAME).split())[:80].strip(". ") or "room"
    return f"{head}-{title}-{date.isoformat(day)}.docx"


class ReportGenerateView(APIView):
    throttle_classes = [UserRateThrottle, ScopedRateThrottle]
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
        return Response(ReportDetailSerializer(_report_or_404(room, report_id)).data)


def _version_number(request, name: str, *, required: bool = False) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, "") and not required:
        return None
    if not (raw or "").isascii() or not (raw or "").isdigit() or not 0 < int(raw) < 2**31:
        raise ServiceError(_("`%(name)s` must be a version number.") % {"name": name},
                           details={name: [_("Expected a positive whole number.")]})
    return int(raw)


class ReportDownloadView(APIView):
    @extend_schema(parameters=[OpenApiParameter("version", int, description="An older version (default: the latest)")],
                   responses={(200, DOCX): bytes})
    def get(self, request, room_id, report_id):
        room = _room_or_404(request, room_id)
        report = _report_or_404(room, report_id)
        if report.status != ReportStatus.COMPLETED or not report.document:
            raise Conflict(_("The report is not ready yet."), code="not_ready", details={"status": report.status})
        number = _version_number(request, "version")
        document = report.document
        if number is not None:
            version = report.versions.filter(number=number).first()
            if version is None or not version.document:
                raise Http404
            document = version.document
        handle = document.open("rb")
        response = FileResponse(handle, content_type=DOCX, as_attachment=True,
                                filename=download_filename(report, room))
        # Django writes filename*=utf-8''...; a plain ASCII fallback helps old clients.
        name = download_filename(report, room)
        response["Content-Disposition"] = (
            f"attachment; filename=\"report-{report.id}.docx\"; filename*=utf-8''{quote(name)}"
        )
        response["Cache-Control"] = "private, no-store"
        return response


# --- Review: versions, edits, a section rewritten, compare, sign off ---------------------------------


class ReportVersionsView(APIView):
    @extend_schema(responses=ReportVersionSerializer(many=True))
    def get(self, request, room_id, report_id):
        report = _report_or_404(_room_or_404(request, room_id), report_id)
        versions = report.versions.select_related("author", "report").order_by("-number")
        return Response(ReportVersionSerializer(versions, many=True).data)


class ReportContentView(APIView):
    @extend_schema(request=ReportContentInputSerializer, responses={200: ReportVersionSerializer})
    def patch(self, request, room_id, report_id):
        report = _report_or_404(_room_or_404(request, room_id), report_id)
        data = ReportContentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = review.report_edit(report=report, by=request.user, base_version=data.validated_data["base_version"],
                                     sections=data.validated_data["sections"])
        return Response(ReportVersionSerializer(version).data)


class SectionRegenerateView(APIView):
    throttle_classes = [UserRateThrottle, ScopedRateThrottle]
    throttle_scope = "report_generate"

    @extend_schema(request=SectionRegenerateInputSerializer, responses={202: None})
    def post(self, request, room_id, report_id, key):
        report = _report_or_404(_room_or_404(request, room_id), report_id)
        data = SectionRegenerateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review.section_regenerate_request(report=report, key=key, by=request.user,
                                          instruction=data.validated_data.get("instruction", ""))
        return Response({"report_id": report.id, "section": key, "status": "queued"},
                        status=status.HTTP_202_ACCEPTED)


class ReportDiffView(APIView):
    @extend_schema(parameters=[OpenApiParameter("from", int, required=True), OpenApiParameter("to", int, required=True)],
                   responses=OpenApiTypes.OBJECT)
    def get(self, request, room_id, report_id):
        report = _report_or_404(_room_or_404(request, room_id), report_id)
        first = _version_number(request, "from", required=True)
        second = _version_number(request, "to", required=True)
        return Response(review.versions_diff(report, first, second))


class ReportFinalizeView(APIView):
    @extend_schema(request=None, responses=ReportDetailSerializer)
    def post(self, request, room_id, report_id):
        report = _report_or_404(_room_or_404(request, room_id), report_id)
        return Response(ReportDetailSerializer(review.report_finalize(report=report, by=request.user)).data)


class LedgerMonthsView(APIView):
    """What AI cost per month over the rooms the caller may see (the dashboard's AI card)."""

    @extend_schema(parameters=[OpenApiParameter("months", int, description="How many months, newest first (1-24)")],
                   responses=OpenApiTypes.OBJECT)
    def get(self, request):
        months = _version_number(request, "months") or 6
        if months > 24:
            raise ServiceError(_("`months` is at most 24."), details={"months": [_("Too many.")]})
        versions = ReportVersion.objects.filter(report__room__in=rooms_visible_to(request.user))
        return Response({"months": ledger.monthly_totals(versions, months=months)})
