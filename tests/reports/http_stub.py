"""A real HTTP server on a free loopback port that answers from a script, for delivery tests."""

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Received:
    method: str
    path: str
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


class StubServer:
    """Answers each request with the next status of ``script``, then ``default`` forever."""

    def __init__(self):
        self.script = []
        self.default = 200
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with stub._lock:
                    stub.requests.append(Received("POST", self.path, dict(self.headers), body))
                    status = stub.script.pop(0) if stub.script else stub.default
                answer = json.dumps({"ok": status < 400, "result": {}, "description": f"status {status}"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def respond(self, *statuses, then=200):
        self.script = list(statuses)
        self.default = then


@pytest.fixture
def stub_server():
    stub = StubServer()
    stub.thread.start()
    yield stub
    stub.server.shutdown()
    stub.server.server_close()
