"""Warroom's Prometheus metrics (prometheus-client), declared in one place.

Every metric is named ``warroom_*`` and is declared here, with one small
function per event that the rest of the code calls (``metrics.report_finished``,
``metrics.ai_call``, ...), so that an app never touches prometheus-client and a
metric's labels are decided in one place. docs/operations.md lists them.

Several processes: with ``PROMETHEUS_MULTIPROC_DIR`` set (the same directory,
on the same host or volume, for every web process and every worker),
prometheus-client's multiprocess mode keeps each process's values in a file
there, and ``/metrics`` on any web process adds up the files of all of them:
web processes, worker processes and their prefork children. Without it (the
embedded default, one process with its worker thread) the process's own values
are served.

``/metrics`` (``config/observability.py``) serves :func:`exposition`. This
module imports nothing of Warroom, so that every app, realtime included, may
call it.
"""

from __future__ import annotations

import atexit
import os

# The directory must exist before prometheus-client creates its first value file in it.
MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if MULTIPROC_DIR:
    os.makedirs(MULTIPROC_DIR, exist_ok=True)

from prometheus_client import (  # noqa: E402
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

# Request and stage latencies, in seconds; AI calls take much longer.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
AI_BUCKETS = (0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)
TASK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

# --- HTTP -------------------------------------------------------------------------------

HTTP_REQUESTS = Counter(
    "warroom_http_requests_total", "HTTP requests answered, by route (the URL pattern), method and status.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "warroom_http_request_duration_seconds", "Time to answer an HTTP request (to the first byte of a stream).",
    ["route", "method"], buckets=LATENCY_BUCKETS,
)

# --- Celery -----------------------------------------------------------------------------

TASKS = Counter(
    "warroom_celery_tasks_total",
    "Celery tasks that ended, by task name and outcome (success, failure, retry, ignored, revoked).",
    ["task", "outcome"],
)
TASK_DURATION = Histogram(
    "warroom_celery_task_duration_seconds", "Run time of a Celery task, by task name.", ["task"],
    buckets=TASK_BUCKETS,
)

# --- Reports ------------------------------------------------------------------------------

REPORTS = Counter(
    "warroom_reports_total", "Reports that reached a final status, by kind and status (completed, failed).",
    ["kind", "status"],
)
STAGE_DURATION = Histogram(
    "warroom_report_stage_duration_seconds",
    "Run time of one report pipeline stage, by stage and outcome (ok, skipped, error).",
    ["stage", "outcome"], buckets=TASK_BUCKETS,
)
REAPED = Counter(
    "warroom_reports_reaped_total", "Stuck reports the reaper re-queued or failed, by action.", ["action"],
)

# --- AI -------------------------------------------------------------------------------------

AI_CALLS = Counter(
    "warroom_ai_calls_total",
    "Calls to an AI writer, by provider and outcome (ok, timeout, unavailable, auth_error, bad_request, error).",
    ["provider", "outcome"],
)
AI_LATENCY = Histogram(
    "warroom_ai_call_duration_seconds", "Time of one AI call, by provider.", ["provider"], buckets=AI_BUCKETS,
)
AI_TOKENS = Counter(
    "warroom_ai_tokens_total", "Tokens the AI writers used, by provider and kind (prompt, completion).",
    ["provider", "kind"],
)
AI_FALLBACKS = Counter(
    "warroom_ai_fallbacks_total", "Times the offline writer took over after the AI failed, by report kind.",
    ["kind"],
)

# --- Realtime, alerts, delivery ---------------------------------------------------------------

# livesum: the processes alive now, added up (a process's file goes when it exits).
WEBSOCKETS_OPEN = Gauge(
    "warroom_websocket_connections", "Room WebSocket connections open now.", multiprocess_mode="livesum",
)
WEBSOCKETS_OPENED = Counter("warroom_websocket_connections_opened_total", "Room WebSocket connections accepted.")
ALERT_DELIVERIES = Counter(
    "warroom_alert_deliveries_total",
    "Webhook deliveries received from alert senders, by source kind and outcome "
    "(accepted, unauthorized, forbidden, too_large, invalid, unavailable).",
    ["source", "outcome"],
)
DELIVERY_ATTEMPTS = Counter(
    "warroom_delivery_attempts_total",
    "Tries to send a finished report out, by channel and outcome (ok, error, fallback_ok, fallback_error).",
    ["channel", "outcome"],
)


# --- What the code calls ----------------------------------------------------------------------


def http_request(*, route: str, method: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(route=route, method=method, status=str(status)).inc()
    HTTP_LATENCY.labels(route=route, method=method).observe(seconds)


def task_finished(*, task: str, outcome: str, seconds: float | None) -> None:
    TASKS.labels(task=task, outcome=outcome).inc()
    if seconds is not None:
        TASK_DURATION.labels(task=task).observe(seconds)


def report_finished(*, kind: str, status: str) -> None:
    REPORTS.labels(kind=str(kind), status=str(status)).inc()


def stage_finished(*, stage: str, outcome: str, seconds: float) -> None:
    STAGE_DURATION.labels(stage=stage, outcome=outcome).observe(seconds)


def reports_reaped(*, requeued: int, failed: int) -> None:
    if requeued:
        REAPED.labels(action="requeued").inc(requeued)
    if failed:
        REAPED.labels(action="failed").inc(failed)


def ai_call(*, provider: str, outcome: str, seconds: float, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
    AI_CALLS.labels(provider=provider, outcome=outcome).inc()
    AI_LATENCY.labels(provider=provider).observe(seconds)
    if prompt_tokens:
        AI_TOKENS.labels(provider=provider, kind="prompt").inc(prompt_tokens)
    if completion_tokens:
        AI_TOKENS.labels(provider=provider, kind="completion").inc(completion_tokens)


def ai_fallback(*, kind: str) -> None:
    AI_FALLBACKS.labels(kind=str(kind)).inc()


def websocket_opened() -> None:
    WEBSOCKETS_OPEN.inc()
    WEBSOCKETS_OPENED.inc()


def websocket_closed() -> None:
    WEBSOCKETS_OPEN.dec()


ALERT_OUTCOMES = {200: "accepted", 400: "invalid", 401: "unauthorized", 403: "forbidden", 413: "too_large",
                  503: "unavailable"}


def alert_delivery(*, source: str, status: int) -> None:
    ALERT_DELIVERIES.labels(source=str(source), outcome=ALERT_OUTCOMES.get(status, f"http_{status}")).inc()


def delivery_attempt(*, channel: str, outcome: str) -> None:
    DELIVERY_ATTEMPTS.labels(channel=channel, outcome=outcome).inc()


# --- Serving ------------------------------------------------------------------------------------


def exposition() -> bytes:
    """Every metric in the text format: all processes' in multiprocess mode, else this process's."""
    if MULTIPROC_DIR:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def mark_process_dead(pid: int | None = None) -> None:
    """Drop this process's live gauges from the directory (it is exiting)."""
    if MULTIPROC_DIR:
        multiprocess.mark_process_dead(pid or os.getpid())


if MULTIPROC_DIR:
    # Web processes exit through the interpreter; Celery's pool children call this from a signal.
    atexit.register(mark_process_dead)
