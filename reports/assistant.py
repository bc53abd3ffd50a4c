"""The room assistant's AI writer: the knowledge app's questions answered by DIFY or an OpenAI-compatible server.

``settings.KNOWLEDGE_ASSISTANT_WRITER`` names :func:`write_answer` (knowledge never imports
reports). It is given the question and its context (``context.passages`` that match it and
``context.history``, the asker's conversation so far, read only when an AI is configured),
reads the room (condensed as for a report), and streams the answer through ``on_delta``.
With no AI configured it returns None and the offline assistant answers; an AI failure raises,
and the knowledge app falls back to the offline answer.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from knowledge.assistant import Answer
from reports.lifecycle import text_in
from reports.llm import LLMError, LLMRequest, complete_with_retries, configured_provider, get_client
from reports.pipeline.collect import collect_room
from reports.prompts import format_room, normalize_language
from reports.snapshot import EmptyRoom

SYSTEM_PROMPT = gettext_lazy(
    "You are the assistant of an incident room. Answer the responder's question in English, briefly and "
    "concretely, from the room data, the knowledge passages and the conversation given. Every message of the "
    "room starts with its id, like [m123], and every knowledge passage with its id, like [kb:45]: put the mark "
    "right after the fact it supports. Use only what is given; when it does not answer the question, say so."
)
# Characters quoted back of each earlier answer, and of each passage.
HISTORY_CHARS = 1500
PASSAGE_CHARS = 800
# An answer is given up (and answered offline) after this long, retries included.
ANSWER_SECONDS = 90


def prompt_version(language: str) -> str:
    return hashlib.sha256(text_in(language, SYSTEM_PROMPT).encode()).hexdigest()[:12]


def _passage_lines(passages) -> list[str]:
    lines = [f"## {pgettext('room data', 'Knowledge passages')}"]
    for hit in passages:
        chunk = hit.chunk
        title = chunk.document.title + (f" › {chunk.heading}" if chunk.heading else "")
        lines.append(f"- [kb:{chunk.id}] {title}: {' '.join(chunk.text.split())[:PASSAGE_CHARS]}")
    return lines if passages else []


def _history_lines(history) -> list[str]:
    lines = []
    for asked, answered in history:
        lines += [_("Q: %(text)s") % {"text": asked}, _("A: %(text)s") % {"text": answered[:HISTORY_CHARS]}]
    return [f"## {pgettext('room data', 'The conversation so far')}", *lines] if lines else []


def question_prompt(*, question, passages, history) -> str:
    """The room (condensed), the passages, the conversation so far and the question, in the asker's language."""
    language = normalize_language(question.language)
    try:
        room = format_room(collect_room(question.room, max_messages=settings.ASSISTANT_MAX_MESSAGES,
                                        language=language), language)
    except EmptyRoom:
        room = question.room.title
    parts = [room, "", *_passage_lines(passages), "", *_history_lines(history), "",
             f"## {pgettext('room data', 'Question')}", question.question]
    return "\n".join(parts)


def write_answer(*, question, context, on_delta) -> Answer | None:
    provider = configured_provider()
    if provider == "offline":
        return None
    language = normalize_language(question.language)
    prompt = question_prompt(question=question, passages=context.passages, history=context.history)
    request = LLMRequest(
        system=text_in(language, SYSTEM_PROMPT), prompt=prompt,
        language=language, user=f"warroom-{question.asked_by_id or 'system'}", on_delta=on_delta,
    )
    started = time.monotonic()
    result = complete_with_retries(get_client(provider, streaming=True), request, max_retries=settings.AI_MAX_RETRIES,
                                   backoff_base=settings.AI_RETRY_BACKOFF_SECONDS, deadline=started + ANSWER_SECONDS)
    if not result.text.strip():
        raise LLMError("the AI answered with an empty text")
    return Answer(text=result.text.strip(), provider=provider, prompt_version=prompt_version(language))

