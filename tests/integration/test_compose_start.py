"""The deployment starts: the processes docker-compose.yml declares, run with its own commands and environment.

There is no container engine here, so the test reads the compose file (tests/compose.py), takes
``migrate``, ``web``, ``worker`` and ``beat`` with their ``command`` and ``environment`` exactly,
and runs them as local processes. Only what a container network would give them is swapped:
the host names and ports of postgres, redis, minio and openldap become the locally started
PostgreSQL (the test database), Redis (the test Redis database), the S3 server (moto) and a
slapd seeded by the same script compose's openldap runs; web listens on 127.0.0.1 and a free port.
The environment is the compose one plus what the image provides (the Dockerfile's ENV, PATH
with the image's Python tools first, HOME, a var folder, HOSTNAME for the worker's healthcheck).

The named volumes the services mount become local folders, created empty as compose's are (the
``metrics`` tmpfs is empty when the deployment starts); ``METRICS_TOKEN`` is set in the variables
compose interpolates, as an operator's .env would.

Then: web's own healthcheck command passes (``/readyz``) and ``/healthz`` answers; the worker's
healthcheck (``celery inspect ping``) passes and the worker consumes; beat writes the compose
schedule into the database and sends a due task; a person from the directory logs in, opens a
room, resolves it and gets a report written, stored in S3 and downloaded as a .docx; and web's
``/metrics``, scraped with the token, counts what the worker did (the report completed, its
stages, beat's task): the processes share the multiprocess directory compose declares.
"""

import io
import os
import socket
import subprocess
import time

import httpx
import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from prometheus_client.parser import text_string_to_metric_families

from tests import compose
from tests.accounts.conftest import start_slapd
from tests.services import BIN, Process, free_port, login_client, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SECRET_KEY = "compose-start-test-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEF"
BUCKET = "warroom"  # the bucket compose's minio-bucket service creates
METRICS_TOKEN = "compose-start-metrics-token-0123456789"


@pytest.fixture
def directory(tmp_path):
    server = start_slapd(tmp_path / "slapd")
    yield server
    server.stop()


def local_substitutions(*, database_url, redis_url, s3_endpoint, ldap_uri):
    """What a container network provides, as compose's names -> the services started here."""
    database = httpx.URL(database_url.replace("postgres://", "http://"))
    return {
        "@postgres:5432/warroom": f"@{database.host}:{database.port or 5432}{database.path}",
        "redis://redis:6379/0": redis_url,
        "http://minio:9000": s3_endpoint,
        "ldap://openldap:389": ldap_uri,
    }


def substitute(value: str, substitutions: dict) -> str:
    for name, local in substitutions.items():
        value = value.replace(name, local)
    return value


def volume_folders(spec: dict, volumes: dict, root) -> dict:
    """A service's named volumes (``name:/path``) as ``{"/path": local folder}``; one folder per volume."""
    mounts = {}
    for entry in spec.get("volumes", []):
        source, _, target = entry.partition(":")
        if source in volumes:
            mounts[target.split(":")[0]] = str(root / source)
    return mounts


def scrape(base: str) -> dict:
    """web's /metrics with the token, as ``{(name, ((label, value), ...)): value}``."""
    response = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200, response.text
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


def sample(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_the_compose_services_start_and_a_report_is_written_end_to_end(
    test_database_url, redis_url, s3_server, directory, tmp_path
):
    import boto3

    boto3.client("s3", endpoint_url=s3_server["endpoint"], region_name="us-east-1", aws_access_key_id="x",
                 aws_secret_access_key="x").create_bucket(Bucket=BUCKET)
    substitutions = local_substitutions(database_url=test_database_url, redis_url=redis_url,
                                        s3_endpoint=s3_server["endpoint"], ldap_uri=directory.uri)
    port = free_port()
    image_env = {
        # The Dockerfile's ENV, and what the image's filesystem gives: its tools on PATH, a var folder.
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "HOME": str(tmp_path), "LANG": "C.UTF-8",
        "WARROOM_VAR_DIR": str(tmp_path / "var"), "HOSTNAME": socket.gethostname(),
    }
    compose_file = compose.load()
    # Compose's named volumes, empty at the start as a fresh deployment's are (the metrics tmpfs always is).
    volumes_root = tmp_path / "volumes"
    for volume in compose_file.get("volumes") or {}:
        (volumes_root / volume).mkdir(parents=True)

    def prepared(name):
        spec = compose.service(name, {"DJANGO_SECRET_KEY": SECRET_KEY, "METRICS_TOKEN": METRICS_TOKEN}, compose_file)
        command = spec.get("command") or compose.image_command()
        command = [substitute(arg, substitutions) for arg in command]
        if name == "web":
            command = [{"0.0.0.0": "127.0.0.1", "8000": str(port)}.get(arg, arg) for arg in command]
        mounts = volume_folders(spec, compose_file.get("volumes") or {}, volumes_root)
        env = {key: substitute(value, {**substitutions, **mounts}) for key, value in spec["environment"].items()}
        return spec, command, {**image_env, **env}

    started = []
    try:
        # migrate runs to completion first (the others depend on it).
        _spec, command, env = prepared("migrate")
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300,
                                cwd=compose.ROOT)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]

        # Beat will find a due task of its own in the database (django-celery-beat's scheduler).
        every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
        PeriodicTask.objects.create(name="compose-start-ping", task="warroom.ping", interval=every_second,
                                    args='["beat"]')

        processes = {}
        for name in ("web", "worker", "beat"):
            spec, command, env = prepared(name)
            # Every process writes its metrics into the one shared folder (the compose volume).
            assert env["METRICS_TOKEN"] == METRICS_TOKEN
            assert env["PROMETHEUS_MULTIPROC_DIR"] == str(volumes_root / "metrics"), name
            processes[name] = Process(f"compose-{name}", command, env=env, log_dir=tmp_path).start()
            processes[name].spec, processes[name].env = spec, env
            started.append(processes[name])
        web, worker, beat = processes["web"], processes["worker"], processes["beat"]
        base = f"http://127.0.0.1:{port}"

        # web: its compose healthcheck (/readyz, with the Host it sends) passes; /healthz answers.
        healthcheck = [substitute(arg, {":8000/": f":{port}/"}) for arg in web.spec["healthcheck"]["test"][1:]]
        assert web.spec["healthcheck"]["test"][0] == "CMD"

        def web_is_healthy():
            return subprocess.run(healthcheck, env=web.env, cwd=compose.ROOT, capture_output=True,
                                  timeout=30).returncode == 0

        wait_until(web_is_healthy, timeout=90, what="web's healthcheck", process=web.popen, log=web.log)
        ready = httpx.get(f"{base}/readyz").json()
        assert ready == {"status": "ok", "database": "ok", "redis": "ok", "storage": "ok"}
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}

        # worker: its compose healthcheck (celery inspect ping to this node) passes.
        kind, shell = worker.spec["healthcheck"]["test"]
        assert kind == "CMD-SHELL"

        def worker_is_healthy():
            return subprocess.run(["sh", "-c", shell], env=worker.env, cwd=compose.ROOT, capture_output=True,
                                  timeout=60).returncode == 0

        wait_until(worker_is_healthy, timeout=90, what="the worker's healthcheck", process=worker.popen,
                   log=worker.log)

        # beat: the compose schedule is in the database, and the due task was sent and run by the worker.
        wait_until(lambda: PeriodicTask.objects.filter(name="reports-reap-stuck").exists(), timeout=60,
                   what="beat's schedule in the database", process=beat.popen, log=beat.log)
        wait_until(lambda: "Sending due task compose-start-ping (warroom.ping)" in beat.output()
                   and "warroom.ping" in worker.output() and "succeeded" in worker.output(),
                   timeout=60, what="beat to send a due task and the worker to run it", process=beat.popen,
                   log=beat.log)

        # A report, end to end: a person from the directory logs in through web and asks for it.
        alice = login_client(base, "alice", "Passw0rd!")
        alice.headers.update({"X-CSRFToken": alice.cookies.get("csrftoken"), "Referer": base + "/"})
        room = alice.post("/api/rooms/", json={"title": "部署驗證 Compose start", "severity": "sev2"})
        assert room.status_code == 201, room.text
        room_id = room.json()["id"]
        for body in ("交換器告警 switch alarm", "已切換備援 failed over", "恢復正常 back to normal"):
            assert alice.post(f"/api/rooms/{room_id}/messages/", json={"body": body}).status_code == 201
        assert alice.post(f"/api/rooms/{room_id}/resolve/", json={"summary": "備援切換 failover"}).status_code == 200
        generated = alice.post(f"/api/rooms/{room_id}/reports/generate", json={})
        assert generated.status_code == 202, generated.text
        report_id = generated.json()["report_id"]

        def completed():
            detail = alice.get(f"/api/rooms/{room_id}/reports/{report_id}").json()
            assert detail["status"] != "failed", detail
            return detail if detail["status"] == "completed" else None

        deadline = time.monotonic() + 90
        while (detail := completed()) is None:
            assert time.monotonic() < deadline, worker.output()[-3000:]
            time.sleep(0.3)
        document = alice.get(detail["download_url"])
        assert document.status_code == 200

        # /metrics on web counts what the worker did: the worker's processes write the shared folder.
        assert httpx.get(f"{base}/metrics").status_code == 403

        def worker_counted():
            samples = scrape(base)
            counted = {
                "report": sample(samples, "warroom_reports_total", kind=detail["kind"], status="completed"),
                "publish": sample(samples, "warroom_celery_tasks_total", task="reports.publish", outcome="success"),
                "stage": sample(samples, "warroom_report_stage_duration_seconds_count", stage="publish", outcome="ok"),
                "beat's task": sample(samples, "warroom_celery_tasks_total", task="warroom.ping", outcome="success"),
            }
            return counted if all(value > 0 for value in counted.values()) else None

        # The last stage's counters follow the completion it commits by a moment.
        wait_until(worker_counted, timeout=30, what="the worker's counters in web's /metrics", process=worker.popen,
                   log=worker.log)
        counted = worker_counted()
        assert counted["report"] == 1 and counted["publish"] == 1, counted
        # web answers the scrape itself, and runs no task: the counters came from the worker's files.
        files = os.listdir(volumes_root / "metrics")
        assert any(name.endswith(f"_{web.popen.pid}.db") for name in files), files
        assert any(name.endswith(f"_{worker.popen.pid}.db") for name in files), files
    finally:
        for process in reversed(started):
            process.stop()

    import docx

    text = "\n".join(paragraph.text for paragraph in docx.Document(io.BytesIO(document.content)).paragraphs)
    assert "部署驗證 Compose start" in text
    stored = boto3.client("s3", endpoint_url=s3_server["endpoint"], region_name="us-east-1", aws_access_key_id="x",
                          aws_secret_access_key="x").list_objects_v2(Bucket=BUCKET, Prefix=f"reports/{room_id}/")
    assert [item["Key"] for item in stored.get("Contents", [])] == [f"reports/{room_id}/{report_id}.docx"]
