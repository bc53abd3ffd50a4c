"""Errors to Sentry (config/sentry.py): off without SENTRY_DSN, and nothing private in what would be sent.

No event leaves the machine: the scrubber is called on events shaped as sentry-sdk's Django and
Celery integrations shape them, and the one process that turns Sentry on is a subprocess that sends nothing.
"""

import os
import subprocess
import sys

import sentry_sdk

from config import logs, sentry
from tests.services import ROOT

BODY = "機密訊息 the message body marker-Q7"


def django_event():
    return {
        "level": "error",
        "message": "Internal Server Error: /api/rooms/x/messages/",
        "request": {
            "method": "POST",
            "url": "http://warroom.example.com/api/rooms/x/messages/?token=query-secret-1",
            "query_string": "token=query-secret-1",
            "data": {"body": BODY},
            "cookies": {"sessionid": "session-secret-1"},
            "headers": {"Authorization": "Token wr_secrettokenvalue123", "Cookie": "sessionid=session-secret-1",
                        "X-CSRFToken": "csrf-secret-1", "User-Agent": "curl/8", "X-Request-ID": "req-s-1"},
            "env": {"REMOTE_ADDR": "10.0.0.1"},
        },
        "exception": {"values": [{
            "type": "ValueError", "value": "bad",
            "stacktrace": {"frames": [{"function": "message_post", "vars": {"body": BODY}}]},
        }]},
        "breadcrumbs": {"values": [
            {"category": "query", "message": "INSERT INTO incidents_message (body) VALUES (%s)", "data": {"db.params": [BODY]}},
            {"category": "reports.llm", "message": "calling with Authorization: Bearer app-abcdefghijk"},
        ]},
        "extra": {"request": f"<ASGIRequest: POST '/api/rooms/x/messages/?token=query-secret-1'> {BODY}"},
        "user": {"id": 7, "email": "alice@example.com", "username": "alice", "ip_address": "10.0.0.1"},
        "logentry": {"message": "Report %s failed: %s", "params": ["r-1", BODY], "formatted": f"Report r-1 failed: {BODY}"},
    }


def test_sentry_is_off_without_a_dsn(settings):
    assert settings.SENTRY_DSN == ""
    assert not sentry_sdk.get_client().is_active()


def test_the_scrubber_removes_bodies_cookies_credentials_and_locals():
    event = sentry.scrub(django_event(), hint=None)
    sent = repr(event)
    for private in (BODY, "marker-Q7", "query-secret-1", "session-secret-1", "csrf-secret-1",
                    "wr_secrettokenvalue123", "app-abcdefghijk", "alice@example.com", "10.0.0.1"):
        assert private not in sent
    assert event["request"] == {
        "method": "POST", "url": "http://warroom.example.com/api/rooms/x/messages/",
        "headers": {"User-Agent": "curl/8", "X-Request-ID": "req-s-1"},
    }
    assert event["user"] == {"id": 7}
    assert "vars" not in event["exception"]["values"][0]["stacktrace"]["frames"][0]
    assert event["breadcrumbs"]["values"][0]["message"].startswith("INSERT INTO incidents_message")


def test_events_are_tagged_with_the_request_and_report_ids():
    tokens = logs.replace({"request_id": "req-tag-1", "report_id": "r-tag-1", "task_name": "reports.publish"})
    try:
        event = sentry.scrub({"message": "boom"})
    finally:
        logs.restore(tokens)
    assert event["tags"] == {"request_id": "req-tag-1", "report_id": "r-tag-1", "task_name": "reports.publish"}


def test_a_dsn_turns_sentry_on_with_the_scrubber(tmp_path):
    # A DSN nothing listens on: sentry-sdk connects only to send an event, and none is sent.
    env = {**os.environ, "SENTRY_DSN": "http://public-key@127.0.0.1:9/1", "WARROOM_VAR_DIR": str(tmp_path)}
    script = ("import django; django.setup(); import sentry_sdk; c = sentry_sdk.get_client(); "
              "print(c.is_active(), c.options['before_send'].__qualname__, c.options['send_default_pii'], "
              "c.options['include_local_variables'], c.options['max_request_body_size'])")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "scrub", "False", "False", "never"]
