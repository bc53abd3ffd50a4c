"""A fake AI server: a real threaded HTTP server on a free loopback port.

It speaks DIFY's ``POST /v1/chat-messages`` (blocking JSON and streaming SSE
with pings, ``message``/``message_replace``/``message_end`` and mid-stream
``error`` events) and OpenAI's ``POST /v1/chat/completions`` (blocking and
streaming with ``data: [DONE]`` and a usage chunk whose ``choices`` is null).
Replies follow a script, so tests can ask for ``[500, 500, 200]``, a 401,
slow headers or a body that drips one byte at a time::

    from tests.fakes.ai_server import FakeAIServer, Reply

    with FakeAIServer(script=[Reply(status=500), Reply(status=500)], answer='{"summary": "..."}') as ai:
        settings.DIFY_BASE_URL = ai.base_url          # http://127.0.0.1:<port>/v1
        ...
        assert len(ai.requests) == 3
        assert ai.requests[0].json["response_mode"] == "streaming"

Each request takes the next scripted :class:`Reply`; when the script is used
up, every further request gets ``default`` (a 200 with ``answer``).
``ai.requests`` records method, path, headers and JSON body of every request.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_ANSWER = json.dumps({
    "summary": "AI 摘要：郵件閘道佇列暴增，已修復。",
    "timeline": [{"time": "09:40", "event": "告警觸發"}, {"time": "11:10", "event": "服務恢復"}],
    "participants": [{"name": "陳愛麗 Alice Chen", "role": "指揮官", "contribution": "協調處理"}],
    "resolution_process": "AI 處理過程：修正 DNS 並清空佇列。",
    "current_status": "AI 目前狀態：已恢復。",
    "final_resolution": "AI 最終處置：修正 resolver 設定。",
}, ensure_ascii=False)


@dataclass
class Reply:
    """One scripted answer.

    status: HTTP status; >= 400 sends an error body ``{code, message, status}`` (DIFY) or
        ``{"error": {...}}`` (OpenAI).
    answer: the text the model "writes" (defaults to the server's ``answer``).
    stream: force streaming (True) or blocking (False); None follows the request.
    chunks: how many pieces a streamed answer is cut into.
    pings: send DIFY ``event: ping`` lines between chunks.
    replace: DIFY ``message_replace`` text sent after the chunks.
    stream_error: after this many chunks, send an ``error`` event (DIFY) / error chunk (OpenAI) and stop.
    headers_delay: seconds to wait before sending the status line (slow headers).
    chunk_delay: seconds between streamed chunks.
    drip: send the whole body one byte at a time, ``drip_delay`` seconds apart.
    end_id_field: name of the id in DIFY's ``message_end`` event ("message_id" or "id").
    raw_body: send these bytes as the body, as they are (content type ``content_type``).
    retry_after: a Retry-After header value.
    """

    status: int = 200
    answer: str | None = None
    stream: bool | None = None
    chunks: int = 4
    pings: bool = True
    replace: str | None = None
    stream_error: int | None = None
    headers_delay: float = 0.0
    chunk_delay: float = 0.0
    drip: bool = False
    drip_delay: float = 0.05
    end_id_field: str = "message_id"
    raw_body: bytes | None = None
    content_type: str = "application/json"
    retry_after: str | None = None
    prompt_tokens: int = 321
    completion_tokens: int = 123
    error_code: str = ""
    error_message: str = ""


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict
    json: dict | None
    reply: Reply = field(repr=False, default=None)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client cut off at its deadline is what some tests are about, not an error.
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class FakeAIServer:
    def __init__(self, *, script: list[Reply | int] | None = None, answer: str = DEFAULT_ANSWER,
                 default: Reply | None = None):
        self.script = [Reply(status=s) if isinstance(s, int) else s for s in (script or [])]
        self.answer = answer
        self.default = default or Reply()
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = None

    # --- lifecycle --------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The API base both DIFY_BASE_URL and OPENAI_BASE_URL take."""
        return f"{self.url}/v1"

    def start(self) -> "FakeAIServer":
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-ai-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- script -----------------------------------------------------------------

    def next_reply(self) -> Reply:
        with self._lock:
            return self.script.pop(0) if self.script else self.default

    def wait(self, seconds: float) -> None:
        """Sleep that ends early when the server stops."""
        if seconds > 0:
            self._stopping.wait(seconds)


def _handler_for(fake: FakeAIServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):  # noqa: N802 - http.server's naming
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            reply = fake.next_reply()
            with fake._lock:
                fake.requests.append(RecordedRequest("POST", self.path, dict(self.headers), body, reply))
            fake.wait(reply.headers_delay)
            if self.path.rstrip("/").endswith("/chat-messages"):
                self._dify(body or {}, reply)
            elif self.path.rstrip("/").endswith("/chat/completions"):
                self._openai(body or {}, reply)
            else:
                self._send(404, b'{"code": "not_found", "message": "no such path", "status": 404}')

        # --- plumbing ----------------------------------------------------------

        def _send(self, status, body: bytes, content_type="application/json", reply: Reply | None = None):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            if reply and reply.retry_after:
                self.send_header("Retry-After", reply.retry_after)
            if reply and reply.drip:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for byte in body:
                    if fake._stopping.is_set():
                        return
                    self._chunk(bytes([byte]))
                    fake.wait(reply.drip_delay)
                self._chunk(b"")
                return
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _chunk(self, data: bytes):
            try:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client went away (a deadline cut it off)

        def _stream(self, pieces: list[bytes], reply: Reply):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for piece in pieces:
                if fake._stopping.is_set():
                    return
                if reply.drip:
                    for byte in piece:
                        self._chunk(bytes([byte]))
                        fake.wait(reply.drip_delay)
                else:
                    self._chunk(piece)
                    fake.wait(reply.chunk_delay)
            self._chunk(b"")

        @staticmethod
        def _split(text: str, n: int) -> list[str]:
            n = max(1, min(n, len(text) or 1))
            size = -(-len(text) // n) or 1
            return [text[i:i + size] for i in range(0, len(text), size)] or [""]

        # --- DIFY ----------------------------------------------------------------

        def _dify(self, body: dict, reply: Reply):
            answer = fake.answer if reply.answer is None else reply.answer
            if reply.raw_body is not None:
                return self._send(reply.status, reply.raw_body, reply.content_type, reply)
            if reply.status >= 400:
                error = {"code": reply.error_code or {401: "unauthorized", 429: "too_many_requests"}.get(
                    reply.status, "internal_error"), "message": reply.error_message or f"fake error {reply.status}",
                    "status": reply.status}
                return self._send(reply.status, json.dumps(error).encode(), reply=reply)
            streaming = reply.stream if reply.stream is not None else body.get("response_mode") == "streaming"
            message_id, conversation_id = str(uuid.uuid4()), body.get("conversation_id") or str(uuid.uuid4())
            usage = {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
                     "total_tokens": reply.prompt_tokens + reply.completion_tokens}
            if not streaming:
                data = {"event": "message", "task_id": str(uuid.uuid4()), "id": message_id, "message_id": message_id,
                        "conversation_id": conversation_id, "mode": "chat", "answer": answer,
                        "metadata": {"usage": usage}, "created_at": 1700000000}
                return self._send(200, json.dumps(data, ensure_ascii=False).encode(), reply=reply)

            def event(data):
                return f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()

            pieces = []
            for index, part in enumerate(self._split(answer, reply.chunks)):
                if reply.stream_error is not None and index >= reply.stream_error:
                    pieces.append(event({"event": "error", "message_id": message_id, "status": 400,
                                         "code": "completion_request_error", "message": "fake mid-stream failure"}))
                    return self._stream(pieces, reply)
                if reply.pings:
                    pieces.append(b"event: ping\n\n")
                pieces.append(event({"event": "message", "message_id": message_id,
                                     "conversation_id": conversation_id, "answer": part, "created_at": 1700000000}))
            if reply.replace is not None:
                pieces.append(event({"event": "message_replace", "message_id": message_id,
                                     "conversation_id": conversation_id, "answer": reply.replace}))
            pieces.append(event({"event": "message_end", reply.end_id_field: message_id,
                                 "conversation_id": conversation_id, "metadata": {"usage": usage}}))
            self._stream(pieces, reply)

        # --- OpenAI ---------------------------------------------------------------

        def _openai(self, body: dict, reply: Reply):
            answer = fake.answer if reply.answer is None else reply.answer
            if reply.raw_body is not None:
                return self._send(reply.status, reply.raw_body, reply.content_type, reply)
            if reply.status >= 400:
                error = {"error": {"message": reply.error_message or f"fake error {reply.status}",
                                   "type": reply.error_code or "server_error", "code": reply.error_code or None}}
                return self._send(reply.status, json.dumps(error).encode(), reply=reply)
            streaming = reply.stream if reply.stream is not None else bool(body.get("stream"))
            completion_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
            usage = {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
                     "total_tokens": reply.prompt_tokens + reply.completion_tokens}
            if not streaming:
                data = {"id": completion_id, "object": "chat.completion", "model": body.get("model", "fake"),
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer},
                                     "finish_reason": "stop"}], "usage": usage}
                return self._send(200, json.dumps(data, ensure_ascii=False).encode(), reply=reply)

            def chunk(data):
                return f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()

            base = {"id": completion_id, "object": "chat.completion.chunk", "model": body.get("model", "fake")}
            pieces = [chunk({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": None}}]})]
            for index, part in enumerate(self._split(answer, reply.chunks)):
                if reply.stream_error is not None and index >= reply.stream_error:
                    pieces.append(chunk({"error": {"message": "fake mid-stream failure", "type": "server_error"}}))
                    return self._stream(pieces, reply)
                pieces.append(chunk({**base, "choices": [{"index": 0, "delta": {"content": part}}]}))
            pieces.append(chunk({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
            if (body.get("stream_options") or {}).get("include_usage"):
                pieces.append(chunk({**base, "choices": None, "usage": usage}))
            pieces.append(b"data: [DONE]\n\n")
            self._stream(pieces, reply)

    return Handler
