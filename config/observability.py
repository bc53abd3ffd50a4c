"""What ties requests and tasks to their logs and metrics: the request id, the context, ``/metrics``.

* :class:`RequestObservabilityMiddleware` (first in ``MIDDLEWARE``) takes the
  request's ``X-Request-ID`` (or makes one), echoes it in the response, binds
  the log context (request, room and report ids from the URL; the user once
  authenticated) and counts the request by route and status.
* Celery signals carry the request id into every task a request starts (a
  message header, ``warroom_request_id``, which the tasks those tasks send
  inherit in turn), bind the task's context (task id and name, and the
  ``report_id``/``room_id`` arguments) and count tasks by name and outcome.
* :func:`metrics_view` serves ``/metrics`` to ``Authorization: Bearer <METRICS_TOKEN>``.

``config/celery.py`` imports this module, so the signals are connected in every
process that has the Celery app: web processes (eager and embedded tasks too) and workers.
Nothing here may read settings at import time, since that import comes before Django's setup.
"""

from __future__ import annotations

import hmac
import inspect
import logging
import re
import threading
import time
import uuid

from celery.signals import before_task_publish, task_postrun, task_prerun, worker_process_shutdown
from django.conf import settings
from django.http import HttpResponse
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _
from prometheus_client import CONTENT_TYPE_LATEST

from config import logs, metrics

REQUEST_ID_HEADER = "X-Request-ID"
TASK_HEADER = "warroom_request_id"
# Ids from elsewhere are kept when they are plain tokens a log search can hold; anything else is replaced.
VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@+=-]{1,128}$")
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
# Probes and scrapes come every few seconds: counted, not logged.
QUIET_ROUTES = {"healthz", "readyz", "metrics"}

access_logger = logging.getLogger("warroom.request")
logger = logging.getLogger(__name__)


# --- Requests -----------------------------------------------------------------------------


def request_id_for(request) -> str:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if VALID_REQUEST_ID.match(given) else uuid.uuid4().hex


def route_of(request) -> str:
    """The URL pattern that answered (``api/rooms/<uuid:room_id>/messages/``), never the path itself."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        if request.path_info.startswith(settings.STATIC_URL):
            return "<static>"
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return "<unmatched>"
    return match.route or match.view_name or "<unnamed>"


def _ids_from_view(request, view_kwargs) -> dict:
    ids = {"room_id": view_kwargs.get("room_id"), "report_id": view_kwargs.get("report_id")}
    url_name = getattr(getattr(request, "resolver_match", None), "url_name", "") or ""
    if ids["room_id"] is None and "pk" in view_kwargs and url_name.startswith(("api-room", "room")):
        ids["room_id"] = view_kwargs["pk"]
    return ids


class RequestObservabilityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id_for(request)
        tokens = logs.replace({"request_id": request.request_id}, request=request)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            seconds = time.monotonic() - started
            response[REQUEST_ID_HEADER] = request.request_id
            route = route_of(request)
            method = request.method if request.method in METHODS else "OTHER"
            metrics.http_request(route=route, method=method, status=response.status_code, seconds=seconds)
            if settings.LOG_REQUESTS and route.rstrip("/") not in QUIET_ROUTES:
                access_logger.info(
                    "%s %s %s", method, request.path, response.status_code,
                    extra={"method": method, "path": request.path, "route": route, "status": response.status_code,
                           "duration_ms": round(seconds * 1000, 1)},
                )
            return response
        finally:
            logs.restore(tokens)

    def process_view(self, request, view_func, view_args, view_kwargs):
        logs.bind(**_ids_from_view(request, view_kwargs))


def metrics_view(request):
    """Prometheus' scrape: 404 unless METRICS_TOKEN is set, 403 without ``Authorization: Bearer <it>``."""
    from config.views import error_response

    token = settings.METRICS_TOKEN
    if not token:
        return error_response(request, 404, "not_found", _("Nothing was found at this address."), _("Not found"))
    scheme, _sep, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        return error_response(request, 403, "permission_denied", _("You do not have access to this page."),
                              _("No access"))
    return HttpResponse(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)


# --- Celery -------------------------------------------------------------------------------

# task id -> (log context tokens, start time); a worker thread runs one task at a time.
_running: dict[str, tuple] = {}
_running_lock = threading.Lock()
ID_ARGUMENTS = ("report_id", "room_id")


_signatures: dict[str, inspect.Signature | None] = {}


def _signature(task) -> inspect.Signature | None:
    if task.name not in _signatures:
        try:
            _signatures[task.name] = inspect.signature(task.run)
        except (TypeError, ValueError):
            _signatures[task.name] = None
    return _signatures[task.name]


def ids_from_arguments(task, args, kwargs) -> dict:
    """``report_id`` and ``room_id`` among the task's arguments, by name."""
    signature = _signature(task)
    if signature is None:
        return {}
    try:
        bound = signature.bind_partial(*(args or ()), **(kwargs or {}))
    except TypeError:
        return {}
    return {name: bound.arguments[name] for name in ID_ARGUMENTS if bound.arguments.get(name) is not None}


@before_task_publish.connect(dispatch_uid="warroom.carry_request_id")
def carry_request_id(sender=None, headers=None, **kwargs):
    """Tasks sent while serving a request (or running a task that has one) carry its request id."""
    request_id = logs.request_id()
    if request_id and headers is not None and TASK_HEADER not in headers:
        headers[TASK_HEADER] = request_id


@task_prerun.connect(dispatch_uid="warroom.task_started")
def task_started(sender=None, task_id=None, task=None, args=None, kwargs=None, **extra):
    # An eager task (tests, CELERY_TASK_ALWAYS_EAGER) runs inside the request that sent it.
    request_id = getattr(task.request, TASK_HEADER, None) or logs.request_id()
    context = {"request_id": request_id, "task_id": task_id, "task_name": task.name,
               **ids_from_arguments(task, args, kwargs)}
    with _running_lock:
        _running[task_id] = (logs.replace(context), time.monotonic())


@task_postrun.connect(dispatch_uid="warroom.task_ended")
def task_ended(sender=None, task_id=None, task=None, state=None, **extra):
    with _running_lock:
        tokens, started = _running.pop(task_id, (None, None))
    outcome = (state or "unknown").lower()
    metrics.task_finished(task=task.name, outcome=outcome,
                          seconds=time.monotonic() - started if started is not None else None)
    if tokens is not None:
        try:
            logs.restore(tokens)
        except ValueError:  # noqa: S110 - ended in another context (cannot happen in Celery's own pools)
            pass


@worker_process_shutdown.connect(dispatch_uid="warroom.metrics_process_dead")
def worker_process_exits(**kwargs):
    metrics.mark_process_dead()
