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

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from incidents.models import MessageKind, RoomFile
from incidents.selectors import room_action_items, room_members, room_timeline
from reports.prompts import in_language

# A gap between two older messages longer than this is reported as a quiet stretch.
QUIET_STRETCH = timedelta(minutes=30)
# Older status and system events kept word for word, at most.
MAX_KEPT_EVENTS = 100
# Older messages read from the database per round trip.
OLDER_CHUNK = 2000
# Who a message without a sender is counted as.
SYSTEM_SENDER = "system"


@dataclass
class RoomInfo:
    id: str
    title: str
    description: str
    severity: str
    category: str
    status: str
    status_label: str
    created_at: datetime
    resolved_at: datetime | None
    resolution_summary: str
    created_by: str


@dataclass
class MemberInfo:
    name: str
    role: str
    role_label: str
    joined_at: datetime
    message_count: int = 0


@dataclass
class MessageLine:
    time: datetime
    sender: str
    kind: str
    body: str


@dataclass
class QuietStretch:
    start: datetime
    end: datetime


@dataclass
class CondensedHistory:
    """The older part of a long timeline, in brief."""

    start: datetime
    end: datetime
    message_count: int
    by_sender: list[tuple[str, int]]
    events: list[MessageLine]
    quiet_stretches: list[QuietStretch]


@dataclass
class FileInfo:
    name: str
    content_type: str
    size: int
    is_image: bool
    storage_name: str
    uploaded_by: str
    created_at: datetime
    width: int | None = None
    height: int | None = None


@dataclass
class ActionItemInfo:
    title: str
    assignee: str
    due_date: str | None
    status: str


@dataclass
class RoomSnapshot:
    room: RoomInfo
    members: list[MemberInfo]
    messages: list[MessageLine]
    files: list[FileInfo]
    total_messages: int
    condensed: CondensedHistory | None = None
    collected_at: datetime = field(default_factory=timezone.now)
    action_items: list[ActionItemInfo] = field(default_factory=list)

    def to_dict(self) -> dict:
        return _jsonable(asdict(self))

    @classmethod
    def from_dict(cls, data: dict) -> "RoomSnapshot":
        condensed = data.get("condensed")
        return cls(
            room=RoomInfo(**_dates(data["room"], "created_at", "resolved_at")),
            members=[MemberInfo(**_dates(m, "joined_at")) for m in data["members"]],
            messages=[MessageLine(**_dates(m, "time")) for m in data["messages"]],
            files=[FileInfo(**_dates(f, "created_at")) for f in data["files"]],
            total_messages=data["total_messages"],
            condensed=CondensedHistory(
                start=_dt(condensed["start"]),
                end=_dt(condensed["end"]),
                message_count=condensed["message_count"],
                by_sender=[tuple(pair) for pair in condensed["by_sender"]],
                events=[MessageLine(**_dates(m, "time")) for m in condensed["events"]],
                quiet_stretches=[QuietStretch(_dt(q["start"]), _dt(q["end"])) for q in condensed["quiet_stretches"]],
            ) if condensed else None,
            collected_at=_dt(data["collected_at"]),
            action_items=[ActionItemInfo(**item) for item in data.get("action_items", [])],
        )


class EmptyRoom(Exception):
    """The room has no messages: there is nothing to write a report from."""


def _dt(value):
    return parse_datetime(value) if isinstance(value, str) else value


def _dates(data: dict, *names: str) -> dict:
    return {k: (_dt(v) if k in names else v) for k, v in data.items()}


def _jsonable(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _line(message) -> MessageLine:
    sender = message.sender.label if message.sender_id else ""
    return MessageLine(time=message.created_at, sender=sender, kind=message.kind, body=message.body)


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


def collect_room(room, *, max_messages: int, language: str = "zh-hant") -> RoomSnapshot:
    """Read the room once into a snapshot. Raises :class:`EmptyRoom` when there are no messages.

    Role and status labels are in ``language``, the report's: the page language of whoever
    runs the pipeline (a worker, a terminal) must not decide what the report says.
    """
    timeline = room_timeline(room=room)
    total = timeline.count()
    if total == 0:
        raise EmptyRoom("The room has no messages, so there is nothing to write a report from.")
    older_count = max(total - max_messages, 0)
    condensed = _condense(timeline[:older_count].iterator(chunk_size=OLDER_CHUNK), older_count) if older_count \
        else None
    counts: dict[str, int] = dict(condensed.by_sender) if condensed else {}
    recent = [_line(message) for message in timeline[older_count:]]
    for line in recent:
        _count(counts, line)
    with in_language(language):
        members, room_info = _members(room), _room_info(room)
    for member in members:
        member.message_count = counts.get(member.name, 0)
    return RoomSnapshot(
        room=room_info, members=members, messages=recent, files=_files(room), total_messages=total,
        condensed=condensed, action_items=_action_items(room),
    )
