"""Stage 1: a snapshot of the room in plain dataclasses.

The snapshot is everything the writers and the document need, read once:
room metadata, members with roles and display names, the timeline with
sender names, and the files. Past ``REPORT_MAX_MESSAGES`` the older part of
the timeline is condensed (who said how much, status and system events kept,
long quiet stretches summarised) and the most recent messages are kept
verbatim. The snapshot is stored as JSON in the collect step so that the later
stages, on any worker, read exactly what was collected.
"""

from __future__ import annotations

from datetime import timedelta


from django.conf import settings

from alerts.selectors import room_alerts
from incidents import timeline
from incidents.models import MessageKind, RoomFile
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
# Older messages read from the database per round trip.
OLDER_CHUNK = 2000
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


def _condense(messages, older_count: int) -> CondensedHistory:
    """The older messages in brief: who said how much, the status and system events, the quiet stretches."""
    by_sender: dict[str, int] = {}
    events: list[MessageLine] = []
    quiet: list[QuietStretch] = []
    first = last = None
    for message in messages:
        line = _line(message)
        if first is None:
            first = line.time
        elif line.time - last > QUIET_STRETCH:
            quiet.append(QuietStretch(start=last, end=line.time))
        last = line.time
        _count(by_sender, line)
        if line.kind != MessageKind.TEXT:
            events.append(line)
    return CondensedHistory(
        start=first, end=last, message_count=older_count,
        by_sender=sorted(by_sender.items(), key=lambda pair: -pair[1]),
        events=events[-MAX_KEPT_EVENTS:], quiet_stretches=quiet,
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
        condensed = _condense(messages[:older_count].iterator(chunk_size=OLDER_CHUNK), older_count) \
            if older_count else None
        recent = [_line(message) for message in messages[older_count:]]
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
