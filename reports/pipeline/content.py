"""Stage 2: the six sections of the report's kind, from the configured writer, checked against the schema.

The kind (``sections_for(report.kind)``) decides the keys, the system prompt and
which sections are tables: an incident report or a postmortem.

The answer is extracted even when wrapped in ``` fences or prose, validated,
repaired once by asking the writer again, and any section still missing is
written by the offline writer and marked so. Retryable AI failures that
outlast the retries hand the whole report to the offline writer
(``offline-fallback``); a rejected key or a refused request fails the report.
"""

from __future__ import annotations

import json
import re
import time

from django.conf import settings
from django.utils.translation import ngettext

from config import metrics
from reports.llm import (
    LLMAuthError,
    LLMBadRequest,
    LLMError,
    LLMRequest,
    LLMResult,
    complete_with_retries,
    configured_provider,
    get_client,
)
from reports.llm.offline import write_offline
from reports.prompts import LIST_SECTIONS, SectionSet, in_language, repair_prompt, sections_for, user_prompt
from reports.snapshot import RoomSnapshot

FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


# --- Reading an answer ------------------------------------------------------------


def extract_json(text: str):
    """The first JSON object in ``text``: bare, inside ``` fences, or surrounded by prose. None if there is none."""
    if not text:
        return None
    candidates = [text.strip()]
    candidates += [m.group(1).strip() for m in FENCE.finditer(text)]
    for candidate in candidates:
        try:
            value = json.loads(candidate)
            if isinstance(value, dict):
                return value
        except ValueError:
            pass
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _clean_text(value) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()


def validate_sections(data, keys: list[str], list_fields: dict | None = None) -> tuple[dict, list[str]]:
    """The sections of ``data`` that match the schema, and what is wrong with the rest.

    ``list_fields`` names the table sections and their fields (the incident report's by default).
    """
    list_fields = LIST_SECTIONS if list_fields is None else list_fields
    if not isinstance(data, dict):
        return {}, ["the answer is not a JSON object"]
    valid, problems = {}, []
    for key in keys:
        value = data.get(key)
        if value is None:
            problems.append(f"'{key}' is missing")
            continue
        if key in list_fields:
            fields = list_fields[key]
            if not isinstance(value, list) or not value:
                problems.append(f"'{key}' must be a non-empty array of objects with {', '.join(fields)}")
                continue
            rows = []
            for index, item in enumerate(value):
                if not isinstance(item, dict):
                    problems.append(f"'{key}[{index}]' must be an object")
                    break
                row = {f: _clean_text(item.get(f)) for f in fields}
                missing = [f for f, v in row.items() if v is None]
                if missing:
                    problems.append(f"'{key}[{index}]' lacks {', '.join(missing)}")
                    break
                if "evidence" in item:
                    # The message ids the row cites; reports.evidence keeps only the room's own.
                    row["evidence"] = item["evidence"]
                rows.append(row)
            else:
                valid[key] = rows
        else:
            text = value if isinstance(value, str) else None
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                text = "\n".join(value)
            text = _clean_text(text)
            if text is None:
                problems.append(f"'{key}' must be a non-empty string")
            else:
                valid[key] = text
    return valid, problems


# --- Writing ----------------------------------------------------------------------


def _backoff() -> float:
    return float(settings.AI_RETRY_BACKOFF_SECONDS)


def _request(snapshot: RoomSnapshot, snapshot_dict: dict, language: str, keys: list[str], report_id,
             sections: SectionSet) -> LLMRequest:
    return LLMRequest(
        system=sections.system_prompt(language, keys), prompt=user_prompt(snapshot, language, keys, sections.kind),
        language=language, sections=list(keys), snapshot=snapshot_dict, user=f"warroom-report-{report_id}",
    )


def _ai_detail(request: LLMRequest, result: LLMResult | None, started: float, error: LLMError | None = None) -> dict:
    detail = {
        "prompt": {"system": request.system, "user": request.prompt},
        "seconds": round(time.monotonic() - started, 3),
    }
    if result is not None:
        detail.update({
            "provider": result.provider, "raw_response": result.raw or result.text, "answer": result.text,
            "message_id": result.message_id, "conversation_id": result.conversation_id,
            "prompt_tokens": result.prompt_tokens, "completion_tokens": result.completion_tokens,
            "attempts": result.attempts,
        })
    if error is not None:
        detail.update({"error": str(error), "raw_response": error.raw, "attempts": getattr(error, "attempts", 1)})
    return detail


class WriteOutcome:
    """What the writing produced: sections, where each came from, and the AI bookkeeping."""

    def __init__(self):
        self.sections: dict = {}
        self.sources: dict = {}
        self.notes: dict = {}
        self.provider = ""
        self.fallback_reason = ""
        self.message_id = ""
        self.conversation_id = ""
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.model = ""
        self.price: float | None = None  # what the AI service itself said the calls cost
        self.currency = ""
        self.calls: list[tuple[str, dict, bool]] = []  # (step suffix, detail, ok)

    def account(self, result: LLMResult):
        self.message_id = result.message_id or self.message_id
        self.conversation_id = result.conversation_id or self.conversation_id
        self.prompt_tokens += result.prompt_tokens
        self.completion_tokens += result.completion_tokens
        self.model = result.model or self.model
        if result.price is not None:
            self.price = (self.price or 0.0) + result.price
            self.currency = result.currency or self.currency

    def content(self) -> dict:
        return {"sections": self.sections, "sources": self.sources, "notes": self.notes}


def fallback_reason_for(error: LLMError, language: str) -> str:
    """Why the offline writer wrote the report, in the report's language (it is printed in the document)."""
    attempts = getattr(error, "attempts", 1)
    status = f" (HTTP {error.status})" if error.status else ""
    with in_language(language):
        return ngettext(
            "%(problem)s%(status)s after %(attempts)d attempt; the offline writer wrote the report.",
            "%(problem)s%(status)s after %(attempts)d attempts; the offline writer wrote the report.",
            attempts,
        ) % {"problem": error.user_message, "status": status, "attempts": attempts}


def write_sections(snapshot_dict: dict, language: str, *, keys: list[str] | None = None, kind: str = "incident",
                   report_id="", provider: str | None = None, deadline: float | None = None,
                   fallback: bool = True) -> WriteOutcome:
    """Write ``keys`` (default all six of ``kind``) with the configured writer, repair once, fill gaps offline.

    Raises :class:`LLMAuthError` / :class:`LLMBadRequest` for failures that must
    fail the report; everything else ends in sections. With ``fallback=False``
    (parallel sections) a retryable failure that outlasts the retries is raised
    too, with the bookkeeping attached as ``exc.outcome``.
    """
    sections = sections_for(kind)
    keys = list(keys or sections.keys)
    provider = provider or configured_provider()
    snapshot = RoomSnapshot.from_dict(snapshot_dict)
    call = _Call(client=get_client(provider), provider=provider, deadline=deadline, sections=sections,
                 max_retries=0 if provider == "offline" else settings.AI_MAX_RETRIES)
    outcome = WriteOutcome()
    request = _request(snapshot, snapshot_dict, language, keys, report_id, sections)
    try:
        result = call.complete(request, "ai", outcome)
    except (LLMAuthError, LLMBadRequest) as exc:
        exc.outcome = outcome
        raise
    except LLMError as exc:
        if not fallback:
            exc.outcome = outcome
            raise
        outcome.provider = "offline-fallback"
        outcome.fallback_reason = fallback_reason_for(exc, language)
        metrics.ai_fallback(kind=kind)
        return _fill_offline(outcome, snapshot, language, keys, source="offline-fallback")
    outcome.provider = provider
    problems = call.take(result, keys, outcome)
    missing = [k for k in keys if k not in outcome.sections]
    if missing and provider != "offline":
        _repair(call, request, result, problems, missing, outcome)
    return _fill_offline(outcome, snapshot, language, keys, source="offline")


class _Call:
    """One writer called with the retry policy, its calls and sections recorded in a :class:`WriteOutcome`."""

    def __init__(self, *, client, provider: str, deadline: float | None, sections: SectionSet, max_retries: int):
        self.client, self.provider, self.deadline, self.sections = client, provider, deadline, sections
        self.max_retries = max_retries

    def complete(self, request: LLMRequest, step: str, outcome: WriteOutcome) -> LLMResult:
        """Call the writer; the call is recorded as ``step`` whether it succeeds or raises."""
        started = time.monotonic()
        try:
            result = complete_with_retries(self.client, request, max_retries=self.max_retries,
                                           backoff_base=_backoff(), deadline=self.deadline)
        except LLMError as exc:
            outcome.calls.append((step, _ai_detail(request, None, started, exc), False))
            raise
        outcome.calls.append((step, _ai_detail(request, result, started), True))
        outcome.account(result)
        return result

    def take(self, result: LLMResult, keys: list[str], outcome: WriteOutcome) -> list[str]:
        """Keep the valid sections of ``result`` as the writer's; the problems with the rest."""
        valid, problems = validate_sections(extract_json(result.text), keys, self.sections.list_fields)
        for key, value in valid.items():
            outcome.sections[key] = value
            outcome.sources[key] = self.provider
        return problems


def _repair(call: _Call, request: LLMRequest, result: LLMResult, problems: list[str], missing: list[str],
            outcome: WriteOutcome) -> None:
    """Ask the writer once more for the ``missing`` sections. Only a rejected key fails the report here."""
    repair = LLMRequest(
        system=request.system, prompt=repair_prompt(result.text, problems, request.language, missing),
        language=request.language, sections=missing, snapshot=request.snapshot, user=request.user,
        conversation_id="",
    )
    try:
        fixed = call.complete(repair, "repair", outcome)
    except LLMAuthError:
        raise
    except LLMError:
        return  # recorded as a failed repair step; the offline writer fills what is missing
    call.take(fixed, missing, outcome)


def _fill_offline(outcome: WriteOutcome, snapshot: RoomSnapshot, language: str, keys: list[str], *, source: str):
    missing = [k for k in keys if k not in outcome.sections]
    if missing:
        written = write_offline(snapshot, language, missing)
        for key in missing:
            outcome.sections[key] = written[key]
            outcome.sources[key] = source
    return outcome
