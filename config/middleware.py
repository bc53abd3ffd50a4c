"""Refuse request bodies larger than the site accepts, before reading them; keep private pages out of caches."""

from django.conf import settings
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _

from config.views import error_response

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
