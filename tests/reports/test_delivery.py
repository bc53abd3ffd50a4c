import hashlib
import hmac
from datetime import date

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

from reports import delivery
from reports.models import Report, ReportKind, ReportStatus
from tests.reports.http_stub import stub_server  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

DOCUMENT = b"PK\x03\x04 fake docx bytes"


@pytest.fixture
def report(db):
    return Report.objects.create(kind=ReportKind.DAILY, period_date=date(2026, 3, 10), status=ReportStatus.COMPLETED)


@pytest.fixture
def parcel(report):
    return delivery.Parcel(
        subject="Warroom 每日報告 2026-03-10 — attention",
        text="開啟 5 · 解決 4 · 仍未結案 3",
        html="<b>Warroom 每日報告</b> 2026-03-10",
        payload={"event": "report.daily", "report_id": str(report.id), "health": "attention"},
        fallback_text="Warroom daily report 2026-03-10 is ready: http://testserver/reports/daily/",
        filename="warroom-daily-2026-03-10.docx",
        document=DOCUMENT,
    )


@pytest.fixture
def pauses(monkeypatch):
    """The backoff pauses asked for, without waiting them out."""
    asked = []
    monkeypatch.setattr(delivery, "sleep", asked.append)
    return asked


@pytest.fixture
def no_channels(settings):
    settings.DELIVERY_EMAIL_TO = []
    settings.TELEGRAM_BOT_TOKEN = settings.TELEGRAM_CHAT_ID = ""
    settings.WEBHOOK_URL = ""
    settings.DELIVERY_ATTEMPTS = 3
    settings.DELIVERY_BACKOFF_SECONDS = 0.5
    settings.DELIVERY_TIMEOUT_SECONDS = 5
    return settings


@pytest.fixture
def telegram(no_channels, stub_server):
    no_channels.TELEGRAM_BOT_TOKEN = "123:secret-token"
    no_channels.TELEGRAM_CHAT_ID = "-1001"
    no_channels.TELEGRAM_API_BASE = stub_server.url
    return stub_server


@pytest.fixture
def webhook(no_channels, stub_server):
    no_channels.WEBHOOK_URL = f"{stub_server.url}/hooks/warroom"
    no_channels.WEBHOOK_SECRET = "s3cret"
    return stub_server


def test_telegram_that_fails_twice_is_delivered_on_the_third_try(report, parcel, telegram, pauses):
    telegram.respond(500, 500, 200)

    outcome = delivery.deliver(report, parcel)

    assert outcome["telegram"]["status"] == "delivered"
    assert outcome["telegram"]["attempts"] == 3
    assert outcome["telegram"]["errors"] == ["Telegram sendMessage answered HTTP 500"] * 2
    assert pauses == [0.5, 1.0]
    paths = [request.path for request in telegram.requests]
    assert paths == ["/bot123:secret-token/sendMessage"] * 3 + ["/bot123:secret-token/sendDocument"]
    message = telegram.requests[2].json()
    assert message == {
        "chat_id": "-1001", "text": parcel.html, "parse_mode": "HTML", "disable_web_page_preview": True,
    }
    upload = telegram.requests[3]
    assert upload.headers["Content-Type"].startswith("multipart/form-data")
    assert b'name="document"; filename="warroom-daily-2026-03-10.docx"' in upload.body
    assert DOCUMENT in upload.body
    report.refresh_from_db()
    assert report.delivery["telegram"]["status"] == "delivered"


def test_telegram_retries_only_the_document_once_the_summary_went_out(report, parcel, telegram, pauses):
    telegram.respond(200, 502, 200)

    outcome = delivery.deliver(report, parcel)

    assert outcome["telegram"]["status"] == "delivered"
    assert [request.path.rsplit("/", 1)[1] for request in telegram.requests] == [
        "sendMessage", "sendDocument", "sendDocument",
    ]


def test_telegram_that_always_fails_gets_the_fallback_notice_tried(report, parcel, telegram, pauses):
    telegram.respond(then=500)

    outcome = delivery.deliver(report, parcel)

    result = outcome["telegram"]
    assert result["status"] == "failed"
    assert result["attempts"] == 3
    assert result["fallback"] == {"status": "failed", "error": "Telegram sendMessage answered HTTP 500"}
    assert len(telegram.requests) == 4
    assert telegram.requests[3].json() == {"chat_id": "-1001", "text": parcel.fallback_text}
    report.refresh_from_db()
    assert report.status == ReportStatus.COMPLETED
    assert report.delivery["telegram"]["status"] == "failed"


def test_the_fallback_notice_is_recorded_when_it_gets_through(report, parcel, telegram, pauses):
    telegram.respond(500, 500, 500, then=200)

    outcome = delivery.deliver(report, parcel)

    assert outcome["telegram"]["status"] == "fallback_sent"
    assert outcome["telegram"]["fallback"] == {"status": "delivered"}


def test_a_refusal_is_not_retried(report, parcel, telegram, pauses):
    telegram.respond(400, then=400)

    outcome = delivery.deliver(report, parcel)

    assert outcome["telegram"]["attempts"] == 1
    assert pauses == []
    assert len(telegram.requests) == 2  # one try, one fallback


def test_webhook_that_fails_twice_is_delivered_on_the_third_try_signed_every_time(report, parcel, webhook, pauses):
    webhook.respond(503, 500, 200)

    outcome = delivery.deliver(report, parcel)

    assert outcome == {"webhook": {"status": "delivered", "attempts": 3, "errors": [
        "webhook answered HTTP 503", "webhook answered HTTP 500"], "at": outcome["webhook"]["at"]}}
    assert len(webhook.requests) == 3
    for request in webhook.requests:
        assert request.path == "/hooks/warroom"
        expected = "sha256=" + hmac.new(b"s3cret", request.body, hashlib.sha256).hexdigest()
        assert request.headers["X-Warroom-Signature"] == expected
        assert request.json() == parcel.payload
    # One delivery id across the tries, so the receiver can drop duplicates.
    assert len({request.headers["X-Warroom-Delivery"] for request in webhook.requests}) == 1


def test_webhook_that_always_fails_gets_a_short_signed_fallback(report, parcel, webhook, pauses):
    webhook.respond(then=500)

    outcome = delivery.deliver(report, parcel)

    assert outcome["webhook"]["status"] == "failed"
    fallback = webhook.requests[-1]
    assert len(webhook.requests) == 4
    assert fallback.json() == {
        "event": "report.delivery_fallback", "report_id": str(report.id), "text": parcel.fallback_text,
    }
    assert fallback.headers["X-Warroom-Signature"] == delivery.sign(fallback.body, "s3cret")


def test_an_unreachable_webhook_is_recorded_not_raised(report, parcel, no_channels, pauses):
    from tests.services import free_port

    no_channels.WEBHOOK_URL = f"http://127.0.0.1:{free_port()}/nobody-listens"

    outcome = delivery.deliver(report, parcel)

    assert outcome["webhook"]["status"] == "failed"
    assert outcome["webhook"]["errors"][0].startswith("webhook: ConnectError")


def test_email_goes_to_every_recipient_with_the_docx_attached(report, parcel, no_channels):
    no_channels.DELIVERY_EMAIL_TO = ["noc@example.com", "lead@example.com"]

    outcome = delivery.deliver(report, parcel)

    assert outcome["email"]["status"] == "delivered"
    [sent] = mail.outbox
    assert sent.to == ["noc@example.com", "lead@example.com"]
    assert sent.subject == parcel.subject
    assert sent.attachments == [(parcel.filename, DOCUMENT, delivery.DOCX_TYPE)]


class FlakyBackend(BaseEmailBackend):
    """Refuses every message that has an attachment, as an SMTP server with a size limit would."""

    def send_messages(self, messages):
        for message in messages:
            if message.attachments:
                raise OSError("552 message size exceeds fixed limit")
            mail.outbox.append(message)
        return len(messages)


def test_email_that_keeps_failing_sends_the_short_notice_without_the_attachment(report, parcel, no_channels, pauses):
    no_channels.DELIVERY_EMAIL_TO = ["noc@example.com"]
    no_channels.EMAIL_BACKEND = f"{__name__}.FlakyBackend"

    outcome = delivery.deliver(report, parcel)

    assert outcome["email"]["status"] == "fallback_sent"
    assert outcome["email"]["errors"] == ["OSError: 552 message size exceeds fixed limit"] * 3
    [notice] = mail.outbox
    assert notice.body == parcel.fallback_text


def test_no_channel_configured_delivers_nothing(report, parcel, no_channels):
    assert delivery.deliver(report, parcel) == {}


def test_the_admin_summary_names_each_channel_and_its_last_error():
    html = delivery.delivery_summary_html({
        "telegram": {"status": "delivered", "attempts": 3, "errors": ["x", "Telegram sendMessage answered HTTP 500"]},
        "webhook": {"status": "failed", "attempts": 3, "errors": ["webhook answered HTTP 500"],
                    "fallback": {"status": "failed", "error": "webhook answered <HTTP 500>"}},
    })
    assert "<b>telegram</b>: ✔ delivered <small>(3 tries; last error: Telegram sendMessage answered HTTP 500)" in html
    assert "<b>webhook</b>: ✘ failed" in html
    assert "&lt;HTTP 500&gt;" in html
    assert delivery.delivery_summary_html({}) == "—"
