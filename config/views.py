"""Site-wide views: the front door, a health check and the error pages."""

from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from config.api import error_body


def home(request):
    if request.user.is_authenticated:
        return redirect("incidents:room-list")
    return redirect("login")


@require_GET
def healthz(request):
    """Liveness and database reachability, for load balancers and compose."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any database failure means "not ready"
        return JsonResponse({"status": "unavailable", "database": "down"}, status=503)
    return JsonResponse({"status": "ok"})


def error_response(request, status, code, message, title=None):
    """The JSON error shape under /api/, the error page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body(code, message), status=status)
    return render(request, "error.html", {"title": title or code, "message": message, "status": status}, status=status)



def bad_request(request, exception=None):
    return error_response(request, 400, "bad_request", _("The request could not be understood."), _("Bad request"))


def permission_denied(request, exception=None):
    return error_response(request, 403, "permission_denied", _("You do not have access to this page."), _("No access"))


def page_not_found(request, exception=None):
    return error_response(request, 404, "not_found", _("Nothing was found at this address."), _("Not found"))


def server_error(request):
    return error_response(
        request, 500, "server_error", _("Something went wrong on our side; the operators have been told."), _("Error")
    )
