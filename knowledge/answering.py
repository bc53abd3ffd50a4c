"""Answering one assistant question in a worker: claim it, write the answer, stream it to the asker.

The answer is written by the AI writer named in ``settings.KNOWLEDGE_ASSISTANT_WRITER`` (the
reports app provides it: knowledge never imports reports) when an AI is configured, from the
room, the passages that match the question and the asker's earlier questions in the room. Without
an AI, or when it fails, the offline assistant answers (``knowledge/assistant.py``).
"""

from __future__ import annotations

import dataclasses
import logging
import time

from django.conf import settings
from django.utils import timezone, translation
from django.utils.functional import cached_property
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from knowledge import assistant, events, search
from knowledge.models import AssistantQuestion, QuestionStatus
from realtime import events as live

logger = logging.getLogger(__name__)

# Streamed pieces go to the asker at most this often, so a fast model does not flood the socket.
DELTA_INTERVAL_SECONDS = 0.05


def _to_asker(question, built, *, now=False):
    """Send an event to the asker only: after the commit, or ``now`` (streamed pieces roll nothing back)."""
    if question.asked_by_id is not None:
        send = live.publish if now else live.publish_on_commit
        send(question.room_id, dataclasses.replace(built, only_user_id=question.asked_by_id))


class AskerStream:
    """The ``on_delta(piece, replace)`` of a streaming writer: pieces to the asker, batched by time, in order."""

    def __init__(self, question):
        self.question = question
        self.pending = ""
        self.sent_at = 0.0
        self.sent = ""

    def __call__(self, piece: str, replace: bool = False) -> None:
        if replace:
            # The writer replaced its text (DIFY's message_replace): the final answer will say it all.
            self.pending = ""
            return
        self.pending += piece
        if time.monotonic() - self.sent_at >= DELTA_INTERVAL_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.sent += self.pending
            _to_asker(self.question, events.assistant_delta(self.question, self.pending), now=True)
            self.pending = ""
            self.sent_at = time.monotonic()


class QuestionContext:
    """What the AI writer is given besides the question, read only if it asks (no AI, no search)."""

    def __init__(self, question):
        self.question = question

    @cached_property
    def history(self) -> list[tuple[str, str]]:
        """The asker's earlier answered questions in this room, oldest first: the conversation so far."""
        question = self.question
        earlier = (
            AssistantQuestion.objects.filter(room_id=question.room_id, asked_by_id=question.asked_by_id,
                                             status=QuestionStatus.ANSWERED, created_at__lt=question.created_at)
            .order_by("-created_at").values_list("question", "answer")[: settings.ASSISTANT_HISTORY_TURNS]
        )
        return list(reversed(earlier))

    @cached_property
    def passages(self) -> list:
        """The passages that best match the question (and the room's title), for the AI to cite as ``[kb:ID]``."""
        query = f"{self.question.question}\n{self.question.room.title}"
        return search.search(query, k=settings.ASSISTANT_PASSAGES).hits


def _writer():
    dotted = settings.KNOWLEDGE_ASSISTANT_WRITER
    return import_string(dotted) if dotted else None


def _ai_answer(question) -> assistant.Answer | None:
    """The AI writer's answer, or None when no AI is configured; raises when the AI fails."""
    writer = _writer()
    if writer is None:
        return None
    stream = AskerStream(question)
    written = writer(question=question, context=QuestionContext(question), on_delta=stream)
    stream.flush()
    if written is None:
        return None
    written.citations = written.citations or assistant.citations_in(written.text, room=question.room)
    return written


def _write(question) -> assistant.Answer:
    try:
        written = _ai_answer(question)
    except Exception as exc:  # noqa: BLE001 - any AI failure falls back to the offline assistant
        logger.warning("Assistant question %s: the AI failed (%r); answering offline", question.id, exc)
        return assistant.answer(room=question.room, question=question.question, ai_failed=True)
    return written or assistant.answer(room=question.room, question=question.question)


def question_answer(*, question_id) -> None:
    claimed = AssistantQuestion.objects.filter(id=question_id, status=QuestionStatus.PENDING).update(status=QuestionStatus.ANSWERING)
    if not claimed:
        return  # answered by an earlier delivery
    question = AssistantQuestion.objects.select_related("room", "asked_by").get(id=question_id)
    streamed = False
    with translation.override(question.language):
        try:
            result = _write(question)
            streamed = result.provider not in assistant.OFFLINE_PROVIDERS
        except Exception as exc:  # noqa: BLE001 - the asker must get an end to their question, whatever failed
            logger.exception("Assistant question %s failed", question_id)
            question.status = QuestionStatus.FAILED
            question.error_message = _("The assistant could not answer; ask again in a minute.")
            question.answered_at = timezone.now()
            question.save(update_fields=["status", "error_message", "answered_at"])
            _to_asker(question, events.assistant_done(question))
            del exc
            return
    if not streamed:
        # Offline answers are ready at once; they are still sent line by line, as an AI's would be.
        for line in result.text.splitlines(keepends=True):
            _to_asker(question, events.assistant_delta(question, line))
    question.status = QuestionStatus.ANSWERED
    question.answer = result.text
    question.citations = result.citations
    question.provider = result.provider
    question.prompt_version = result.prompt_version
    question.answered_at = timezone.now()
    question.save(update_fields=["status", "answer", "citations", "provider", "prompt_version", "answered_at"])
    _to_asker(question, events.assistant_done(question))
