"""Ticket notes over HTTP: the versions, Regenerate, and a Server-Sent Events stream.

The stream is an async view: it follows the room's latest notes version (or
``?report=<id>``) and relays that version's ``notes.delta`` events from the
channel layer, so a slow AI never holds a server thread. A GET only listens:
writing notes is a POST by a responder or commander (a GET that spent AI money
could be started by any cross-site link). Integrations read ``data:`` chunks,
then ``data: [DONE]`` or ``data: [ERROR] <message>``. Like the room WebSocket, the
stream ends when the caller's access does (realtime.access).
"""

import asyncio
import time
import uuid
from types import SimpleNamespace

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.http import Http404, JsonResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from config.api import error_body
from incidents.selectors import room_get_for_user
from incidents.services import require_can_start_work
from realtime import access
from reports.models import Report, ReportStatus
from reports.notes import latest_notes, notes_request

# How often a quiet stream re-checks the database (a missed event must not hang it).
POLL_SECONDS = 2.0
KEEPALIVE_SECONDS = 15.0


class NotesSerializer(serializers.ModelSerializer):
    text = serializers.SerializerMethodField()
    next_steps = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = ["id", "status", "language", "provider", "text", "next_steps", "error_message",
                  "prompt_tokens", "completion_tokens", "created_at", "completed_at"]

    def get_text(self, report) -> str:
        return (report.content or {}).get("text", "")

    def get_next_steps(self, report) -> list[str]:
        return (report.content or {}).get("next_steps", [])


class NotesGenerateSerializer(serializers.Serializer):
    language = serializers.ChoiceField(choices=["zh-hant", "en"], required=False)


def _room(request, room_id):
    room = room_get_for_user(user=request.user, room_id=room_id)
    if room is None:
        raise Http404
    return room


class RoomNotesView(APIView):
    """Every version of the room's ticket notes, newest first; POST writes a new version."""

    @extend_schema(responses=NotesSerializer(many=True))
    def get(self, request, room_id):
        return Response(NotesSerializer(latest_notes(_room(request, room_id))[:20], many=True).data)

    @extend_schema(request=NotesGenerateSerializer, responses={202: NotesSerializer})
    def post(self, request, room_id):
        room = _room(request, room_id)
        require_can_start_work(room=room, user=request.user)
        data = NotesGenerateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report, _created = notes_request(room=room, requested_by=request.user, language=data.validated_data.get("language"))
        return Response(NotesSerializer(report).data, status=status.HTTP_202_ACCEPTED)


class NotesStreamThrottle(UserRateThrottle):
    scope = "notes_stream"


def _sse(data: str, event: str | None = None) -> str:
    # A data field cannot hold a newline: each line becomes its own data: line.
    lines = "".join(f"data: {line}\n" for line in data.split("\n"))
    return (f"event: {event}\n" if event else "") + lines + "\n"


def _authenticate(request):
    from accounts.authentication import TokenAuthentication

    try:
        found = TokenAuthentication().authenticate(request)
    except exceptions.AuthenticationFailed:
        return None
    if found:
        return found[0], None
    if request.user.is_authenticated:
        return request.user, request.session.session_key
    return None, None


def _throttle_wait(user, request) -> float | None:
    throttle = NotesStreamThrottle()
    if throttle.allow_request(SimpleNamespace(user=user, META=request.META), None):
        return None
    return throttle.wait() or 1.0


def _final_event(report_id):
    report = Report.objects.filter(id=report_id).only("status", "content", "error_message").first()
    if report is None or report.status not in (ReportStatus.COMPLETED, ReportStatus.FAILED):
        return None
    if report.status == ReportStatus.COMPLETED:
        return ("done", (report.content or {}).get("text", ""))
    return ("failed", report.error_message)


def _follow(room, report_id):
    """The notes version to relay, its final event if it has one, and whether it had started."""
    versions = latest_notes(room)
    if report_id is not None:
        versions = versions.filter(id=report_id)
    report = versions.only("id", "status").first()
    if report is None:
        return None, None, False
    return report, _final_event(report.id), report.status != ReportStatus.PENDING


async def _relay(layer, channel, groups, report_id, *, listener, final=None, joined_late=False):
    relayed = False
    quiet = 0.0
    next_check = time.monotonic() + settings.REALTIME_ACCESS_RECHECK_SECONDS
    try:
        if final is not None:
            kind, text = final
            if kind == "done":
                if text:
                    yield _sse(text)
                yield "data: [DONE]\n\n"
            else:
                yield f"data: [ERROR] {text}\n\n"
            return
        while True:
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + settings.REALTIME_ACCESS_RECHECK_SECONDS
                if not await database_sync_to_async(access.still_allowed)(**listener):
                    return
            try:
                message = await asyncio.wait_for(layer.receive(channel), POLL_SECONDS)
            except asyncio.TimeoutError:
                final = await database_sync_to_async(_final_event)(report_id)
                if final is not None:
                    kind, text = final
                    if kind == "done":
                        if not relayed and text:
                            yield _sse(text)
                        yield "data: [DONE]\n\n"
                    else:
                        yield f"data: [ERROR] {text}\n\n"
                    return
                quiet += POLL_SECONDS
                if quiet >= KEEPALIVE_SECONDS:
                    quiet = 0.0
                    yield ": keep-alive\n\n"
                continue
            if message.get("type") == access.REVOKE:
                return
            if message.get("type") == access.RECHECK:
                if access.concerns(message, listener["user_id"]) and not await database_sync_to_async(
                    access.still_allowed
                )(**listener):
                    return
                continue
            payload = message.get("payload") or {}
            if message.get("type") != "room.event" or payload.get("report_id") != report_id:
                continue
            event = message["event"]
            if event == "notes.delta":
                relayed = True
                yield _sse(payload["delta"], "replace" if payload.get("replace") else None)
            elif event == "notes.done":
                if joined_late:
                    # The first pieces went out before this stream listened: send the whole text.
                    final = await database_sync_to_async(_final_event)(report_id)
                    if final is not None and final[0] == "done" and final[1]:
                        yield _sse(final[1], "replace")
                yield "data: [DONE]\n\n"
                return
            elif event == "notes.failed":
                yield f"data: [ERROR] {payload.get('message', '')}\n\n"
                return
    finally:
        for group in groups:
            await layer.group_discard(group, channel)


@extend_schema(
    summary="Stream new ticket notes as Server-Sent Events",
    responses={(200, "text/event-stream"): OpenApiResponse(description="data: chunks, then data: [DONE] or data: [ERROR] <message>")},
)
async def notes_stream(request, room_id):
    user, session_key = await database_sync_to_async(_authenticate)(request)
    if user is None:
        return JsonResponse(error_body("not_authenticated", "Authentication credentials were not provided."), status=401)
    room = await database_sync_to_async(room_get_for_user)(user=user, room_id=room_id)
    if room is None:
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    wait = await database_sync_to_async(_throttle_wait)(user, request)
    if wait is not None:
        response = JsonResponse(error_body("throttled", f"Too many note streams; try again in {int(wait) + 1} s."), status=429)
        response["Retry-After"] = str(int(wait) + 1)
        return response
    try:
        wanted = uuid.UUID(request.GET["report"]) if request.GET.get("report") else None
    except ValueError:
        return JsonResponse(error_body("invalid", _("`report` must be a notes version id.")), status=400)
    layer = get_channel_layer()
    channel = await layer.new_channel()
    listener = {"user_id": user.pk, "session_key": session_key, "room_id": room.id}
    groups = access.listener_groups(room_id=room.id, user_id=user.pk, session_key=session_key)
    # Listen before reading the version's state, so that not even the first token is missed.
    for group in groups:
        await layer.group_add(group, channel)
    try:
        report, final, joined_late = await database_sync_to_async(_follow)(room, wanted)
    except BaseException:
        for group in groups:
            await layer.group_discard(group, channel)
        raise
    if report is None:
        for group in groups:
            await layer.group_discard(group, channel)
        return JsonResponse(
            error_body("not_found", _("This room has no ticket notes yet; they are written when it is resolved.")),
            status=404,
        )
    relay = _relay(layer, channel, groups, str(report.id), listener=listener, final=final, joined_late=joined_late)
    response = StreamingHttpResponse(relay, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache, no-transform"
    response["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    response["X-Report-Id"] = str(report.id)
    return response
