"""Site-wide views: the front door, the liveness and readiness checks, and the error pages."""

import sys

from django.contrib.auth.models import AnonymousUser
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config import readiness
from config.api import DATABASE_ERRORS, RETRY_AFTER_SECONDS, database_down_message, error_body


def home(request):
    if request.user.is_authenticated:
        return redirect("incidents:room-list")
    return redirect("login")


@never_cache
@require_GET
def healthz(request):
    """Liveness: the process answers. No database or Redis: an outage of theirs is /readyz's to
    report, and must not get every web process restarted by its orchestrator."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    """Readiness: the database, Redis and the file storage answer (each within a couple of seconds).

    Load balancers and compose send traffic to a process only while this says 200; a 503 names
    what is unreachable in ``error.details`` (``{"database": "ok", "redis": "down", ...}``).
    """
    results = readiness.check_all()
    down = [name for name, state in results.items() if state == readiness.DOWN]
    if not down:
        return JsonResponse({"status": "ok", **results})
    message = _("Warroom is not ready: %(parts)s cannot be reached.") % {"parts": ", ".join(down)}
    return JsonResponse(error_body("not_ready", message, results), status=503)


def error_response(request, status, code, message, title=None, *, headers=None):
    """The JSON error shape under /api/, the error page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body(code, message), status=status, headers=headers)
    # Neither the person nor their flash messages are read: both may need the database that is down.
    context = {"title": title or code, "message": message, "status": status, "user": AnonymousUser(), "messages": []}
    response = render(request, "error.html", context, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response



def bad_request(request, exception=None):
    return error_response(request, 400, "bad_request", _("The request could not be understood."), _("Bad request"))


def permission_denied(request, exception=None):
    return error_response(request, 403, "permission_denied", _("You do not have access to this page."), _("No access"))


def page_not_found(request, exception=None):
    return error_response(request, 404, "not_found", _("Nothing was found at this address."), _("Not found"))


def server_error(request):
    # Django calls this inside the ``except`` that caught the error, so the error is at hand: the
    # database unreachable (stopped, restarting, failing over) is a 503 to try again, not our bug.
    if isinstance(sys.exc_info()[1], DATABASE_ERRORS):
        return error_response(
            request, 503, "service_unavailable", database_down_message(), _("Unavailable"),
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return error_response(
        request, 500, "server_error", _("Something went wrong on our side; the operators have been told."), _("Error")
    )
