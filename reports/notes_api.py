"""Ticket notes over HTTP: the versions, Regenerate, and a Server-Sent Events stream.

The stream is an async view: it follows the room's latest notes version (or
``?report=<id>``) and relays that version's ``notes.delta`` events from the
channel layer, so a slow AI never holds a server thread. A GET only listens:
writing notes is a POST by a responder or commander (a GET that spent AI money
could be started by any cross-site link). Integrations read ``data:`` chunks,
then ``data: [DONE]`` or ``data: [ERROR] <message>``. Like the room WebSocket, the
stream ends when the caller's access does (realtime.access).
"""

import uuid
from types import SimpleNamespace

from channels.db import database_sync_to_async
from django.http import JsonResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from accounts.authentication import TokenAuthentication
from config.api import error_body
from incidents.selectors import room_for_user_or_404, room_get_for_user
from incidents.services import require_can_start_work
from realtime import access
from reports.models import Report, ReportStatus
from reports.notes.service import latest_notes, notes_request

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
    return room_for_user_or_404(user=request.user, room_id=room_id)


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


DONE = "data: [DONE]\n\n"


def _error(message: str) -> str:
    return f"data: [ERROR] {message}\n\n"


def _ending(final, *, text_sent: bool) -> list[str]:
    """The last chunks of a stream whose notes ended (the whole text first if none of it was sent)."""
    kind, text = final
    if kind == "failed":
        return [_error(text)]
    return ([_sse(text)] if not text_sent and text else []) + [DONE]


async def _relay(next_event, report_id: str, *, joined_late: bool):
    """The version's pieces as SSE chunks until it ends; a quiet stream re-checks the database."""
    relayed, quiet = False, 0.0
    while True:
        built = await next_event(POLL_SECONDS)
        if built is None:
            final = await database_sync_to_async(_final_event)(report_id)
            if final is not None:
                for chunk in _ending(final, text_sent=relayed):
                    yield chunk
                return
            quiet += POLL_SECONDS
            if quiet >= KEEPALIVE_SECONDS:
                quiet = 0.0
                yield ": keep-alive\n\n"
            continue
        if built.payload.get("report_id") != report_id:
            continue
        if built.type == "notes.delta":
            relayed = True
            yield _sse(built.payload["delta"], "replace" if built.payload.get("replace") else None)
        elif built.type == "notes.done":
            if joined_late:
                # The first pieces went out before this stream listened: send the whole text.
                final = await database_sync_to_async(_final_event)(report_id)
                if final is not None and final[0] == "done" and final[1]:
                    yield _sse(final[1], "replace")
            yield DONE
            return
        elif built.type == "notes.failed":
            yield _error(built.payload.get("message", ""))
            return


async def _stream(room, user, session_key, wanted):
    """First the version followed (None: the room has none), then its chunks, while access lasts."""
    try:
        # Listen before reading the version's state, so that not even the first token is missed.
        async with access.listen(room_id=room.id, user_id=user.pk, session_key=session_key) as next_event:
            report, final, joined_late = await database_sync_to_async(_follow)(room, wanted)
            yield report
            if report is None:
                return
            if final is not None:
                for chunk in _ending(final, text_sent=False):
                    yield chunk
                return
            async for chunk in _relay(next_event, str(report.id), joined_late=joined_late):
                yield chunk
    except access.AccessEnded:
        return


def _refusal(user, room, request):
    """The JSON answer that refuses the stream, or None when it may start."""
    if user is None:
        return JsonResponse(error_body("not_authenticated", "Authentication credentials were not provided."), status=401)
    if room is None:
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    wait = _throttle_wait(user, request)
    if wait is None:
        return None
    response = JsonResponse(error_body("throttled", f"Too many note streams; try again in {int(wait) + 1} s."), status=429)
    response["Retry-After"] = str(int(wait) + 1)
    return response


def _check(request, room_id):
    user, session_key = _authenticate(request)
    room = room_get_for_user(user=user, room_id=room_id) if user is not None else None
    return user, session_key, room, _refusal(user, room, request)


@extend_schema(
    summary="Stream new ticket notes as Server-Sent Events",
    responses={(200, "text/event-stream"): OpenApiResponse(description="data: chunks, then data: [DONE] or data: [ERROR] <message>")},
)
async def notes_stream(request, room_id):
    user, session_key, room, refusal = await database_sync_to_async(_check)(request, room_id)
    if refusal is not None:
        return refusal
    try:
        wanted = uuid.UUID(request.GET["report"]) if request.GET.get("report") else None
    except ValueError:
        return JsonResponse(error_body("invalid", _("`report` must be a notes version id.")), status=400)
    stream = _stream(room, user, session_key, wanted)
    report = await anext(stream)
    if report is None:
        await stream.aclose()
        return JsonResponse(
            error_body("not_found", _("This room has no ticket notes yet; they are written when it is resolved.")),
            status=404,
        )
    response = StreamingHttpResponse(stream, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache, no-transform"
    response["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    response["X-Report-Id"] = str(report.id)
    return response
