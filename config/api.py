"""One JSON error shape for every API error.

Every 4xx and 5xx from ``/api/`` looks like
``{"error": {"code": "...", "message": "...", "details": {...}}}``.
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import Http404
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config.errors import ServiceError

logger = logging.getLogger(__name__)

# PostgreSQL stopped, restarting or failing over: connecting fails at once (or after the
# connect_timeout), and a connection it dropped raises on its next use.
DATABASE_ERRORS = (DatabaseOperationalError, DatabaseInterfaceError)
# What a client is told to wait before trying again: a PostgreSQL restart or a Redis failover
# under Sentinel takes seconds (docs/reliability.md).
RETRY_AFTER_SECONDS = 5


def database_down_message():
    return _("The database is unavailable right now; try again in a few seconds.")


def service_unavailable_message():
    return _("A service Warroom needs is unavailable for a moment; try again in a few seconds.")


def error_body(code, message, details=None):
    return {"error": {"code": code, "message": str(message), "details": details or {}}}


def exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("too_large", _("The request body is too large.")),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, SuspiciousOperation):
        return Response(error_body("bad_request", _("The request could not be understood.")), status=400)
    # Redis is the broker and also the cache the throttles read first: down, or switching to a
    # new primary (connection refused, timeout, read-only replica, no primary known yet),
    # it answers 503, not 500.
    if isinstance(exc, BrokerError):
        logger.error("Task broker unavailable: %r", exc)
        return Response(
            error_body("service_unavailable", _("The background worker queue is unavailable; try again shortly.")),
            status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, RedisError):
        logger.error("Redis unavailable: %r", exc)
        return Response(error_body("service_unavailable", service_unavailable_message()),
                        status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    if isinstance(exc, DATABASE_ERRORS):
        logger.error("Database unavailable: %r", exc)
        return Response(
            error_body("service_unavailable", database_down_message()),
            status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, (Http404, DjangoPermissionDenied)):
        exc = exceptions.NotFound() if isinstance(exc, Http404) else exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = error_body("invalid", _("Some of the data sent is not valid."), details)
    else:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        code = codes if isinstance(codes, str) else "error"
        detail = getattr(exc, "detail", str(exc))
        response.data = error_body(code, detail)
    return response

