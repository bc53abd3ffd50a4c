"""Every write of alerts: sources and their tokens, intake (dedup, grouping, rooms), lifecycle.

Intake runs in one transaction per delivery. Alerts of one group are serialised by a
transaction-scoped lock on (source, group key) — an advisory lock on PostgreSQL, the
database's single writer on SQLite — so concurrent deliveries neither open two rooms
for one group nor create two rows for one fingerprint; the unique constraint on
(source, fingerprint) is the last word if anything slips past. Rooms are opened and
written to only through ``incidents.services``; live events go out after the commit.
"""

import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from alerts import events
from alerts.models import (
    Alert,
    AlertDelivery,
    AlertGroup,
    AlertSnooze,
    AlertSource,
    AlertStatus,
    Attachment,
    severity_rank,
)
from alerts.parsing import Incoming
from config.errors import PermissionDenied, ServiceError
from incidents import services as room_services
from incidents import timeline
from incidents.models import MemberRole, Message, RoomStatus, Severity
from realtime.events import publish_on_commit

# The alerts' timeline lines, rendered in each reader's language (incidents.timeline).
LINE_FIRING = timeline.line("alert.firing", gettext_lazy("Alert firing: %(title)s (%(labels)s)"))
LINE_RESOLVED = timeline.line("alert.resolved", gettext_lazy("Alert resolved: %(title)s"))
LINE_OPENED = timeline.line("alert.opened", gettext_lazy("Opened by the alert %(title)s from %(source)s (%(labels)s)"))
LINE_CLEARED = timeline.line(
    "alert.cleared", gettext_lazy("All alerts cleared; the room stays open for its people to resolve."))
LINE_CLEARED_WAITING = timeline.line(
    "alert.cleared_waiting",
    gettext_lazy("All alerts cleared; the room resolves itself in %(minutes)s min unless someone acts in it."))
LINE_AUTO_RESOLVED = timeline.line(
    "alert.auto_resolved",
    gettext_lazy("Resolved automatically: every alert cleared and nobody acted in the room for %(minutes)s min."))
LINE_ACKNOWLEDGED = timeline.line("alert.acknowledged", gettext_lazy("%(who)s acknowledged the alert %(title)s"))

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "wra_"
BOT_USERNAME = "warroom-alerts"
MAX_LINE_LABELS_CHARS = 1000


# --- Sources and tokens -------------------------------------------------------------


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def token_new() -> tuple[str, str, str]:
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return key, key[:10], hash_token(key)


@transaction.atomic
def alert_source_create(*, name, kind, **fields) -> tuple[AlertSource, str]:
    """A new source and its token, which is returned once and stored only hashed."""
    key, prefix, digest = token_new()
    members = fields.pop("default_members", None)
    source = AlertSource.objects.create(name=name, kind=kind, token_prefix=prefix, token_hash=digest, **fields)
    if members:
        source.default_members.set(members)
    return source, key


def alert_source_rotate_token(*, source: AlertSource) -> str:
    """A new token for ``source``; the old one stops working at once."""
    key, prefix, digest = token_new()
    AlertSource.objects.filter(pk=source.pk).update(token_prefix=prefix, token_hash=digest)
    source.token_prefix, source.token_hash = prefix, digest
    return key


def alert_source_for_token(key: str) -> AlertSource | None:
    return AlertSource.objects.filter(token_hash=hash_token(key)).first() if key else None


@transaction.atomic
def alert_snooze_create(*, source, matchers: dict, until, by=None, reason="") -> AlertSnooze:
    """Alerts of ``source`` whose labels include ``matchers`` open no room until ``until``."""
    if not matchers:
        raise ServiceError(_("A snooze needs at least one label to match."), details={"matchers": [_("This field is required.")]})
    return AlertSnooze.objects.create(
        source=source, matchers={str(k): str(v) for k, v in matchers.items()}, until=until, reason=reason, created_by=by
    )


def alert_bot():
    """The account that opens and auto-resolves rooms for alerts; it cannot log in."""
    bot, _created = get_user_model().objects.get_or_create(
        username=BOT_USERNAME, defaults={"display_name": "Warroom alerts", "is_active": False}
    )
    return bot


# --- Mapping ------------------------------------------------------------------------


def severity_for(source: AlertSource, labels: dict) -> str:
    value = (labels.get(source.severity_label) or "").strip().lower()
    mapped = (source.severity_map or {}).get(value)
    if mapped in Severity.values:
        return mapped
    if value in Severity.values:  # a sender that already speaks sev1..sev4
        return value
    return source.default_severity


def group_key_for(source: AlertSource, labels: dict, fingerprint: str) -> str:
    """The values of the source's group-by labels present on the alert; the fingerprint when none is."""
    parts = [f"{name}={labels[name]}" for name in (source.group_by or []) if name in labels]
    return (",".join(parts) if parts else f"fingerprint={fingerprint}")[:500]


def category_for(labels: dict) -> str:
    return (labels.get("category") or labels.get("alertname") or "")[:100]


def _labels_text(labels: dict) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(labels.items()))[:MAX_LINE_LABELS_CHARS]


def _lock_group(source_id: int, group_key: str) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite: IMMEDIATE transactions already make writers take turns
    digest = hashlib.sha256(f"alerts:{source_id}:{group_key}".encode()).digest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest[:8], "big", signed=True)])


# --- Intake -------------------------------------------------------------------------


@dataclass
class IngestResult:
    received: int = 0
    new: int = 0
    duplicates: int = 0
    rooms: list = field(default_factory=list)

    def room(self, room_id):
        if room_id and room_id not in self.rooms:
            self.rooms.append(room_id)


@dataclass
class _Context:
    source: AlertSource
    now: object
    snoozes: list
    result: IngestResult
    bot: object = None


def alerts_ingest(*, source: AlertSource, incoming: list[Incoming], now=None) -> IngestResult:
    """Store one delivery: new alerts, repeats, resolutions; rooms opened or joined; one delivery row."""
    now = now or timezone.now()
    result = IngestResult(received=len(incoming))
    with transaction.atomic():
        if not _all_repeats(source, incoming, now, result):
            _ingest_locked(source, incoming, now, result)
        AlertDelivery.objects.create(
            source=source, received_at=now, alert_count=result.received, new_count=result.new,
            duplicate_count=result.duplicates,
        )
    return result


class _NotOnlyRepeats(Exception):
    pass


def _all_repeats(source, incoming: list[Incoming], now, result: IngestResult) -> bool:
    """A delivery of firing alerts that all fire already: counted with conditional UPDATEs, no group lock.

    Most deliveries of a storm are such repeats; taking the group lock for them would make a
    whole group's deliveries wait on each other. Rows are updated in the locked path's order
    (group key, fingerprint), so the two paths cannot deadlock; a row a concurrent resolution
    holds is checked again after it. If any alert is not a firing repeat, the savepoint is
    rolled back (its row locks with it) and the whole delivery takes the locked path.
    """
    if not incoming or any(item.status != AlertStatus.FIRING for item in incoming):
        return False
    ordered = sorted(incoming, key=lambda item: (group_key_for(source, item.labels, item.fingerprint), item.fingerprint))
    try:
        with transaction.atomic():
            for item in ordered:
                updated = Alert.objects.filter(
                    source=source, fingerprint=item.fingerprint, status=AlertStatus.FIRING
                ).update(occurrences=F("occurrences") + 1, last_seen=now)
                if not updated:
                    raise _NotOnlyRepeats
    except _NotOnlyRepeats:
        return False
    result.duplicates += len(ordered)
    fingerprints = {item.fingerprint for item in ordered}
    for alert in Alert.objects.select_related("source", "acknowledged_by").filter(source=source, fingerprint__in=fingerprints):
        if alert.room_id:
            result.room(alert.room_id)
            publish_on_commit(alert.room_id, events.alert_changed(alert))
    return True


def _ingest_locked(source, incoming: list[Incoming], now, result: IngestResult) -> None:
    keyed = sorted(
        ((group_key_for(source, item.labels, item.fingerprint), item) for item in incoming),
        key=lambda pair: (pair[0], pair[1].fingerprint),
    )
    if keyed:
        # Locks in one order, so two deliveries of the same groups cannot wait on each other.
        for key in sorted({key for key, _item in keyed}):
            _lock_group(source.id, key)
        context = _Context(
            source=source, now=now, result=result,
            snoozes=list(AlertSnooze.objects.filter(source=source, until__gt=now)),
        )
        for key, item in keyed:
            _ingest_one(context, key, item)


def _ingest_one(context: _Context, group_key: str, item: Incoming) -> None:
    source, now = context.source, context.now
    alert = Alert.objects.select_for_update().filter(source=source, fingerprint=item.fingerprint).first()
    if alert is None:
        alert = _new_alert(source, group_key, item, now)
        try:
            with transaction.atomic():
                alert.save(force_insert=True)
        except IntegrityError:
            # Another delivery stored it first (only possible if the group lock was bypassed).
            alert = Alert.objects.select_for_update().get(source=source, fingerprint=item.fingerprint)
        else:
            context.result.new += 1
            if alert.status == AlertStatus.FIRING:
                _place(context, alert)
            _announce(context, alert)
            return
    if item.status == AlertStatus.FIRING:
        if alert.status == AlertStatus.FIRING:
            _repeat(context, alert)
        else:
            _refire(context, alert, group_key, item)
    elif alert.status == AlertStatus.FIRING:
        _resolve(context, alert, item)
    else:
        context.result.duplicates += 1
        Alert.objects.filter(pk=alert.pk).update(last_seen=now)


def _new_alert(source, group_key, item: Incoming, now) -> Alert:
    resolved = item.status == AlertStatus.RESOLVED
    return Alert(
        source=source,
        fingerprint=item.fingerprint,
        status=item.status,
        alertname=item.alertname[:200],
        title=(item.title or item.alertname or item.fingerprint)[:300],
        severity=severity_for(source, item.labels),
        category=category_for(item.labels),
        group_key=group_key,
        labels=item.labels,
        annotations=item.annotations,
        generator_url=item.generator_url,
        dashboard_url=item.dashboard_url,
        starts_at=item.starts_at,
        ends_at=item.ends_at,
        first_seen=now,
        last_seen=now,
        resolved_at=_resolved_time(item, now) if resolved else None,
    )


def _resolved_time(item: Incoming, now):
    return min(item.ends_at, now) if item.ends_at else now


def _announce(context: _Context, alert: Alert) -> None:
    if alert.room_id:
        context.result.room(alert.room_id)
        publish_on_commit(alert.room_id, events.alert_changed(alert))


def _repeat(context: _Context, alert: Alert) -> None:
    """The same firing alert again: counted, no new row and no timeline line."""
    context.result.duplicates += 1
    Alert.objects.filter(pk=alert.pk).update(occurrences=F("occurrences") + 1, last_seen=context.now)
    alert.occurrences += 1
    alert.last_seen = context.now
    _announce(context, alert)


def _refire(context: _Context, alert: Alert, group_key: str, item: Incoming) -> None:
    """A resolved alert fires again: the same row, placed again as if new."""
    alert.status = AlertStatus.FIRING
    alert.resolved_at = None
    alert.ends_at = None
    alert.occurrences += 1
    alert.last_seen = context.now
    alert.labels, alert.annotations = item.labels, item.annotations
    alert.group_key = group_key
    alert.starts_at = item.starts_at or alert.starts_at
    alert.save()
    _place(context, alert)
    _announce(context, alert)


def _resolve(context: _Context, alert: Alert, item: Incoming) -> None:
    alert.status = AlertStatus.RESOLVED
    alert.resolved_at = _resolved_time(item, context.now)
    alert.ends_at = item.ends_at or alert.resolved_at
    alert.last_seen = context.now
    alert.save(update_fields=["status", "resolved_at", "ends_at", "last_seen"])
    if alert.room_id:
        room = alert.room
        if room.status == RoomStatus.ACTIVE:
            room_services.room_note(room=room, event=LINE_RESOLVED, params={"title": alert.title})
            _after_resolution(context, room)
    _announce(context, alert)


def _snoozed(context: _Context, alert: Alert) -> bool:
    return context.source.is_snoozed(context.now) or any(snooze.matches(alert.labels) for snooze in context.snoozes)


def _place(context: _Context, alert: Alert) -> None:
    """Join the group's open room, open one, or store the alert without a room."""
    source, now = context.source, context.now
    if _snoozed(context, alert):
        alert.room, alert.attachment = None, Attachment.SUPPRESSED
        alert.save(update_fields=["room", "attachment"])
        return
    window_start = now - timedelta(minutes=source.group_window_minutes)
    # The group's last alert: the last one placed in it, or a repeat of one of its alerts since.
    recent = Q(last_alert_at__gte=window_start) | Exists(
        Alert.objects.filter(room=OuterRef("room"), last_seen__gte=window_start).exclude(pk=alert.pk)
    )
    group = (
        AlertGroup.objects.select_for_update(of=("self",))
        .select_related("room")
        .filter(recent, source=source, group_key=alert.group_key, room__status=RoomStatus.ACTIVE)
        .order_by("-last_alert_at")
        .first()
    )
    if group is not None:
        was_here = alert.room_id == group.room_id
        alert.room = group.room
        alert.attachment = alert.attachment if was_here else Attachment.GROUPED
        alert.save(update_fields=["room", "attachment"])
        group.last_alert_at, group.cleared_at, group.clear_settled = now, None, False
        group.save(update_fields=["last_alert_at", "cleared_at", "clear_settled"])
        room_services.room_note(room=group.room, event=LINE_FIRING,
                                params={"title": alert.title, "labels": _labels_text(alert.labels)})
        return
    if source.opens_rooms and severity_rank(alert.severity) <= severity_rank(source.min_severity):
        room = _open_room(context, alert)
        AlertGroup.objects.create(source=source, group_key=alert.group_key, room=room, opened_at=now, last_alert_at=now)
        alert.room, alert.attachment = room, Attachment.OPENED
    else:
        alert.room, alert.attachment = None, Attachment.NONE
    alert.save(update_fields=["room", "attachment"])


def _open_room(context: _Context, alert: Alert):
    source = context.source
    bot = context.bot = context.bot or alert_bot()
    room = room_services.room_create(
        created_by=bot,
        title=(alert.title or alert.alertname or alert.fingerprint)[:200],
        description=alert.annotations.get("description", ""),
        severity=alert.severity,
        category=alert.category,
    )
    people = []
    if source.default_commander_id:
        people.append((source.default_commander, MemberRole.COMMANDER))
    people += [(user, MemberRole.RESPONDER) for user in source.default_members.all() if user.pk != source.default_commander_id]
    for user, role in people:
        room_services.member_add(room=room, user=user, role=role, by=bot)
    room_services.room_note(room=room, event=LINE_OPENED,
                            params={"title": alert.title, "source": source.name, "labels": _labels_text(alert.labels)})
    return room


# --- After the last alert of a room resolved --------------------------------------------


def person_acted(room) -> bool:
    """Someone wrote in the room or acknowledged one of its alerts."""
    return (
        Message.objects.filter(room=room, sender__isnull=False).exists()
        or Alert.objects.filter(room=room, acknowledged_at__isnull=False).exists()
    )


def _after_resolution(context: _Context, room) -> None:
    if Alert.objects.filter(room=room, status=AlertStatus.FIRING).exists():
        return
    group = AlertGroup.objects.select_for_update().filter(room=room).first()
    if group is None:
        return  # a room opened by hand that alerts joined: people resolve it
    group.cleared_at = context.now
    after = settings.ALERT_AUTO_RESOLVE_AFTER
    if after <= 0 or person_acted(room):
        group.clear_settled = True
        room_services.room_note(room=room, event=LINE_CLEARED, params={})
    else:
        group.clear_settled = False
        room_services.room_note(room=room, event=LINE_CLEARED_WAITING, params={"minutes": f"{after / 60:g}"})
    group.save(update_fields=["cleared_at", "clear_settled"])


def alerts_auto_resolve_due(*, now=None) -> int:
    """Resolve the rooms whose alerts all cleared a grace period ago with nobody acting; returns how many."""
    after = settings.ALERT_AUTO_RESOLVE_AFTER
    if after <= 0:
        return 0
    now = now or timezone.now()
    due = AlertGroup.objects.filter(
        cleared_at__lte=now - timedelta(seconds=after), clear_settled=False, room__status=RoomStatus.ACTIVE
    ).values_list("id", flat=True)
    resolved = 0
    for group_id in list(due):
        try:
            resolved += _auto_resolve(group_id, now)
        except ServiceError as error:  # someone changed the room meanwhile; the room stays as people left it
            logger.warning("Alert group %s not auto-resolved: %s", group_id, error.message)
            AlertGroup.objects.filter(pk=group_id).update(clear_settled=True)
    return resolved


@transaction.atomic
def _auto_resolve(group_id: int, now) -> int:
    group = AlertGroup.objects.select_for_update().select_related("room").filter(pk=group_id, clear_settled=False).first()
    if group is None or group.cleared_at is None or group.room.status != RoomStatus.ACTIVE:
        return 0
    room = group.room
    group.clear_settled = True
    if Alert.objects.filter(room=room, status=AlertStatus.FIRING).exists():
        group.save(update_fields=["clear_settled"])
        return 0
    if person_acted(room):
        group.save(update_fields=["clear_settled"])
        room_services.room_note(room=room, event=LINE_CLEARED, params={})
        return 0
    minutes = f"{settings.ALERT_AUTO_RESOLVE_AFTER / 60:g}"
    summary = _("Resolved automatically: every alert cleared and nobody acted in the room for %(minutes)s min.") % {
        "minutes": minutes
    }
    room_services.room_resolve(room=room, by=alert_bot(), summary=summary)
    room_services.room_note(room=room, event=LINE_AUTO_RESOLVED, params={"minutes": minutes})
    group.auto_resolved_at = now
    group.save(update_fields=["clear_settled", "auto_resolved_at"])
    return 1


# --- People ---------------------------------------------------------------------------


@transaction.atomic
def alert_acknowledge(*, alert: Alert, by, now=None) -> Alert:
    """``by`` takes the alert: recorded once with who and when (MTTA), written to the timeline."""
    room = alert.room
    if room is None or not room_services.can_contribute(room=room, user=by):
        raise PermissionDenied(_("Observers can read the room but not acknowledge its alerts."))
    alert = Alert.objects.select_for_update(of=("self",)).select_related("source", "acknowledged_by").get(pk=alert.pk)
    if alert.acknowledged_at is not None:
        return alert
    alert.acknowledged_by, alert.acknowledged_at = by, now or timezone.now()
    alert.save(update_fields=["acknowledged_by", "acknowledged_at"])
    if room.status == RoomStatus.ACTIVE:
        room_services.room_note(room=room, event=LINE_ACKNOWLEDGED, params={"who": by, "title": alert.title})
    publish_on_commit(room.id, events.alert_changed(alert))
    return alert
