"""Every sender's payload into one shape, :class:`Incoming`; nothing here touches the database.

Alertmanager (webhook payload version 4), Grafana unified alerting (the same alert list,
plus ``title``, ``state``, ``message``, ``values``, ``silenceURL``, ``dashboardURL``,
``panelURL``) and Warroom's generic shape (docs/alerts.md). A payload that is not what
its sender documents raises :class:`PayloadError` with the field at fault; anything else
a sender may add is ignored, and overlong values are cut, so no payload can cause a 500.
"""

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone as dt_timezone

from django.utils.translation import gettext as _

from incidents.text import clean_line, clean_text

STATUSES = ("firing", "resolved")
MAX_ALERTS = 1000
MAX_LABELS = 100
MAX_KEY_CHARS = 100
MAX_VALUE_CHARS = 1000
MAX_ANNOTATION_CHARS = 5000
MAX_URL_CHARS = 2000
# Go's zero time: Alertmanager's endsAt while an alert fires.
_ZERO_YEAR = 1
_FRACTION = re.compile(r"(\.\d{6})\d+")


class PayloadError(ValueError):
    """The payload is not what its sender documents; ``details`` names the fields."""

    def __init__(self, message, details=None):
        super().__init__(message)
        self.message = str(message)
        self.details = details or {}


@dataclass
class Incoming:
    """One alert as Warroom understands it, whoever sent it."""

    fingerprint: str
    status: str
    labels: dict
    annotations: dict = field(default_factory=dict)
    title: str = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    generator_url: str = ""
    dashboard_url: str = ""

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname", "")


def labels_fingerprint(labels: dict) -> str:
    """A stable identifier from the sorted labels, for senders that give none."""
    canonical = json.dumps(sorted(labels.items()), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def _text(value, limit) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)
    return clean_text(value)[:limit]


def _string_map(value, name, *, limit, required=False) -> dict:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(_("“%(field)s” must be an object of strings.") % {"field": name},
                           {name: [_("Expected an object.")]})
    if len(value) > MAX_LABELS:
        raise PayloadError(_("“%(field)s” has too many entries.") % {"field": name},
                           {name: [_("At most %(count)d entries.") % {"count": MAX_LABELS}]})
    cleaned = {}
    for key, item in value.items():
        key = clean_line(str(key))[:MAX_KEY_CHARS]
        if key:
            cleaned[key] = _text(item, limit)
    return cleaned


def _time(value) -> datetime | None:
    """RFC 3339 with up to nanoseconds, as Go writes it; Go's zero time and anything unreadable are None."""
    if not isinstance(value, str) or not value:
        return None
    text = _FRACTION.sub(r"\1", value.strip()).replace("Z", "+00:00").replace("z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.year <= _ZERO_YEAR:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt_timezone.utc)
    return moment


def _url(value) -> str:
    return _text(value, MAX_URL_CHARS).strip() if isinstance(value, str) else ""


def _status(value, name) -> str:
    if not isinstance(value, str) or value.lower() not in STATUSES:
        raise PayloadError(_("“%(field)s” must be firing or resolved.") % {"field": name},
                           {name: [_("Choose firing or resolved.")]})
    return value.lower()


def _object(payload) -> dict:
    if not isinstance(payload, dict):
        raise PayloadError(_("The body must be a JSON object."), {"non_field_errors": [_("Expected an object.")]})
    return payload


def _title(labels: dict, annotations: dict, fallback: str = "") -> str:
    title = annotations.get("summary") or annotations.get("title") or fallback or labels.get("alertname") or ""
    return clean_line(title)[:300]


def _alert_list(payload: dict) -> list:
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        raise PayloadError(_("“alerts” must be a list."), {"alerts": [_("This field is required.")]})
    if len(alerts) > MAX_ALERTS:
        raise PayloadError(_("At most %(count)d alerts per delivery.") % {"count": MAX_ALERTS},
                           {"alerts": [_("Too many alerts.")]})
    return alerts


def _prometheus_alert(raw, index: int, *, grafana: bool) -> Incoming:
    where = f"alerts[{index}]"
    if not isinstance(raw, dict):
        raise PayloadError(_("Each alert must be an object."), {where: [_("Expected an object.")]})
    labels = _string_map(raw.get("labels"), f"{where}.labels", limit=MAX_VALUE_CHARS, required=True)
    if not labels:
        raise PayloadError(_("An alert needs labels."), {f"{where}.labels": [_("This field is required.")]})
    annotations = _string_map(raw.get("annotations"), f"{where}.annotations", limit=MAX_ANNOTATION_CHARS)
    fingerprint = raw.get("fingerprint")
    fingerprint = clean_line(fingerprint)[:128] if isinstance(fingerprint, str) else ""
    dashboard = ""
    if grafana:
        dashboard = _url(raw.get("panelURL")) or _url(raw.get("dashboardURL"))
    return Incoming(
        fingerprint=fingerprint or labels_fingerprint(labels),
        status=_status(raw.get("status"), f"{where}.status"),
        labels=labels,
        annotations=annotations,
        title=_title(labels, annotations),
        starts_at=_time(raw.get("startsAt")),
        ends_at=_time(raw.get("endsAt")),
        generator_url=_url(raw.get("generatorURL")),
        dashboard_url=dashboard,
    )


def parse_alertmanager(payload) -> list[Incoming]:
    """Prometheus Alertmanager's webhook, payload version 4."""
    payload = _object(payload)
    return [_prometheus_alert(raw, i, grafana=False) for i, raw in enumerate(_alert_list(payload))]


def parse_grafana(payload) -> list[Incoming]:
    """Grafana unified alerting's webhook contact point: Alertmanager's list plus Grafana's URLs."""
    payload = _object(payload)
    return [_prometheus_alert(raw, i, grafana=True) for i, raw in enumerate(_alert_list(payload))]


def parse_generic(payload) -> list[Incoming]:
    """Warroom's own shape: ``title``, ``status``, ``severity``, ``labels``, ``annotations``,
    optional ``fingerprint``, ``starts_at`` and ``url``."""
    payload = _object(payload)
    title = payload.get("title")
    if not isinstance(title, str) or not clean_line(title):
        raise PayloadError(_("An alert needs a title."), {"title": [_("This field is required.")]})
    title = clean_line(title)[:300]
    status = _status(payload.get("status"), "status")
    labels = _string_map(payload.get("labels"), "labels", limit=MAX_VALUE_CHARS)
    labels.setdefault("alertname", title[:MAX_VALUE_CHARS])
    severity = payload.get("severity")
    if severity is not None and not isinstance(severity, str):
        raise PayloadError(_("“severity” must be a string."), {"severity": [_("Expected a string.")]})
    if severity:
        labels.setdefault("severity", clean_line(severity)[:MAX_VALUE_CHARS])
    annotations = _string_map(payload.get("annotations"), "annotations", limit=MAX_ANNOTATION_CHARS)
    fingerprint = payload.get("fingerprint")
    if fingerprint is not None and not isinstance(fingerprint, str):
        raise PayloadError(_("“fingerprint” must be a string."), {"fingerprint": [_("Expected a string.")]})
    fingerprint = clean_line(fingerprint or "")[:128]
    return [
        Incoming(
            fingerprint=fingerprint or labels_fingerprint(labels),
            status=status,
            labels=labels,
            annotations=annotations,
            title=title,
            starts_at=_time(payload.get("starts_at")),
            ends_at=_time(payload.get("ends_at")),
            generator_url=_url(payload.get("url")),
        )
    ]


PARSERS = {"alertmanager": parse_alertmanager, "grafana": parse_grafana, "generic": parse_generic}
