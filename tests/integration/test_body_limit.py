"""Oversized bodies are refused in front of Django, on a raw socket against a real uvicorn.

The server gets its own temporary folder (TMPDIR), so the test can see that no
body was spooled to disk.
"""

import os
import socket
import time

import httpx
import pytest

from tests.services import BIN, Process, free_port, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(service_env, service_log_dir, tmp_path_factory):
    tmpdir = tmp_path_factory.mktemp("server-tmp")
    port = free_port()
    env = {**service_env, "TMPDIR": str(tmpdir)}
    args = [str(BIN / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1", "--port", str(port), "--lifespan", "on", "--no-proxy-headers"]
    process = Process("uvicorn-bodylimit", args, env=env, log_dir=service_log_dir).start()
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200, timeout=60, what="uvicorn", process=process.popen, log=process.log)
    yield {"port": port, "tmpdir": tmpdir}
    process.stop()


def folder_bytes(path) -> int:
    return sum(os.path.getsize(os.path.join(root, name)) for root, _dirs, names in os.walk(path) for name in names)


def read_response(sock, timeout) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_a_declared_150_mb_body_is_refused_at_once_without_being_read(server):
    with socket.create_connection(("127.0.0.1", server["port"])) as sock:
        started = time.monotonic()
        sock.sendall(
            b"POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 157286400\r\nAccept-Language: en\r\n\r\n"
        )
        response = read_response(sock, timeout=5)
        elapsed = time.monotonic() - started
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert elapsed < 1.0
    assert folder_bytes(server["tmpdir"]) == 0


def test_a_chunked_body_is_cut_off_at_the_limit(server, settings):
    limit = settings.REQUEST_MAX_BYTES_API
    with socket.create_connection(("127.0.0.1", server["port"])) as sock:
        sock.sendall(
            b"POST /api/rooms/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        piece = b"x" * 65536
        sent = 0
        response = b""
        try:
            # Far more than the limit, unless the server refuses first.
            while sent < 20 * limit:
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                sent += len(piece)
                sock.setblocking(False)
                try:
                    response += sock.recv(65536)
                except BlockingIOError:
                    pass
                sock.setblocking(True)
                if response:
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
        if not response:
            response = read_response(sock, timeout=5)
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert b"content-type: application/json" in response.lower()
    # Cut off near the limit (plus what the kernel's socket buffers hold), not after 20 MB.
    assert sent < 10 * limit
    assert folder_bytes(server["tmpdir"]) == 0


def test_small_bodies_still_reach_django(server):
    response = httpx.post(f"http://127.0.0.1:{server['port']}/api/rooms/", json={"title": "x"})
    assert response.status_code == 401  # through to the API, which wants credentials
