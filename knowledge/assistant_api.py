"""The room assistant's API: ask (202), read the answers, stream one as SSE; and feedback on AI outputs.

Responders and commanders ask; observers read; anyone not in the room gets 404.
The answer streams over the room WebSocket to the asker only, and as SSE here.
"""

import uuid
from datetime import timedelta
from types import SimpleNamespace

from channels.db import database_sync_to_async
from django.conf import settings
from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle, UserRateThrottle
from rest_framework.views import APIView

from accounts.authentication import TokenAuthentication
from config.api import error_body
from config.errors import NotFound, ServiceError
from incidents.selectors import room_for_user_or_404, room_get_for_user, rooms_visible_to
from knowledge import selectors, services
from knowledge.models import AssistantQuestion, FeedbackTarget, QuestionStatus
from knowledge.serializers import (
    FeedbackInputSerializer,
    FeedbackQualityQuerySerializer,
    FeedbackQualitySerializer,
    FeedbackSerializer,
    QuestionInputSerializer,
    QuestionSerializer,
)
from realtime.events import subscribe

POLL_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0
STREAM_MAX_SECONDS = 300.0


class AskThrottle(ScopedRateThrottle):
    scope_attr = "throttle_scope"

    def allow_request(self, request, view):
        # Only asking is throttled; reading answers is not.
        return request.method != "POST" or super().allow_request(request, view)


class RoomQuestionsView(APIView):
    throttle_classes = [UserRateThrottle, AskThrottle]
    throttle_scope = "assistant_ask"

    @extend_schema(responses=QuestionSerializer(many=True))
    def get(self, request, room_id):
        """The room's questions and answers, oldest first (observers read them too)."""
        room = room_for_user_or_404(user=request.user, room_id=room_id)
        questions = AssistantQuestion.objects.filter(room=room).select_related("asked_by").order_by("created_at")[:200]
        return Response(QuestionSerializer(questions, many=True).data)

    @extend_schema(request=QuestionInputSerializer, responses={202: QuestionSerializer})
    def post(self, request, room_id):
        room = room_for_user_or_404(user=request.user, room_id=room_id)
        data = QuestionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        question = services.question_ask(room=room, asked_by=request.user, question=data.validated_data["question"])
        return Response(QuestionSerializer(question).data, status=status.HTTP_202_ACCEPTED)


class RoomQuestionView(APIView):
    @extend_schema(responses=QuestionSerializer)
    def get(self, request, room_id, question_id):
        room = room_for_user_or_404(user=request.user, room_id=room_id)
        question = get_object_or_404(AssistantQuestion.objects.select_related("asked_by"), room=room, id=question_id)
        return Response(QuestionSerializer(question).data)


# --- SSE ------------------------------------------------------------------------------


def _sse(data: str) -> str:
    return "".join(f"data: {line}\n" for line in data.split("\n")) + "\n"


def _authenticate(request):
    try:
        found = TokenAuthentication().authenticate(request)
    except exceptions.AuthenticationFailed:
        return None
    if found:
        return found[0]
    return request.user if request.user.is_authenticated else None


def _check(request, room_id, question_id):
    user = _authenticate(request)
    if user is None:
        return None, JsonResponse(error_body("not_authenticated", _("Authentication credentials were not provided.")), status=401)
    room = room_get_for_user(user=user, room_id=room_id)
    question = AssistantQuestion.objects.filter(room=room, id=question_id).first() if room else None
    if question is None:
        return None, JsonResponse(error_body("not_found", _("Not found.")), status=404)
    return question, None


def _final(question_id):
    question = AssistantQuestion.objects.filter(id=question_id).first()
    if question is None or question.status not in (QuestionStatus.ANSWERED, QuestionStatus.FAILED):
        return None
    return question


def _end(question, relayed: bool) -> list[str]:
    if question.status == QuestionStatus.FAILED:
        return [f"data: [ERROR] {question.error_message}\n\n"]
    return ([] if relayed else [_sse(question.answer)]) + ["data: [DONE]\n\n"]


async def _stream(question_id):
    async with subscribe(question_id["room"]) as next_event:
        relayed, quiet, waited = False, 0.0, 0.0
        # Read after subscribing, so an answer finished in between is not missed.
        final = await database_sync_to_async(_final)(question_id["id"])
        if final is not None:
            for chunk in _end(final, relayed):
                yield chunk
            return
        while waited < STREAM_MAX_SECONDS:
            built = await next_event(POLL_SECONDS)
            if built is None:
                waited += POLL_SECONDS
                quiet += POLL_SECONDS
                final = await database_sync_to_async(_final)(question_id["id"])
                if final is not None:
                    for chunk in _end(final, relayed):
                        yield chunk
                    return
                if quiet >= KEEPALIVE_SECONDS:
                    quiet = 0.0
                    yield ": keep-alive\n\n"
                continue
            if str(built.payload.get("question_id")) != question_id["id"]:
                continue
            if built.type == "assistant.delta":
                relayed = True
                yield _sse(built.payload["delta"])
            elif built.type == "assistant.done":
                final = await database_sync_to_async(_final)(question_id["id"])
                for chunk in _end(final, relayed) if final else ["data: [DONE]\n\n"]:
                    yield chunk
                return
        yield "data: [ERROR] timeout\n\n"


@extend_schema(
    summary="Stream an assistant answer as Server-Sent Events",
    responses={(200, "text/event-stream"): OpenApiResponse(description="data: chunks, then data: [DONE] or data: [ERROR] <message>")},
)
async def question_stream(request, room_id, question_id):
    question, refusal = await database_sync_to_async(_check)(request, room_id, question_id)
    if refusal is not None:
        return refusal
    response = StreamingHttpResponse(_stream({"room": question.room_id, "id": str(question.id)}),
                                     content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache, no-transform"
    response["X-Accel-Buffering"] = "no"
    return response


# --- Feedback -------------------------------------------------------------------------------


def _answer_target(user, target_id):
    try:
        question_id = uuid.UUID(str(target_id))
    except ValueError:
        return None
    question = AssistantQuestion.objects.filter(id=question_id, room__in=rooms_visible_to(user)).first()
    if question is None or question.status != QuestionStatus.ANSWERED:
        return None
    return SimpleNamespace(room=question.room, prompt_version=question.prompt_version)


def _resolve_target(user, target, target_id):
    """The output rated, as (room, prompt_version), or None when the person cannot see it.

    Answers are knowledge's own; report versions and notes are resolved by the function named in
    ``settings.KNOWLEDGE_FEEDBACK_RESOLVERS[target]`` (reports provide it: knowledge never imports reports).
    """
    if target == FeedbackTarget.ANSWER:
        return _answer_target(user, target_id)
    dotted = settings.KNOWLEDGE_FEEDBACK_RESOLVERS.get(target)
    if not dotted:
        raise ServiceError(_("Feedback on this kind of output is not available yet."), code="unsupported_target")
    return import_string(dotted)(user=user, target_id=target_id)


class FeedbackView(APIView):
    @extend_schema(request=FeedbackInputSerializer, responses={201: FeedbackSerializer})
    def post(self, request):
        data = FeedbackInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        found = _resolve_target(request.user, params["target"], params["id"])
        if found is None:
            raise NotFound(_("No such output."))
        feedback = services.feedback_give(
            user=request.user, target=params["target"], target_id=params["id"], rating=params["rating"],
            comment=params["comment"], room=found.room, prompt_version=found.prompt_version or "",
        )
        return Response(FeedbackSerializer(feedback).data, status=status.HTTP_201_CREATED)


class FeedbackQualityView(APIView):
    """The "AI quality" card: the share of 👍 per kind of AI output and prompt version (counts only, no comments)."""

    @extend_schema(parameters=[FeedbackQualityQuerySerializer], responses=FeedbackQualitySerializer)
    def get(self, request):
        data = FeedbackQualityQuerySerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        since = timezone.now() - timedelta(days=data.validated_data["days"])
        rows = selectors.feedback_quality(since=since)
        return Response(FeedbackQualitySerializer({"days": data.validated_data["days"], "rows": rows}).data)
