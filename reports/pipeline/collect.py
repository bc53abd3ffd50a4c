"""Stage 1: a snapshot of the room in plain dataclasses.

The snapshot is everything the writers and the document need, read once:
room metadata, members with roles and display names, the timeline with
sender names, and the files. Past ``REPORT_MAX_MESSAGES`` the older part of
the timeline is condensed (who said how much, status and system events kept,
long quiet stretches summarised) and the most recent messages are kept
verbatim. The snapshot is stored as JSON in the collect step so that the later
stages, on any worker, read exactly what was collected.

The condensation is done by the database: rooms fed by alerts and bots reach
100,000 messages, and reading them into Python (even in chunks) took longer
than the report. What comes back is bounded whatever the room's size: counts
per sender, the last ``MAX_KEPT_EVENTS`` events and the ``MAX_KEPT_QUIET``
longest quiet stretches.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, Min, Q, Window
from django.db.models.functions import Lag

from django.conf import settings

from alerts.selectors import room_alerts
from incidents import timeline
from incidents.models import Message, MessageKind, RoomFile
from incidents.selectors import room_action_items, room_members, room_timeline
from knowledge.related import context_passages
from knowledge.room_files import room_file_texts
from reports.prompts import in_language
from reports.snapshot import (
    ActionItemInfo,
    AlertInfo,
    CondensedHistory,
    DocumentText,
    EmptyRoom,
    FileInfo,
    KnowledgePassage,
    MemberInfo,
    MessageLine,
    QuietStretch,
    RoomInfo,
    RoomSnapshot,
)

# A gap between two older messages longer than this is reported as a quiet stretch.
QUIET_STRETCH = timedelta(minutes=30)
# Older status and system events kept word for word, at most.
MAX_KEPT_EVENTS = 100
# Older quiet stretches kept (the longest ones, in time order), at most.
MAX_KEPT_QUIET = 100
# Who a message without a sender is counted as.
SYSTEM_SENDER = "system"


def _line(message) -> MessageLine:
    sender = message.sender.label if message.sender_id else ""
    return MessageLine(time=message.created_at, sender=sender, kind=message.kind, body=timeline.text_of(message), id=message.id)


def _members(room) -> list[MemberInfo]:
    """The members, their role labels from ``MemberRole`` in the active language."""
    return [
        MemberInfo(name=m.user.label, role=m.role, role_label=m.get_role_display(), joined_at=m.joined_at)
        for m in room_members(room=room)
    ]


def _count(counts: dict[str, int], line: MessageLine) -> None:
    name = line.sender or SYSTEM_SENDER
    counts[name] = counts.get(name, 0) + 1


def _older_than(line: MessageLine) -> Q:
    """Messages before ``line`` in timeline order (created_at, then id)."""
    return Q(created_at__lt=line.time) | Q(created_at=line.time, id__lt=line.id)


def _by_sender(older) -> list[tuple[str, int]]:
    """(name, count) of the older messages, most first: one GROUP BY, then the few senders' names."""
    counts = list(older.order_by().values("sender_id").annotate(n=Count("id")))
    ids = [row["sender_id"] for row in counts if row["sender_id"] is not None]
    names = {user.pk: user.label for user in get_user_model().objects.filter(pk__in=ids)}
    by_name: dict[str, int] = {}
    for row in counts:
        name = names.get(row["sender_id"], "") or SYSTEM_SENDER
        by_name[name] = by_name.get(name, 0) + row["n"]
    return sorted(by_name.items(), key=lambda pair: -pair[1])


def _quiet_stretches(older) -> list[QuietStretch]:
    """Gaps longer than ``QUIET_STRETCH`` between two older messages: the longest ones, in time order."""
    gaps = (
        older.order_by()
        .annotate(previous=Window(Lag("created_at"), order_by=[F("created_at").asc(), F("id").asc()]))
        .values("previous", "created_at")
    )
    # Filtering on a window function: Django wraps the query, so the database picks the gaps.
    gaps = gaps.filter(previous__lt=F("created_at") - QUIET_STRETCH).annotate(
        length=ExpressionWrapper(F("created_at") - F("previous"), output_field=DurationField()))
    longest = gaps.order_by("-length")[:MAX_KEPT_QUIET]
    return [QuietStretch(start=gap["previous"], end=gap["created_at"]) for gap in sorted(longest, key=lambda g: g["created_at"])]


def _condense(older, older_count: int) -> CondensedHistory:
    """The older messages in brief: who said how much, the status and system events, the quiet stretches."""
    span = older.order_by().aggregate(first=Min("created_at"), last=Max("created_at"))
    events = older.exclude(kind=MessageKind.TEXT).select_related("sender").order_by("-created_at", "-id")[:MAX_KEPT_EVENTS]
    return CondensedHistory(
        start=span["first"], end=span["last"], message_count=older_count,
        by_sender=_by_sender(older), events=[_line(message) for message in reversed(events)],
        quiet_stretches=_quiet_stretches(older),
    )


def _files(room) -> list[FileInfo]:
    return [
        FileInfo(
            name=f.original_name, content_type=f.content_type, size=f.size,
            is_image=bool(f.is_image or f.content_type.startswith("image/")), storage_name=f.file.name,
            uploaded_by=f.uploaded_by.label if f.uploaded_by_id else "", created_at=f.created_at,
            width=f.width, height=f.height,
        )
        for f in RoomFile.objects.filter(room=room).select_related("uploaded_by").order_by("created_at", "id")
    ]


def _room_info(room) -> RoomInfo:
    """The room's metadata, its status label from ``RoomStatus`` in the active language."""
    return RoomInfo(
        id=str(room.id), title=room.title, description=room.description, severity=room.severity,
        category=room.category, status=room.status, status_label=room.get_status_display(),
        created_at=room.created_at, resolved_at=room.resolved_at, resolution_summary=room.resolution_summary,
        created_by=room.created_by.label if room.created_by_id else "",
    )


def _action_items(room) -> list[ActionItemInfo]:
    return [
        ActionItemInfo(
            title=item.title, assignee=item.assignee.label if item.assignee_id else "",
            due_date=item.due_date.isoformat() if item.due_date else None, status=item.status,
        )
        for item in room_action_items(room=room)
    ]


def _alerts(room) -> list[AlertInfo]:
    return [
        AlertInfo(title=a.title, status=a.status, severity=a.severity, labels=a.labels, first_seen=a.first_seen,
                  last_seen=a.last_seen, occurrences=a.occurrences, resolved_at=a.resolved_at)
        for a in room_alerts(room=room)
    ]


def _knowledge(room) -> list[KnowledgePassage]:
    """The knowledge base's top passages for the room, bounded, for the writer to cite as ``[kb:<id>]``."""
    return context_passages(room=room, k=settings.REPORT_KNOWLEDGE_PASSAGES, chars=settings.REPORT_KNOWLEDGE_PASSAGE_CHARS)


def _documents(room, language: str) -> list[DocumentText]:
    """The text of the room's document files, sharing ``REPORT_DOCUMENT_BUDGET_CHARS``; labels in the report's language."""
    with in_language(language):
        texts = room_file_texts(room=room, budget=settings.REPORT_DOCUMENT_BUDGET_CHARS)
        return [DocumentText(name=t.label, text=t.text, truncated=t.truncated, error=str(t.error)) for t in texts]


def collect_room(room, *, max_messages: int, language: str = "zh-hant") -> RoomSnapshot:
    """Read the room once into a snapshot. Raises :class:`EmptyRoom` when there are no messages.

    Role and status labels and the timeline's system lines are in ``language``, the report's:
    the page language of whoever runs the pipeline (a worker, a terminal) must not decide
    what the report says.
    """
    messages = room_timeline(room=room)
    total = messages.count()
    if total == 0:
        raise EmptyRoom("The room has no messages, so there is nothing to write a report from.")
    older_count = max(total - max_messages, 0)
    with in_language(language):
        # The recent part is read newest first (the timeline index backwards), so that a room of
        # 100,000 messages is not walked to an offset; its oldest message bounds the older part.
        newest = messages.order_by("-created_at", "-id")[:max_messages] if max_messages > 0 else []
        recent = [_line(message) for message in reversed(newest)]
        condensed = None
        if older_count:
            older = Message.objects.filter(room=room)
            if recent:
                older = older.filter(_older_than(recent[0]))
            condensed = _condense(older, older_count)
        members, room_info = _members(room), _room_info(room)
    counts: dict[str, int] = dict(condensed.by_sender) if condensed else {}
    for line in recent:
        _count(counts, line)
    for member in members:
        member.message_count = counts.get(member.name, 0)
    return RoomSnapshot(
        room=room_info, members=members, messages=recent, files=_files(room), total_messages=total,
        condensed=condensed, action_items=_action_items(room), alerts=_alerts(room),
        knowledge=_knowledge(room), documents=_documents(room, language),
    )
