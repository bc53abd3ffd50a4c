"""Sending a finished report out: email, Telegram and a signed webhook.

A channel is on when its environment variables are set. Each gets
``DELIVERY_ATTEMPTS`` tries with exponential backoff (``DELIVERY_BACKOFF_SECONDS``,
then twice that, ...); a refusal that cannot change on retry (a 4xx other than
408/429) stops the tries early. When every try failed, one short fallback notice
is tried on the same channel, so someone still learns the report exists. The
outcome per channel is saved in ``Report.delivery`` as it happens.

Nothing here raises: a delivery failure never fails the report.
"""

import hashlib
import hmac
import html
import json
import logging
import time
import uuid
from dataclasses import dataclass, field

import httpx
from django.conf import settings
from django.core.mail import EmailMessage
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from config import metrics
from reports.models import Report

logger = logging.getLogger(__name__)

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
SIGNATURE_HEADER = "X-Warroom-Signature"
TELEGRAM_TEXT_LIMIT = 4096
TELEGRAM_CAPTION_LIMIT = 1024

DELIVERED = "delivered"
FALLBACK_SENT = "fallback_sent"
FAILED = "failed"

# Replaced by the tests, which check the pauses without waiting them out.
sleep = time.sleep


@dataclass
class Parcel:
    """One report, shaped for each channel."""

    subject: str
    text: str  # plain text, for email
    html: str  # Telegram's HTML subset: <b>, <i>, <a>, <code>
    payload: dict  # the webhook's JSON
    fallback_text: str  # the short notice when the full send failed
    filename: str = ""
    document: bytes | None = field(default=None, repr=False)


class DeliveryError(Exception):
    def __init__(self, message, *, retryable=True):
        super().__init__(message)
        self.retryable = retryable


def sign(body: bytes, secret: str) -> str:
    """The X-Warroom-Signature value: ``sha256=`` and the HMAC-SHA256 hex of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _check_http(response: httpx.Response, what: str) -> None:
    if response.is_success:
        return
    retryable = response.status_code >= 500 or response.status_code in (408, 429)
    raise DeliveryError(f"{what} answered HTTP {response.status_code}", retryable=retryable)


class EmailChannel:
    name = "email"

    def __init__(self, recipients):
        self.recipients = list(recipients)

    def _send(self, subject, body, attachment=None):
        message = EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, self.recipients)
        if attachment:
            message.attach(*attachment)
        message.send(fail_silently=False)

    def send(self, parcel: Parcel):
        attachment = (parcel.filename, parcel.document, DOCX_TYPE) if parcel.document else None
        self._send(parcel.subject, parcel.text, attachment)

    def send_fallback(self, parcel: Parcel):
        self._send(parcel.subject, parcel.fallback_text)


class TelegramChannel:
    """Bot API: the summary with sendMessage (HTML), then the .docx with sendDocument.

    A later try resumes where the last one stopped, so the chat never gets the
    summary twice because the document upload failed.
    """

    name = "telegram"

    def __init__(self, client: httpx.Client, *, token, chat_id, api_base):
        self.client = client
        self.token = token
        self.chat_id = chat_id
        self.api_base = api_base
        self.message_sent = False

    def _call(self, method, **kwargs):
        try:
            response = self.client.post(f"{self.api_base}/bot{self.token}/{method}", **kwargs)
        except httpx.HTTPError as exc:
            # The URL holds the bot token: name the error, never the request.
            raise DeliveryError(f"Telegram {method}: {type(exc).__name__}") from None
        _check_http(response, f"Telegram {method}")

    def send(self, parcel: Parcel):
        if not self.message_sent:
            self._call(
                "sendMessage",
                json={
                    "chat_id": self.chat_id,
                    "text": parcel.html[:TELEGRAM_TEXT_LIMIT],
                    "parse_mode": "HTML",
                    "disable_web_page_preview": True,
                },
            )
            self.message_sent = True
        if parcel.document:
            self._call(
                "sendDocument",
                data={"chat_id": self.chat_id, "caption": html.escape(parcel.subject)[:TELEGRAM_CAPTION_LIMIT],
                      "parse_mode": "HTML"},
                files={"document": (parcel.filename, parcel.document, DOCX_TYPE)},
            )

    def send_fallback(self, parcel: Parcel):
        self._call("sendMessage", json={"chat_id": self.chat_id, "text": parcel.fallback_text[:TELEGRAM_TEXT_LIMIT]})


class WebhookChannel:
    """A JSON POST signed with HMAC-SHA256 of the body; X-Warroom-Delivery stays the same across tries."""

    name = "webhook"

    def __init__(self, client: httpx.Client, *, url, secret):
        self.client = client
        self.url = url
        self.secret = secret
        self.delivery_id = str(uuid.uuid4())

    def _post(self, payload: dict):
        body = json.dumps(payload, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Warroom-Event": payload.get("event", ""),
            "X-Warroom-Delivery": self.delivery_id,
        }
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(body, self.secret)
        try:
            response = self.client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook: {type(exc).__name__}: {exc}") from None
        _check_http(response, "webhook")

    def send(self, parcel: Parcel):
        self._post(parcel.payload)

    def send_fallback(self, parcel: Parcel):
        self._post({
            "event": "report.delivery_fallback",
            "report_id": parcel.payload.get("report_id"),
            "text": parcel.fallback_text,
        })


def configured_channels(client: httpx.Client) -> list:
    channels = []
    if settings.DELIVERY_EMAIL_TO:
        channels.append(EmailChannel(settings.DELIVERY_EMAIL_TO))
    if settings.TELEGRAM_BOT_TOKEN and settings.TELEGRAM_CHAT_ID:
        channels.append(
            TelegramChannel(
                client, token=settings.TELEGRAM_BOT_TOKEN, chat_id=settings.TELEGRAM_CHAT_ID,
                api_base=settings.TELEGRAM_API_BASE,
            )
        )
    if settings.WEBHOOK_URL:
        channels.append(WebhookChannel(client, url=settings.WEBHOOK_URL, secret=settings.WEBHOOK_SECRET))
    return channels


def _describe(exc: Exception) -> str:
    text = str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
    if settings.TELEGRAM_BOT_TOKEN:
        text = text.replace(settings.TELEGRAM_BOT_TOKEN, "***")
    return text[:300]


def deliver_with_retries(channel, parcel: Parcel) -> dict:
    """Try ``channel`` with backoff, then its fallback; return the outcome, never raise."""
    errors = []
    attempts = 0
    for attempt in range(1, max(settings.DELIVERY_ATTEMPTS, 1) + 1):
        attempts = attempt
        try:
            channel.send(parcel)
        except Exception as exc:  # noqa: BLE001 - any failure is recorded, none escapes
            metrics.delivery_attempt(channel=channel.name, outcome="error")
            errors.append(_describe(exc))
            logger.warning("Delivery by %s, try %s failed: %s", channel.name, attempt, errors[-1])
            if not getattr(exc, "retryable", True) or attempt == settings.DELIVERY_ATTEMPTS:
                break
            sleep(settings.DELIVERY_BACKOFF_SECONDS * 2 ** (attempt - 1))
        else:
            metrics.delivery_attempt(channel=channel.name, outcome="ok")
            return {"status": DELIVERED, "attempts": attempts, "errors": errors, "at": timezone.now().isoformat()}
    outcome = {"status": FAILED, "attempts": attempts, "errors": errors}
    try:
        channel.send_fallback(parcel)
    except Exception as exc:  # noqa: BLE001
        metrics.delivery_attempt(channel=channel.name, outcome="fallback_error")
        outcome["fallback"] = {"status": FAILED, "error": _describe(exc)}
        logger.error("Delivery by %s failed, fallback notice too: %s", channel.name, outcome["fallback"]["error"])
    else:
        metrics.delivery_attempt(channel=channel.name, outcome="fallback_ok")
        outcome["status"] = FALLBACK_SENT
        outcome["fallback"] = {"status": DELIVERED}
        logger.error("Delivery by %s failed after %s tries; the fallback notice went out", channel.name, attempts)
    outcome["at"] = timezone.now().isoformat()
    return outcome


def deliver(report: Report, parcel: Parcel, *, channels=None) -> dict:
    """Send ``parcel`` by every configured channel; record and return the outcome per channel."""
    outcome = {}
    try:
        with httpx.Client(timeout=settings.DELIVERY_TIMEOUT_SECONDS) as client:
            for channel in configured_channels(client) if channels is None else channels:
                outcome[channel.name] = deliver_with_retries(channel, parcel)
                # Saved after each channel, so the admin shows progress and a crash keeps what was done.
                Report.objects.filter(pk=report.pk).update(delivery=outcome)
    except Exception:  # noqa: BLE001 - a delivery failure never fails the report
        logger.exception("Delivery of report %s stopped unexpectedly", report.pk)
    report.delivery = outcome
    return outcome


_LABELS = {DELIVERED: "✔ delivered", FALLBACK_SENT: "⚠ fallback notice sent", FAILED: "✘ failed"}


def delivery_summary_html(delivery: dict):
    """The delivery outcome as the admin shows it: one line per channel."""
    if not delivery:
        return "—"

    def line(name, result):
        tries = result.get("attempts", 0)
        detail = f"{tries} tr{'y' if tries == 1 else 'ies'}"
        if result.get("errors"):
            detail += f"; last error: {result['errors'][-1]}"
        if result.get("fallback", {}).get("error"):
            detail += f"; fallback: {result['fallback']['error']}"
        return name, _LABELS.get(result.get("status"), result.get("status", "?")), detail

    return format_html(
        "<ul style='margin:0;padding-left:1em'>{}</ul>",
        format_html_join("", "<li><b>{}</b>: {} <small>({})</small></li>", (line(*item) for item in delivery.items())),
    )
