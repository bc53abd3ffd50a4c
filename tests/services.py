"""Real services for the integration tier, started by the tests themselves.

PostgreSQL and Redis come from the environment (``make test`` makes sure they
listen); the S3 server (moto), the Celery worker and the ASGI server are
started here on free loopback ports and stopped at the end of the session.
With ``CI=true`` a missing service fails the test; elsewhere it skips it.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def require(condition, what):
    """Fail under CI, skip elsewhere, when a real service is missing."""
    if condition:
        return
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"{what} is required in CI but is not available")
    pytest.skip(f"{what} is not available")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, *, timeout, what, process=None, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            output = Path(log).read_text(errors="replace")[-3000:] if log else ""
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{output}")
        try:
            if check():
                return
        except Exception:  # noqa: BLE001, S110 - not up yet
            pass
        time.sleep(0.1)
    output = Path(log).read_text(errors="replace")[-3000:] if log else ""
    raise RuntimeError(f"{what} did not start within {timeout} s\n{output}")


class Process:
    """A child process with its output in a log file under the test's folder."""

    def __init__(self, name, args, *, env, log_dir):
        self.name = name
        self.log = Path(log_dir) / f"{name}.log"
        self.args = args
        self.env = env
        self.popen = None

    def start(self):
        handle = open(self.log, "ab")  # noqa: SIM115 - closed with the process
        self.popen = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT)
        handle.close()
        return self

    def stop(self, sig_kill=False):
        if self.popen is None or self.popen.poll() is not None:
            return
        if sig_kill:
            self.popen.kill()
        else:
            self.popen.terminate()
        try:
            self.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=5)

    def output(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest.fixture(scope="session")
def service_log_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("services")


@pytest.fixture(scope="session")
def redis_url():
    url = os.environ.get("WARROOM_TEST_REDIS_URL", "")
    available = False
    if url:
        import redis

        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=2)
            client.flushdb()
            available = True
        except redis.RedisError:
            available = False
    require(available, f"Redis at {url or 'WARROOM_TEST_REDIS_URL'}")
    return url


@pytest.fixture(scope="session")
def s3_server(service_log_dir):
    moto = BIN / "moto_server"
    require(moto.exists(), "moto_server (the S3 server)")
    port = free_port()
    process = Process("moto", [str(moto), "-H", "127.0.0.1", "-p", str(port)], env=dict(os.environ), log_dir=service_log_dir)
    process.start()
    endpoint = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(f"{endpoint}/moto-api/").status_code == 200, timeout=30, what="moto", process=process.popen, log=process.log)
    import boto3

    bucket = "warroom-test"
    boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    ).create_bucket(Bucket=bucket)
    yield {"endpoint": endpoint, "bucket": bucket, "process": process}
    process.stop()


def s3_env(s3):
    return {
        "S3_BUCKET": s3["bucket"],
        "S3_ENDPOINT_URL": s3["endpoint"],
        "S3_ACCESS_KEY_ID": "testing",
        "S3_SECRET_ACCESS_KEY": "testing",
        "S3_REGION": "us-east-1",
    }


@pytest.fixture(scope="session")
def test_database_url(django_db_setup):
    from django.db import connection

    info = connection.settings_dict
    require(info["ENGINE"] == "django.db.backends.postgresql", "PostgreSQL (DATABASE_URL)")
    password = f":{info['PASSWORD']}" if info.get("PASSWORD") else ""
    return f"postgres://{info['USER']}{password}@{info['HOST'] or '127.0.0.1'}:{info['PORT'] or 5432}/{info['NAME']}"


@pytest.fixture(scope="session")
def service_env(test_database_url, redis_url, s3_server, tmp_path_factory):
    """The environment of a production-like Warroom process for this test session."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_LDAP_", "DIFY_", "OPENAI_"))}
    env.update(s3_env(s3_server))
    env.update(
        {
            "DATABASE_URL": test_database_url,
            "REDIS_URL": redis_url,
            "WARROOM_EMBEDDED_WORKER": "false",
            "WARROOM_VAR_DIR": str(tmp_path_factory.mktemp("var")),
            "AI_PROVIDER": "offline",
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
    )
    return env


def start_celery_worker(env, log_dir, *, name="worker", concurrency=2):
    args = [
        str(BIN / "celery"), "-A", "config", "worker", "--pool=threads", f"--concurrency={concurrency}",
        "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{name}@%h",
    ]
    return Process(name, args, env=env, log_dir=log_dir).start()


def celery_client(redis_url):
    from celery import Celery

    return Celery("warroom-tests", broker=redis_url, backend=redis_url)


@pytest.fixture(scope="session")
def celery_worker(service_env, redis_url, service_log_dir):
    process = start_celery_worker(service_env, service_log_dir)
    client = celery_client(redis_url)
    wait_until(
        lambda: client.send_task("warroom.ping", args=["ready"]).get(timeout=2) == "ready",
        timeout=60, what="celery worker", process=process.popen, log=process.log,
    )
    yield process
    process.stop()


@pytest.fixture(scope="session")
def asgi_server(service_env, service_log_dir):
    port = free_port()
    args = [str(BIN / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1", "--port", str(port), "--lifespan", "on", "--no-proxy-headers"]
    process = Process("uvicorn", args, env=service_env, log_dir=service_log_dir).start()
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200, timeout=60, what="uvicorn", process=process.popen, log=process.log)
    yield {"url": base, "port": port, "process": process}
    process.stop()


def have(command) -> bool:
    return shutil.which(command) is not None


def login_client(base, username, password):
    """An httpx client logged in through the real login form (CSRF and all)."""
    import re

    client = httpx.Client(base_url=base, follow_redirects=True, timeout=15)
    page = client.get("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = client.post("/accounts/login/", data={"username": username, "password": password, "csrfmiddlewaretoken": token})
    assert response.status_code == 200 and "/accounts/login/" not in str(response.url), response.text[:500]
    return client


def cookie_header(client) -> str:
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())
