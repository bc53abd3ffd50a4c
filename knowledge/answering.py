"""Answering one assistant question in a worker: claim it, write the answer, stream it to the asker."""

import dataclasses
import logging

from django.utils import timezone, translation
from django.utils.translation import gettext as _

from knowledge import assistant, events
from knowledge.models import AssistantQuestion, QuestionStatus
from realtime.events import publish_on_commit

logger = logging.getLogger(__name__)


def _to_asker(question, built):
    if question.asked_by_id is not None:
        publish_on_commit(question.room_id, dataclasses.replace(built, only_user_id=question.asked_by_id))


def question_answer(*, question_id) -> None:
    claimed = AssistantQuestion.objects.filter(id=question_id, status=QuestionStatus.PENDING).update(status=QuestionStatus.ANSWERING)
    if not claimed:
        return  # answered by an earlier delivery
    question = AssistantQuestion.objects.select_related("room", "asked_by").get(id=question_id)
    with translation.override(question.language):
        try:
            result = assistant.answer(room=question.room, question=question.question)
        except Exception as exc:  # noqa: BLE001 - the asker must get an end to their question, whatever failed
            logger.exception("Assistant question %s failed", question_id)
            question.status = QuestionStatus.FAILED
            question.error_message = _("The assistant could not answer; ask again in a minute.")
            question.answered_at = timezone.now()
            question.save(update_fields=["status", "error_message", "answered_at"])
            _to_asker(question, events.assistant_done(question))
            del exc
            return
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
