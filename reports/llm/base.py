"""The one interface every report writer speaks, its errors, and the retry loop.

A writer takes an :class:`LLMRequest` (system prompt, user prompt, and the room
snapshot for writers that work from data alone) and returns an
:class:`LLMResult` holding the raw text answer. Parsing and validating the
answer is the content stage's job, so that every writer goes through the same
checks.

Errors say what the caller should do: :class:`LLMAuthError` and
:class:`LLMBadRequest` fail at once, :class:`LLMRetryableError` (429, 5xx,
timeouts, connection errors, an error event in the middle of a stream) is
retried with backoff and jitter, and after the last retry the caller falls back
to the offline writer.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from django.utils.translation import gettext_lazy as _

from config import metrics

logger = logging.getLogger(__name__)


@dataclass
class LLMRequest:
    system: str
    prompt: str
    language: str = "zh-hant"
    # Which sections to write (all six unless a parallel section task asks for one).
    sections: list[str] = field(default_factory=list)
    # The room snapshot as a dict: the offline writer writes from it; AI writers ignore it.
    snapshot: dict[str, Any] | None = None
    user: str = "warroom"
    conversation_id: str = ""
    # Streaming writers call on_delta(text, replace) for each piece as it arrives
    # (replace=True: the text so far is replaced, as with DIFY's message_replace).
    on_delta: Callable[[str, bool], None] | None = field(default=None, repr=False, compare=False)


@dataclass
class LLMResult:
    text: str
    provider: str
    message_id: str = ""
    conversation_id: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # The raw response body (JSON or the SSE transcript), kept for the operator's step view.
    raw: str = ""
    attempts: int = 1
    # For the AI ledger: the model that answered, and the price the service itself reported (DIFY does).
    model: str = ""
    price: float | None = None
    currency: str = ""

    def take_usage(self, usage: dict) -> None:
        """Tokens (and DIFY's ``total_price``/``currency``) from a usage object."""
        self.prompt_tokens = int(usage.get("prompt_tokens") or 0)
        self.completion_tokens = int(usage.get("completion_tokens") or 0)
        if usage.get("total_price") not in (None, ""):
            try:
                self.price = float(usage["total_price"])
            except (TypeError, ValueError):
                self.price = None
            self.currency = str(usage.get("currency") or "")


class LLMError(Exception):
    """A call to a writer failed. ``str(exc)`` is technical; ``user_message`` is for people."""

    retryable = False
    user_message = _("The AI service could not write the report.")

    def __init__(self, message: str, *, status: int | None = None, code: str = "", raw: str = "",
                 retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.raw = raw
        self.retry_after = retry_after


class LLMAuthError(LLMError):
    user_message = _("The AI service rejected the credentials.")


class LLMBadRequest(LLMError):
    user_message = _("The AI service refused the request.")


class LLMRetryableError(LLMError):
    retryable = True
    user_message = _("The AI service is unavailable.")


class LLMTimeout(LLMRetryableError):
    user_message = _("The AI service did not answer in time.")


class LLMClient:
    """One writer. Subclasses implement :meth:`complete`."""

    name = "base"

    def complete(self, request: LLMRequest) -> LLMResult:  # pragma: no cover - interface
        raise NotImplementedError


def outcome_of(error: LLMError) -> str:
    """The ``outcome`` label of a failed AI call in warroom_ai_calls_total."""
    if isinstance(error, LLMTimeout):
        return "timeout"
    if isinstance(error, LLMRetryableError):
        return "unavailable"
    if isinstance(error, LLMAuthError):
        return "auth_error"
    if isinstance(error, LLMBadRequest):
        return "bad_request"
    return "error"


class MeasuredClient(LLMClient):
    """An AI writer whose every call is counted and timed (warroom_ai_*), whoever makes it."""

    def __init__(self, inner: LLMClient):
        self.inner = inner
        self.name = inner.name

    def __getattr__(self, name):
        if name == "inner":  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    def complete(self, request: LLMRequest) -> LLMResult:
        started = time.monotonic()
        try:
            result = self.inner.complete(request)
        except LLMError as exc:
            metrics.ai_call(provider=self.name, outcome=outcome_of(exc), seconds=time.monotonic() - started)
            raise
        metrics.ai_call(provider=self.name, outcome="ok", seconds=time.monotonic() - started,
                        prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens)
        return result


# The longest wait between two attempts, in seconds (a server's Retry-After included).
BACKOFF_CAP_SECONDS = 30.0


def backoff_delay(attempt: int, *, base: float, cap: float = BACKOFF_CAP_SECONDS,
                  retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter; a server's Retry-After wins when it is sooner than the cap."""
    if retry_after is not None and retry_after >= 0:
        return min(retry_after, cap)
    return random.uniform(0, min(cap, base * (2 ** attempt)))  # noqa: S311 - jitter, not cryptography


def complete_with_retries(
    client: LLMClient,
    request: LLMRequest,
    *,
    max_retries: int,
    backoff_base: float,
    deadline: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_attempt: Callable[[int, LLMError | None], None] | None = None,
) -> LLMResult:
    """Call ``client`` and retry retryable failures up to ``max_retries`` times.

    ``deadline`` (a ``time.monotonic()`` value) stops retrying early when the
    next wait would pass it, so a stage's time limit is never spent sleeping.
    Authentication and bad-request errors are raised at once; the last
    retryable error is raised when the retries are spent.
    """
    attempt = 0
    while True:
        try:
            result = client.complete(request)
            result.attempts = attempt + 1
            return result
        except LLMError as exc:
            exc.attempts = attempt + 1
            if on_attempt:
                on_attempt(attempt + 1, exc)
            if not exc.retryable or attempt >= max_retries:
                raise
            delay = backoff_delay(attempt, base=backoff_base, retry_after=exc.retry_after)
            if deadline is not None and time.monotonic() + delay >= deadline:
                raise
            logger.warning("AI call to %s failed (%s); retry %d in %.1f s", client.name, exc, attempt + 1, delay)
            sleep(delay)
            attempt += 1
