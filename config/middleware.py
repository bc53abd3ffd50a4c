"""Refuse request bodies larger than the site accepts, before reading them; keep private pages out of caches;
answer 503 when Redis is unavailable outside the API views."""

import logging

from django.conf import settings
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError

from config.api import RETRY_AFTER_SECONDS, service_unavailable_message
from config.views import error_response

logger = logging.getLogger(__name__)

# Room of the multipart framing around a file at the size limit.
MULTIPART_OVERHEAD = 1024 * 1024


class RequestSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raw = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw)
        except ValueError:
            return error_response(request, 400, "bad_request", _("The Content-Length header is not a number."))
        if request.META.get("CONTENT_TYPE", "").startswith("multipart/"):
            limit = settings.ROOM_FILE_MAX_BYTES + MULTIPART_OVERHEAD
        else:
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if length > limit:
            return error_response(
                request, 413, "too_large",
                _("The request is larger than the %(limit)d MB this site accepts.") % {"limit": max(limit // (1024 * 1024), 1)},
            )
        return self.get_response(request)


class PrivateCacheMiddleware:
    """``Cache-Control: private, no-store`` on every API answer and on every page a signed-in person gets.

    Rooms, timelines and reports must not stay in a shared proxy or in the browser's cache
    after logging out. Static files are served before this (WhiteNoise) and keep their own headers.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if request.path.startswith("/api/") or (user is not None and user.is_authenticated):
            patch_cache_control(response, private=True, no_store=True)
        return response


class RedisUnavailableMiddleware:
    """A Redis error outside DRF's views (pages, the notes stream) answers 503, not 500.

    DRF's own exception handler (config/api.py) covers the API views; this covers every
    other view, under /api/ with the JSON error body and elsewhere with the error page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (RedisError, BrokerError)):
            return None
        logger.error("Redis unavailable: %r", exception)
        response = error_response(request, 503, "service_unavailable", service_unavailable_message(),
                                  _("Service unavailable"))
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
