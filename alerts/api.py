"""Webhook receivers for the senders, and the alert reads and acknowledge for people.

The receivers authenticate with the source's own token (``Authorization: Bearer``),
not with a person's: 401 without a valid one, 403 for a disabled source. They read
the body themselves so that every payload gets a considered answer: 413 past
``ALERT_MAX_BODY_BYTES``, 400 with the uniform error body for anything malformed,
503 when the database cannot be reached (the sender retries), and never a 500 for
what a sender wrote.
"""

import json
import logging

import django_filters
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.authentication import get_authorization_header
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts import selectors, services
from alerts.models import Alert, AlertStatus, SourceKind
from alerts.parsing import PARSERS, PayloadError
from alerts.serializers import AlertSerializer, IngestResultSerializer
from config import metrics
from config.api import error_body
from incidents.selectors import room_for_user_or_404, user_sees_all_rooms

logger = logging.getLogger(__name__)


def _error(status_code, code, message, details=None, headers=None) -> Response:
    return Response(error_body(code, message, details), status=status_code, headers=headers)


def _unauthorized(message) -> Response:
    return _error(401, "not_authenticated", message, headers={"WWW-Authenticate": 'Bearer realm="alerts"'})


class AlertReceiver(APIView):
    """Base of the three receivers: token, size, JSON, parse, ingest."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []
    kind: str = ""

    def _source(self, request):
        parts = get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != b"bearer":
            return None, _unauthorized(_("Send the source's token as “Authorization: Bearer <token>”."))
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            key = ""
        source = services.alert_source_for_token(key)
        if source is None:
            return None, _unauthorized(_("The alert source token is not valid."))
        if not source.enabled:
            return None, _error(403, "source_disabled", _("This alert source is disabled."))
        if source.kind != self.kind:
            return None, _error(
                403, "wrong_endpoint",
                _("This token belongs to a %(kind)s source; post to /api/alerts/%(kind)s.") % {"kind": source.kind},
            )
        return source, None

    def _payload(self, request):
        limit = settings.ALERT_MAX_BODY_BYTES
        too_large = _error(
            413, "too_large",
            _("An alert delivery is limited to %(limit)s KB.") % {"limit": f"{limit // 1024:,}"},
        )
        try:
            if int(request.META.get("CONTENT_LENGTH") or 0) > limit:
                return None, too_large
            body = request.body
        except RequestDataTooBig:
            return None, too_large
        except ValueError:
            return None, _error(400, "bad_request", _("The Content-Length header is not a number."))
        if len(body) > limit:
            return None, too_large
        try:
            return json.loads(body), None
        except (ValueError, RecursionError):
            return None, _error(400, "malformed_json", _("The body is not valid JSON."))

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: IngestResultSerializer}, auth=[])
    def post(self, request):
        response = self._receive(request)
        metrics.alert_delivery(source=self.kind, status=response.status_code)
        return response

    def _receive(self, request):
        try:
            source, refusal = self._source(request)
            if refusal is not None:
                return refusal
            payload, refusal = self._payload(request)
            if refusal is not None:
                return refusal
            try:
                incoming = PARSERS[self.kind](payload)
            except PayloadError as error:
                return _error(400, "invalid", error.message, error.details)
            result = services.alerts_ingest(source=source, incoming=incoming)
        except (OperationalError, InterfaceError) as error:
            # The database is the record: without it, the sender must keep the alert and retry.
            logger.error("Alert intake: database unavailable: %r", error)
            return _error(503, "service_unavailable", _("Warroom cannot store alerts right now; retry shortly."),
                          headers={"Retry-After": "30"})
        return Response(IngestResultSerializer(result).data, status=status.HTTP_200_OK)


class AlertmanagerReceiver(AlertReceiver):
    """Prometheus Alertmanager's webhook (payload version 4)."""

    kind = SourceKind.ALERTMANAGER


class GrafanaReceiver(AlertReceiver):
    """Grafana unified alerting's webhook contact point."""

    kind = SourceKind.GRAFANA


class GenericReceiver(AlertReceiver):
    """Warroom's generic alert shape (docs/alerts.md)."""

    kind = SourceKind.GENERIC


# --- People ---------------------------------------------------------------------------


class IsOperator(BasePermission):
    def has_permission(self, request, view):
        return user_sees_all_rooms(request.user)


class AlertFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=AlertStatus.choices)
    source = django_filters.CharFilter(method="filter_source", help_text="A source's id or name.")
    room = django_filters.UUIDFilter(field_name="room_id")

    class Meta:
        model = Alert
        fields = ["status", "source", "room"]

    def filter_source(self, queryset, name, value):
        return queryset.filter(source_id=int(value)) if value.isdigit() else queryset.filter(source__name=value)


class AlertListView(generics.ListAPIView):
    """Every alert, newest first (operators)."""

    serializer_class = AlertSerializer
    permission_classes = [IsOperator]
    filterset_class = AlertFilter
    queryset = Alert.objects.none()  # for the schema

    def get_queryset(self):
        return selectors.alerts_all()


class RoomAlertsView(APIView):
    @extend_schema(responses=AlertSerializer(many=True))
    def get(self, request, room_id):
        room = room_for_user_or_404(user=request.user, room_id=room_id)
        return Response(AlertSerializer(selectors.room_alerts(room=room), many=True).data)


class RoomAlertAckView(APIView):
    @extend_schema(request=None, responses=AlertSerializer)
    def post(self, request, room_id, alert_id):
        room = room_for_user_or_404(user=request.user, room_id=room_id)
        alert = get_object_or_404(selectors.room_alerts(room=room), id=alert_id)
        alert = services.alert_acknowledge(alert=alert, by=request.user)
        return Response(AlertSerializer(alert).data)
