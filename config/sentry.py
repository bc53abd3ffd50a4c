"""Errors to Sentry (sentry-sdk), for web and worker alike, when ``SENTRY_DSN`` is set.

``config/settings.py`` calls :func:`init_sentry` while the settings load, which
both the web processes and the Celery worker do. Events carry the log context
as tags (``request_id``, ``report_id``, ``room_id``, ``task_name``, ...), so an
error found in Sentry is one search away from its log lines.

What is never sent: request bodies (``max_request_body_size="never"``), cookies,
query strings and headers other than a few harmless ones, the local variables
of stack frames (a room's messages live in them), the data of breadcrumbs (SQL
parameters), the values put into a logged message (its template stays), the extra
attributes of log records, and the user beyond their id.
:func:`scrub` does it for every event, whatever the integrations put in, and
masks secrets in the texts that stay (``config.logs.redact``).
"""

from __future__ import annotations

from config import logs

SAFE_HEADERS = {"accept", "accept-language", "content-length", "content-type", "host", "user-agent",
                "x-request-id"}
TAGS = logs.CONTEXT_FIELDS


def _scrub_request(request: dict) -> dict:
    kept = {key: request[key] for key in ("method", "url") if key in request}
    if "url" in kept:
        kept["url"] = str(kept["url"]).split("?", 1)[0]
    headers = request.get("headers") or {}
    kept["headers"] = {name: value for name, value in headers.items() if name.lower() in SAFE_HEADERS}
    return kept


def _scrub_frames(container: dict) -> None:
    for value in (container.get("exception") or {}).get("values") or []:
        for frame in (value.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
        if isinstance(value.get("value"), str):
            value["value"] = logs.redact(value["value"])
    for thread in (container.get("threads") or {}).get("values") or []:
        for frame in (thread.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)


def scrub_breadcrumb(crumb: dict, hint=None) -> dict:
    crumb.pop("data", None)
    if isinstance(crumb.get("message"), str):
        crumb["message"] = logs.redact(crumb["message"])
    return crumb


def scrub(event: dict, hint=None) -> dict:
    """``before_send``: the event without bodies, locals, cookies or secrets, tagged with the log context."""
    if "request" in event:
        event["request"] = _scrub_request(event["request"] or {})
    _scrub_frames(event)
    event.pop("extra", None)
    user = event.get("user") or {}
    event["user"] = {"id": user["id"]} if user.get("id") is not None else {}
    if not event["user"]:
        event.pop("user")
    for key in ("message",):
        if isinstance(event.get(key), str):
            event[key] = logs.redact(event[key])
    # A logged error keeps its template ("Report %s failed: %s"), not what was put in it;
    # the ids that matter are tags.
    logentry = event.get("logentry") or {}
    if isinstance(logentry.get("message"), str):
        logentry["message"] = logs.redact(logentry["message"])
    logentry.pop("params", None)
    logentry.pop("formatted", None)
    crumbs = event.get("breadcrumbs") or {}
    for crumb in crumbs.get("values", []) if isinstance(crumbs, dict) else crumbs:
        scrub_breadcrumb(crumb)
    tags = event.setdefault("tags", {})
    for key, value in logs.current().items():
        if key in TAGS:
            tags[key] = value
    return event


def init_sentry(*, dsn: str, environment: str, release: str | None, traces_sample_rate: float) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        traces_sample_rate=traces_sample_rate,
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub,
        before_send_transaction=scrub,
        before_breadcrumb=scrub_breadcrumb,
        integrations=[DjangoIntegration(), CeleryIntegration()],
    )
