"""Log lines that can be followed: the context they carry, plain or JSON, and what they never carry.

Every line is stamped with the context of the work it was written in, held in
context variables: ``request_id`` (the ``X-Request-ID`` of the web request,
carried into the Celery tasks it starts), ``user_id``, ``room_id``,
``report_id``, ``task_id`` and ``task_name``. ``config/observability.py`` binds
them (a middleware for requests, Celery signals for tasks); code that starts
work on a report may :func:`bind` its id too.

``LOG_FORMAT=json`` writes one JSON object a line (python-json-logger) with
only the fields listed in :data:`JSON_FIELDS` and the context: a record's other
attributes (Django attaches the whole request to its ``django.request`` lines)
are never written. The plain format, the default, appends the context as
``key=value`` so that ``grep report_id=…`` works in both.

Both formats pass every line through :func:`redact`: the values of the secret
settings, API tokens (``wr_…``), ``Bearer``/``Token`` credentials, Telegram bot
tokens and passwords in URLs become ``***``.
"""

from __future__ import annotations

import contextvars
import logging
import re
from urllib.parse import urlsplit

from django.utils.functional import SimpleLazyObject, empty
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

CONTEXT_FIELDS = ("request_id", "user_id", "room_id", "report_id", "task_id", "task_name")
# Attributes a caller may pass in ``extra=`` that the JSON format writes (the request line's).
EXTRA_FIELDS = ("method", "path", "route", "status", "duration_ms")

_context: contextvars.ContextVar[dict] = contextvars.ContextVar("warroom_log_context", default={})
# The request being served, so that user_id is read only once authentication has happened
# (a session's user is loaded lazily; DRF's token authentication sets it inside the view).
_request: contextvars.ContextVar = contextvars.ContextVar("warroom_log_request", default=None)


# --- Context ------------------------------------------------------------------------


def bind(**values) -> contextvars.Token:
    """Add ``values`` (None removes a key) to the context of what follows in this task or thread."""
    current = dict(_context.get())
    for key, value in values.items():
        if value is None or value == "":
            current.pop(key, None)
        else:
            current[key] = str(value)
    return _context.set(current)


def replace(values: dict, *, request=None) -> tuple[contextvars.Token, contextvars.Token]:
    """Start a fresh context (a new request or task); :func:`restore` puts the previous one back."""
    return _context.set({k: str(v) for k, v in values.items() if v not in (None, "")}), _request.set(request)


def restore(tokens: tuple[contextvars.Token, contextvars.Token]) -> None:
    context_token, request_token = tokens
    _context.reset(context_token)
    _request.reset(request_token)


def current() -> dict:
    """The context of this moment, ``user_id`` included once the request's user is known."""
    values = dict(_context.get())
    if "user_id" not in values:
        user_id = _user_id_of(_request.get())
        if user_id is not None:
            values["user_id"] = str(user_id)
    return values


def request_id() -> str | None:
    return _context.get().get("request_id")


def _user_id_of(request):
    if request is None:
        return None
    user = request.__dict__.get("user")
    if user is None:
        return None
    # A SimpleLazyObject not yet evaluated: reading it here would cost a query in a log call.
    wrapped = getattr(user, "_wrapped", user) if isinstance(user, SimpleLazyObject) else user
    if wrapped is None or wrapped is empty:
        return None
    if not getattr(wrapped, "is_authenticated", False):
        return None
    return getattr(wrapped, "pk", None)


class ContextFilter(logging.Filter):
    """Stamp each record with the context (a ``request`` Django attached gives its request id)."""

    def filter(self, record: logging.LogRecord) -> bool:
        values = current()
        if "request_id" not in values:
            attached = getattr(getattr(record, "request", None), "request_id", None)
            if attached:
                values["request_id"] = attached
        for key in CONTEXT_FIELDS:
            setattr(record, key, values.get(key))
        return True


# --- Redaction ----------------------------------------------------------------------

SECRET_SETTINGS = (
    "SECRET_KEY", "DIFY_API_KEY", "OPENAI_API_KEY", "EMBEDDINGS_API_KEY", "TELEGRAM_BOT_TOKEN", "WEBHOOK_SECRET",
    "METRICS_TOKEN", "AUTH_LDAP_BIND_PASSWORD", "EMAIL_HOST_PASSWORD", "SENTRY_DSN",
)
# Shorter values are too likely to be ordinary words ("warroom") to be replaced everywhere.
MIN_SECRET_LENGTH = 8
MASK = "***"
PATTERNS = [
    (re.compile(r"\b(Bearer|Token)\s+[A-Za-z0-9._~+/=-]{6,}", re.IGNORECASE), rf"\1 {MASK}"),
    (re.compile(r"\bwr_[A-Za-z0-9_-]{8,}"), f"wr_{MASK}"),
    (re.compile(r"\bbot\d{3,}:[A-Za-z0-9_-]{10,}"), f"bot{MASK}"),
    (re.compile(r"(://[^/\s:@]*:)[^@\s/]+@"), rf"\1{MASK}@"),
    (re.compile(r"(?i)\b(authorization|cookie|x-csrftoken|password|secret)(['\"]?\s*[:=]\s*['\"]?)"
                r"(?:(?:Bearer|Token|Basic)\s+)?[^\s'\",}]+"), rf"\1\2{MASK}"),
]


def secret_values() -> list[str]:
    """The secret settings' values worth masking, longest first (a key may contain a shorter one)."""
    try:
        from django.conf import settings

        if not settings.configured:
            return []
        values = [str(getattr(settings, name, "") or "") for name in SECRET_SETTINGS]
        values.append(str(settings.DATABASES.get("default", {}).get("PASSWORD") or ""))
        options = settings.STORAGES.get("default", {}).get("OPTIONS", {})
        values.append(str(options.get("secret_key") or ""))
        for url in (getattr(settings, "REDIS_URL", ""),):
            if url:
                values.append(urlsplit(url).password or "")
    except Exception:  # noqa: BLE001 - a log line must never fail because settings are half-loaded
        return []
    return sorted({v for v in values if len(v) >= MIN_SECRET_LENGTH}, key=len, reverse=True)


def redact(text: str) -> str:
    if not text:
        return text
    for value in secret_values():
        if value in text:
            text = text.replace(value, MASK)
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


# --- Formatters ---------------------------------------------------------------------


class PlainFormatter(logging.Formatter):
    """``2026-12-01 10:00:00,000 INFO reports.pipeline: message request_id=… report_id=…``."""

    def __init__(self, fmt="%(asctime)s %(levelname)s %(name)s: %(message)s", *args, **kwargs):
        super().__init__(fmt, *args, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        context = " ".join(f"{key}={getattr(record, key)}" for key in CONTEXT_FIELDS if getattr(record, key, None))
        if context:
            first, newline, rest = text.partition("\n")
            text = f"{first} {context}{newline}{rest}"
        return redact(text)


class JsonFormatter(_JsonFormatter):
    """One JSON object a line: timestamp, level, logger, message, the context, and nothing else of the record."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__(*args, **kwargs)

    def add_fields(self, log_data: dict, record: logging.LogRecord, message_dict: dict) -> None:
        from datetime import datetime, timezone

        log_data["timestamp"] = datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(
            timespec="milliseconds")
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = record.message
        for key in CONTEXT_FIELDS:
            value = getattr(record, key, None)
            if value:
                log_data[key] = value
        for key in EXTRA_FIELDS:
            value = record.__dict__.get(key)
            if value is not None:
                log_data[key] = value
        if message_dict.get("exc_info"):
            log_data["exc_info"] = message_dict["exc_info"]
        if message_dict.get("stack_info"):
            log_data["stack_info"] = message_dict["stack_info"]

    def process_log_record(self, log_data: dict) -> dict:
        return {key: redact(value) if isinstance(value, str) else value for key, value in log_data.items()}


def logging_config(*, log_format: str, level: str) -> dict:
    """Django's LOGGING for ``LOG_FORMAT`` (``plain`` or ``json``)."""
    formatter = "json" if log_format == "json" else "plain"
    loggers = {
        "django.db.backends": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "botocore": {"level": "WARNING"},
    }
    if formatter == "json":
        # uvicorn's own lines (its handlers are plain text) through ours once the app has loaded; its
        # access lines are replaced by warroom.request, which has the route and request id and no query string.
        loggers["uvicorn"] = {"handlers": ["console"], "level": "INFO", "propagate": False}
        loggers["uvicorn.error"] = {"handlers": [], "level": "INFO", "propagate": True}
        loggers["uvicorn.access"] = {"handlers": [], "level": "WARNING", "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "config.logs.ContextFilter"}},
        "formatters": {
            "plain": {"()": "config.logs.PlainFormatter"},
            "json": {"()": "config.logs.JsonFormatter"},
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": formatter, "filters": ["context"]}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": loggers,
    }
