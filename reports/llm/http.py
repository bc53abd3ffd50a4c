"""One pooled httpx client per process, and requests bound by a total deadline.

httpx timeouts apply to each network operation, so a server that sends one
byte at a time never trips them. :func:`deadline_request` therefore bounds a
whole call by wall-clock time: the read timeout is the time left when the call
starts (slow headers), the body is read in chunks with the deadline checked
after each one, and a watchdog shuts the socket down at the deadline so that a
read blocked in the middle of a drip returns at once.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import httpx
from django.conf import settings

from reports.llm.base import LLMAuthError, LLMBadRequest, LLMError, LLMRetryableError, LLMTimeout

# The pooled client: connections open at once, kept alive, and for how long (seconds).
POOL_CONNECTIONS, POOL_KEEPALIVE, KEEPALIVE_SECONDS = 32, 8, 30
# The largest answer read from an AI server, and the largest error body read to explain a failure.
MAX_BODY_BYTES = 20 * 1024 * 1024
MAX_ERROR_BODY_BYTES = 256 * 1024
# An error body kept for the operator, and the part of it used as the message when it is not JSON (characters).
MAX_ERROR_TEXT, MAX_ERROR_MESSAGE = 2000, 300

_client: httpx.Client | None = None
_client_pid: int | None = None
_client_lock = threading.Lock()


def http_client() -> httpx.Client:
    """The process's pooled client (a fresh one after a fork: sockets are not shared across processes)."""
    global _client, _client_pid
    with _client_lock:
        if _client is None or _client_pid != os.getpid():
            _client = httpx.Client(
                limits=httpx.Limits(max_connections=POOL_CONNECTIONS, max_keepalive_connections=POOL_KEEPALIVE,
                                    keepalive_expiry=KEEPALIVE_SECONDS),
                follow_redirects=False,
                headers={"User-Agent": "Warroom-report-writer/1.0"},
            )
            _client_pid = os.getpid()
        return _client


class Deadline:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def check(self, what: str = "the AI call") -> None:
        if self.remaining() <= 0:
            raise LLMTimeout(f"{what} passed its total deadline of {self.seconds:g} s")


def _socket_of(response: httpx.Response):
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    try:
        return stream.get_extra_info("socket")
    except Exception:  # noqa: BLE001 - not every transport exposes a socket
        return None


@contextmanager
def deadline_request(method: str, url: str, *, deadline: Deadline, **kwargs) -> Iterator[httpx.Response]:
    """Send a request and yield the streaming response; every read is bound by ``deadline``.

    Network failures become :class:`LLMRetryableError` and timeouts
    :class:`LLMTimeout`; HTTP error statuses are left to the caller.
    """
    remaining = deadline.remaining()
    if remaining <= 0:
        raise LLMTimeout("no time left for the AI call")
    connect = min(float(settings.AI_CONNECT_TIMEOUT_SECONDS), remaining)
    timeout = httpx.Timeout(remaining, connect=connect)
    client = http_client()
    request = client.build_request(method, url, timeout=timeout, **kwargs)
    watchdog = None
    try:
        try:
            response = client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise LLMTimeout(f"the AI server did not answer in time ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise LLMRetryableError(f"could not reach the AI server: {type(exc).__name__}: {exc}") from exc
        sock = _socket_of(response)
        if sock is not None:
            def cut():
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            watchdog = threading.Timer(max(deadline.remaining(), 0), cut)
            watchdog.daemon = True
            watchdog.start()
        try:
            yield response
        except httpx.TimeoutException as exc:
            raise LLMTimeout(f"the AI server stopped sending ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            if deadline.remaining() <= 0:
                raise LLMTimeout(f"the AI call passed its total deadline of {deadline.seconds:g} s") from exc
            raise LLMRetryableError(f"the connection to the AI server broke: {type(exc).__name__}: {exc}") from exc
        finally:
            response.close()
    finally:
        if watchdog is not None:
            watchdog.cancel()


def read_body(response: httpx.Response, deadline: Deadline, *, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole body, checking the deadline after every chunk."""
    parts, size = [], 0
    for chunk in response.iter_bytes():
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            raise LLMRetryableError("the AI server sent a response that is too large")
        deadline.check()
    deadline.check()
    return b"".join(parts)


def iter_lines(response: httpx.Response, deadline: Deadline) -> Iterator[str]:
    """Decoded lines of a streaming body (SSE), checking the deadline after every chunk."""
    buffer = b""
    for chunk in response.iter_bytes():
        deadline.check()
        buffer += chunk
        while True:
            index = buffer.find(b"\n")
            if index < 0:
                break
            line, buffer = buffer[:index], buffer[index + 1:]
            yield line.rstrip(b"\r").decode("utf-8", errors="replace")
    deadline.check()
    if buffer:
        yield buffer.rstrip(b"\r").decode("utf-8", errors="replace")


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None


def error_for_status(provider: str, status: int, body: bytes, *, retry_after: float | None = None):
    """The LLMError matching an HTTP error status, with the server's own code and message."""
    text = body.decode("utf-8", errors="replace")[:MAX_ERROR_TEXT]
    code, message = "", text[:MAX_ERROR_MESSAGE]
    try:
        data = json.loads(text)
        if isinstance(data, dict):
            inner = data.get("error") if isinstance(data.get("error"), dict) else data
            code = str(inner.get("code") or inner.get("type") or "")
            message = str(inner.get("message") or message)
    except ValueError:
        pass
    detail = f"{provider} answered HTTP {status}" + (f" {code}" if code else "") + (f": {message}" if message else "")
    if status in (401, 403):
        return LLMAuthError(detail, status=status, code=code, raw=text)
    if status == 429 or status >= 500 or status == 408:
        return LLMRetryableError(detail, status=status, code=code, raw=text, retry_after=retry_after)
    if status in (400, 404, 413, 422):
        return LLMBadRequest(detail, status=status, code=code, raw=text)
    return LLMError(detail, status=status, code=code, raw=text)


def post_json(provider: str, url: str, *, headers: dict, body: dict, timeout: float, read_stream, read_blocking,
              on_delta=None):
    """POST ``body`` under one total deadline and read the answer the way the server sent it.

    An HTTP error becomes the matching :class:`LLMError` (see ``error_for_status``);
    a ``text/event-stream`` answer goes to ``read_stream(response, deadline, on_delta)``,
    any other to ``read_blocking(raw_bytes)``.
    """
    deadline = Deadline(timeout)
    with deadline_request(
        "POST", url, deadline=deadline, headers=headers, content=json.dumps(body, ensure_ascii=False).encode()
    ) as response:
        if response.status_code >= 400:
            raise error_for_status(
                provider, response.status_code, read_body(response, deadline, limit=MAX_ERROR_BODY_BYTES),
                retry_after=retry_after_seconds(response),
            )
        if "text/event-stream" in response.headers.get("content-type", ""):
            return read_stream(response, deadline, on_delta)
        return read_blocking(read_body(response, deadline))
