"""Log lines that can be followed (config/logs.py, config/observability.py): request ids, context, no secrets.

tests/integration/test_observability.py shows the request id reaching a real worker's JSON lines.
"""

import io
import json
import logging

import pytest

from accounts.services import api_token_create
from config import logs
from config.celery import app as celery_app
from tests import factories


@pytest.fixture
def json_lines():
    """Every log line of the test, as the JSON format writes it (DEBUG and up, every logger)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.ContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    lines = []

    def read():
        handler.flush()
        lines[:] = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
        return lines

    yield read
    root.removeHandler(handler)
    root.setLevel(level)


def test_a_request_id_is_made_when_none_is_sent_and_echoed(client, db):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]
    assert len(first) == 32 and first != second


def test_a_sent_request_id_is_kept_and_a_strange_one_replaced(client, db):
    assert client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.42"})["X-Request-ID"] == "lb-7f3a.42"
    for strange in ("a b", "x" * 200, "<script>", "事件"):
        echoed = client.get("/healthz", headers={"X-Request-ID": strange})["X-Request-ID"]
        assert echoed != strange and len(echoed) == 32


def test_json_lines_carry_timestamp_level_logger_message_and_the_request_context(
    client, room, member, settings, json_lines
):
    settings.LOG_REQUESTS = True
    client.force_login(member)
    response = client.get(f"/api/rooms/{room.id}/messages/", headers={"X-Request-ID": "req-ctx-1"})
    assert response.status_code == 200
    line = next(line for line in json_lines() if line["logger"] == "warroom.request")
    assert {"timestamp", "level", "logger", "message"} <= set(line)
    assert line["level"] == "INFO" and line["timestamp"].endswith("+00:00")
    assert line["request_id"] == "req-ctx-1"
    assert line["room_id"] == str(room.id)
    assert line["user_id"] == str(member.pk)
    assert line["route"] == "api/rooms/<uuid:room_id>/messages/" and line["status"] == 200
    # The context ends with the request.
    logging.getLogger("tests").info("after")
    assert "request_id" not in json_lines()[-1]


@pytest.mark.django_db(transaction=True)
def test_tasks_a_request_starts_log_with_its_request_id_and_the_report_id(api, room, member, json_lines):
    # Committed for real, so the workflow starts inside the request, as it does in production
    # (tasks run eagerly here; on a worker the id comes in the task's headers).
    factories.add_messages(room, member, 3)
    api.force_authenticate(member)
    response = api.post(f"/api/rooms/{room.id}/reports/generate", {}, format="json",
                        headers={"X-Request-ID": "req-report-1"})
    report_id = response.json()["report_id"]
    assert response["X-Request-ID"] == "req-report-1"
    stage_lines = [line for line in json_lines() if line.get("task_name") == "reports.publish"]
    assert stage_lines, json_lines()
    assert all(line["request_id"] == "req-report-1" and line["report_id"] == report_id for line in stage_lines)


def test_a_published_task_carries_the_request_id_in_its_headers():
    from config.observability import TASK_HEADER, carry_request_id

    headers = {}
    tokens = logs.replace({"request_id": "req-hdr-1"})
    try:
        carry_request_id(headers=headers)
    finally:
        logs.restore(tokens)
    assert headers == {TASK_HEADER: "req-hdr-1"}
    carry_request_id(headers=(outside := {}))
    assert outside == {}


def test_no_token_authorization_header_query_secret_or_message_body_reaches_the_logs(
    client, api, room, member, settings, json_lines, django_capture_on_commit_callbacks
):
    settings.LOG_REQUESTS = True
    settings.DIFY_API_KEY = "app-dify-key-never-logged-42"
    token, key = api_token_create(user=member, name="ci")
    body = "機密訊息 secret-body-marker-9F3K"
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"/api/rooms/{room.id}/messages/?token=query-secret-77", {"body": body},
                        format="json").status_code == 201
        # A refused token, a page that is not there and a 404 from the API also log (django.request).
        api.credentials(HTTP_AUTHORIZATION=f"Token {key}x")
        assert api.get(f"/api/rooms/{room.id}/messages/?token=query-secret-77").status_code == 401
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        assert api.get("/api/rooms/00000000-0000-0000-0000-000000000000/?token=query-secret-77").status_code == 404
        # A line that does name the AI key and an Authorization header (a careless log call).
        logging.getLogger("reports.llm").warning("calling with Authorization: Bearer %s", settings.DIFY_API_KEY)
    text = "\n".join(json.dumps(line, ensure_ascii=False) for line in json_lines())
    assert "django.request" in text and "warroom.request" in text  # the lines that could have leaked were written
    for secret in (key, key[3:], "query-secret-77", body, "secret-body-marker", settings.DIFY_API_KEY):
        assert secret not in text


def test_redact_masks_secrets_and_credentials(settings):
    settings.TELEGRAM_BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    text = logs.redact(
        "Authorization: Token wr_abcdefghijklmnop | redis://:hunter2hunter@redis:6379/0 | "
        "https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage | done"
    )
    assert "wr_abcdefghijklmnop" not in text and "hunter2hunter" not in text and "AAHdqTcv" not in text
    assert text.endswith("| done")


def test_the_plain_format_appends_the_context_as_key_value():
    record = logging.LogRecord("reports.pipeline", logging.INFO, __file__, 1, "Report done", None, None)
    tokens = logs.replace({"request_id": "req-plain-1", "report_id": "r-1"})
    try:
        logs.ContextFilter().filter(record)
    finally:
        logs.restore(tokens)
    line = logs.PlainFormatter().format(record)
    assert line.endswith("INFO reports.pipeline: Report done request_id=req-plain-1 report_id=r-1")


def test_log_format_must_be_plain_or_json(tmp_path):
    import os
    import subprocess
    import sys

    from tests.services import ROOT

    env = {**os.environ, "LOG_FORMAT": "xml", "WARROOM_VAR_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "LOG_FORMAT must be 'plain' or 'json'" in result.stderr


def test_the_celery_app_keeps_the_root_logger_for_django():
    # Celery must not replace the handlers (and so the format) that LOGGING sets.
    assert celery_app.conf.worker_hijack_root_logger is False
