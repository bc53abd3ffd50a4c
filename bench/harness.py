"""The production-like stack a benchmark runs against, started and stopped here.

PostgreSQL and Redis must listen (``make bench`` makes sure); the S3 server
(moto), the fake AI server, uvicorn and a Celery worker are started on free
loopback ports. The benchmark database is created afresh for every run.
"""

import os
import platform
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return None
    index = min(max(int(-(-fraction * len(ordered) // 1)) - 1, 0), len(ordered) - 1)
    return ordered[index]


def summary_ms(samples):
    return {
        "n": len(samples),
        "p50_ms": round(percentile(samples, 0.5) * 1000, 2),
        "p95_ms": round(percentile(samples, 0.95) * 1000, 2),
        "mean_ms": round(statistics.fmean(samples) * 1000, 2),
    }


def spread(values, digits=3):
    """min / median / max of a scenario's runs (every scenario runs 3 times)."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"min": round(min(values), digits), "median": round(statistics.median(values), digits),
            "max": round(max(values), digits), "runs": len(values)}


def fmt_spread(s, unit=""):
    """'median (min–max)' for the printed table."""
    if not s:
        return "—"
    return f"{s['median']}{unit} ({s['min']}–{s['max']})"


def rss_mb(pid) -> float:
    """Resident set of a process, from /proc."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class PeakRSS:
    """Samples a process's resident set every 20 ms while the block runs: ``.baseline`` and ``.peak`` (MB)."""

    def __init__(self, pid, every=0.02):
        self.pid, self.every = pid, every

    def __enter__(self):
        import threading

        self.baseline = self.peak = rss_mb(self.pid)
        self._done = threading.Event()

        def sample():
            while not self._done.is_set():
                self.peak = max(self.peak, rss_mb(self.pid))
                time.sleep(self.every)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb(self.pid))
        return False


def machine_info():
    import django

    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "django": django.get_version(),
    }
    try:
        info["cpu_model"] = next(
            line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    return info


def _recreate_database(url):
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


class Stack:
    """Everything a scenario needs; use as a context manager."""

    def __init__(self, *, ai_latency=5.0, worker_concurrency=2):
        self.database_url = os.environ.get("BENCH_DATABASE_URL", "postgres://warroom:warroom@127.0.0.1:5432/warroom_bench")
        self.redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
        self.ai_latency = ai_latency
        self.worker_concurrency = worker_concurrency
        self.log_dir = ROOT / "var" / "bench"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._stack = ExitStack()
        self.processes = {}

    def __enter__(self):
        from tests.fakes.ai_server import FakeAIServer, Reply
        from tests.services import free_port, wait_until

        import redis

        redis.Redis.from_url(self.redis_url).flushdb()
        _recreate_database(self.database_url)
        self.ai = self._stack.enter_context(FakeAIServer(default=Reply(headers_delay=self.ai_latency)))
        moto_port = free_port()
        self.s3_endpoint = f"http://127.0.0.1:{moto_port}"
        self._spawn("moto", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)], os.environ.copy())
        wait_until(lambda: httpx.get(f"{self.s3_endpoint}/moto-api/").status_code == 200, timeout=30, what="moto")
        import boto3

        boto3.client("s3", endpoint_url=self.s3_endpoint, region_name="us-east-1",
                     aws_access_key_id="bench", aws_secret_access_key="bench").create_bucket(Bucket="warroom-bench")
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AUTH_LDAP_", "TEST_"))},
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "S3_BUCKET": "warroom-bench",
            "S3_ENDPOINT_URL": self.s3_endpoint,
            "S3_ACCESS_KEY_ID": "bench",
            "S3_SECRET_ACCESS_KEY": "bench",
            "AI_PROVIDER": "dify",
            "DIFY_BASE_URL": self.ai.base_url,
            "DIFY_API_KEY": "app-bench",
            "WARROOM_EMBEDDED_WORKER": "false",
            "WARROOM_VAR_DIR": str(self.log_dir / "var"),
            "API_THROTTLE_USER": "1000000/min",
            "API_THROTTLE_REPORT_GENERATE": "1000000/min",
            "API_THROTTLE_NOTES_STREAM": "1000000/min",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
        # This process talks to the same database and Redis as the servers.
        os.environ.update(self.env)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.port = port
        self._spawn("uvicorn", [str(BIN / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1", "--port", str(port),
                                "--lifespan", "on", "--log-level", "warning"], self.env)
        self.start_worker()
        wait_until(lambda: httpx.get(f"{self.url}/healthz").status_code == 200, timeout=60, what="uvicorn")
        return self

    # --- helpers for scenarios ----------------------------------------------------------

    bucket = "warroom-bench"

    def start_worker(self, *, concurrency=None, name="worker", loglevel="WARNING", **extra_env):
        """(Re)start the Celery worker ``name``, with extra settings for one scenario; waits until it answers."""
        from tests.services import celery_client, wait_until

        self.stop_process(name)
        env = {**self.env, **{k: str(v) for k, v in extra_env.items()}}
        node = "bench" if name == "worker" else f"bench-{name}"
        self._spawn(name, [str(BIN / "celery"), "-A", "config", "worker", "--pool=threads",
                           f"--concurrency={concurrency or self.worker_concurrency}", f"--loglevel={loglevel}",
                           "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{node}@%h"], env)
        client = celery_client(self.redis_url)
        wait_until(lambda: client.send_task("warroom.ping", args=["ready"]).get(timeout=2) == "ready",
                   timeout=60, what="celery worker")

    def start_web(self, name):
        """Another uvicorn process on the same database and Redis; returns its base URL and port."""
        from tests.services import free_port, wait_until

        self.stop_process(name)
        port = free_port()
        self._spawn(name, [str(BIN / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1", "--port", str(port),
                           "--lifespan", "on", "--log-level", "warning"], self.env)
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: httpx.get(f"{url}/healthz").status_code == 200, timeout=60, what=f"uvicorn {name}")
        return url, port

    def stop_process(self, name):
        process = self.processes.pop(name, None)
        if process is not None:
            self._stop(process)

    def log_of(self, name) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def set_ai_latency(self, seconds):
        from tests.fakes.ai_server import Reply

        self.ai.default = Reply(headers_delay=seconds)

    def s3(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.s3_endpoint, region_name="us-east-1",
                            aws_access_key_id="bench", aws_secret_access_key="bench")

    def screenshot(self):
        if not hasattr(self, "_png"):
            from bench.seed import png

            self._png = png()
        return self._png

    def _spawn(self, name, args, env):
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed in __exit__
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.processes[name] = process
        self._stack.callback(log.close)
        self._stack.callback(self._stop, process)

    @staticmethod
    def _stop(process):
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()

    def __exit__(self, *exc):
        from django.db import connections

        connections.close_all()
        self._stack.close()
        return False


def timed(call):
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result
