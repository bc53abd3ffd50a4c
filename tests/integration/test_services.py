"""The production parts, for real: S3 storage, a Celery worker over Redis, the ASGI server."""

import json
import subprocess
import sys

import boto3
import httpx
import pytest

from tests.services import ROOT, celery_client, s3_env

pytestmark = pytest.mark.integration


def test_configured_s3_storage_saves_and_reads_back(s3_server, tmp_path):
    """Settings built from S3_* variables store through django-storages into the S3 server."""
    script = (
        "from django.core.files.base import ContentFile\n"
        "from django.core.files.storage import default_storage\n"
        "name = default_storage.save('probe/事件摘要.txt', ContentFile('事件摘要 summary'.encode()))\n"
        "print(name)\n"
        "print(default_storage.open(name).read().decode())\n"
        "print(type(default_storage._wrapped).__name__)\n"
    )
    env = {**__import__("os").environ, **s3_env(s3_server), "WARROOM_VAR_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    name, body, backend = result.stdout.strip().splitlines()[-3:]
    assert body == "事件摘要 summary"
    assert backend == "S3Storage"
    s3 = boto3.client(
        "s3", endpoint_url=s3_server["endpoint"], region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )
    stored = s3.get_object(Bucket=s3_server["bucket"], Key=name)["Body"].read()
    assert stored.decode() == "事件摘要 summary"


def test_a_task_sent_over_redis_runs_on_a_real_worker(celery_worker, redis_url):
    result = celery_client(redis_url).send_task("warroom.ping", args=["事件"])
    assert result.get(timeout=10) == "事件"
    assert "warroom.ping" in celery_worker.output()


def test_asgi_server_serves_pages_and_the_api_schema(asgi_server):
    base = asgi_server["url"]
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    login = httpx.get(f"{base}/accounts/login/")
    assert login.status_code == 200
    schema = httpx.get(f"{base}/api/schema/?format=json")
    assert schema.status_code == 200
    assert json.loads(schema.text)["info"]["title"] == "Warroom API"
