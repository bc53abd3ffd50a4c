"""A fake OpenAI-compatible embeddings server: a real threaded HTTP server on a free loopback port.

``POST /v1/embeddings`` with ``{"model", "input": [...]}`` answers ``{"data": [{"index", "embedding"}]}``.
A text's vector counts the words of each concept it contains (``CONCEPTS``), so texts about
the same thing are close whatever their words. ``script`` holds statuses for the first
requests (e.g. ``[503]`` to test a retry); ``requests`` records each body::

    with FakeEmbeddingsServer() as server:
        settings.EMBEDDINGS_BASE_URL = server.base_url   # http://127.0.0.1:<port>/v1
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONCEPTS = [
    ("certificates", ["憑證", "certificate", "tls", "ssl", "x509", "過期"]),
    ("network", ["光模", "網路", "交換器", "link", "switch", "optic"]),
    ("database", ["資料庫", "database", "postgres", "連線"]),
    ("meetings", ["會議", "meeting", "議程", "agenda"]),
]


def concept_vector(text: str) -> list[float]:
    low = text.lower()
    return [float(sum(low.count(word) for word in words)) + 0.01 for _, words in CONCEPTS]


class FakeEmbeddingsServer:
    def __init__(self, *, script=(), vector=concept_vector):
        self.script = list(script)
        self.vector = vector
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802 - the http.server name
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                with server._lock:
                    server.requests.append({"path": self.path, "json": body, "authorization": self.headers.get("Authorization")})
                    status = server.script.pop(0) if server.script else 200
                if self.path != "/v1/embeddings":
                    status = 404
                if status != 200:
                    payload = {"error": {"message": f"scripted {status}", "type": "server_error"}}
                else:
                    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                    payload = {
                        "object": "list", "model": body.get("model"),
                        "data": [{"object": "embedding", "index": i, "embedding": server.vector(t)} for i, t in enumerate(inputs)],
                    }
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
