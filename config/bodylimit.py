"""Refuse request bodies over the limit in front of Django, before they are read.

Django's ASGI handler reads a whole body (spooling it to a temporary file past
``FILE_UPLOAD_MAX_MEMORY_SIZE``) before any middleware runs, so a slow
150 MB POST to the login page filled the disk before the 413. This pure ASGI
layer answers a declared ``Content-Length`` over the limit at once, without
reading a byte of the body, and counts a chunked body as it arrives, cutting it
off at the limit. Limits are per route class: file uploads, the JSON API, and
everything else (forms).
"""

import json
import re

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import get_supported_language_variant, parse_accept_lang_header

# Room for the multipart framing around a file at the size limit.
MULTIPART_OVERHEAD = 1024 * 1024
_UPLOAD_PATH = re.compile(r"^/api/rooms/[0-9a-fA-F-]{32,36}/files/$")


def limit_for(path: str) -> int:
    """The most bytes a request body to ``path`` may have."""
    if _UPLOAD_PATH.match(path):
        return settings.ROOM_FILE_MAX_BYTES + MULTIPART_OVERHEAD
    if path.startswith("/api/"):
        return settings.REQUEST_MAX_BYTES_API
    return settings.REQUEST_MAX_BYTES_FORM


def _language(headers) -> str:
    for code, _quality in parse_accept_lang_header(headers.get(b"accept-language", b"").decode("latin-1")):
        try:
            return get_supported_language_variant(code)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


def _refusal(scope, headers, status, code, message_for):
    with translation.override(_language(headers)):
        message = str(message_for())
    if scope["path"].startswith("/api/"):
        body = json.dumps({"error": {"code": code, "message": message, "details": {}}}, ensure_ascii=False).encode()
        content_type = b"application/json"
    else:
        body = message.encode()
        content_type = b"text/plain; charset=utf-8"
    return [
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                # The rest of the body is never read: the connection cannot be reused.
                (b"connection", b"close"),
            ],
        },
        {"type": "http.response.body", "body": body},
    ]


def _too_large(limit):
    def message():
        if limit >= 1024 * 1024:
            size = _("%(size)d MB") % {"size": limit // (1024 * 1024)}
        else:
            size = _("%(size)d KB") % {"size": max(limit // 1024, 1)}
        return _("The request is larger than the %(size)s this site accepts.") % {"size": size}

    return message


class BodySizeLimit:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        limit = limit_for(scope["path"])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
                if length < 0:
                    raise ValueError
            except ValueError:
                for message in _refusal(scope, headers, 400, "bad_request",
                                        lambda: _("The Content-Length header is not a number.")):
                    await send(message)
                return
            if length > limit:
                for message in _refusal(scope, headers, 413, "too_large", _too_large(limit)):
                    await send(message)
                return

        state = {"received": 0, "refused": False, "started": False}

        async def counted_receive():
            if state["refused"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["refused"] = True
                    if not state["started"]:
                        for reply in _refusal(scope, headers, 413, "too_large", _too_large(limit)):
                            await send(reply)
                    # The application stops reading: to it, the client went away.
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            if state["refused"]:
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        return await self.app(scope, counted_receive, guarded_send)
