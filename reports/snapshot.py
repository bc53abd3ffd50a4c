"""The room snapshot: everything the writers and the document need of a room, as plain dataclasses.

The collect stage (``reports/pipeline/collect.py``) reads the room into a
snapshot once and stores it as JSON in its step, so that the later stages, the
writers and the ticket notes, on any worker, read exactly what was collected.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime

# A passage of the knowledge base related to the room (a runbook step, a past report), cited [kb:<id>].
from knowledge.related import Passage as KnowledgePassage


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
    id: int | None = None  # the message's id, which reports cite as [m123]


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
class AlertInfo:
    """An alert of the room (alerts app): what fired, when, how often, and when it cleared."""

    title: str
    status: str
    severity: str
    labels: dict
    first_seen: datetime
    last_seen: datetime
    occurrences: int
    resolved_at: datetime | None = None


@dataclass
class DocumentText:
    """The text of one of the room's document files (a pasted log, a vendor PDF), within the report's budget."""

    name: str
    text: str
    truncated: bool = False
    error: str = ""


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
    alerts: list[AlertInfo] = field(default_factory=list)
    knowledge: list[KnowledgePassage] = field(default_factory=list)
    documents: list[DocumentText] = field(default_factory=list)

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
            alerts=[AlertInfo(**_dates(a, "first_seen", "last_seen", "resolved_at")) for a in data.get("alerts", [])],
            knowledge=[KnowledgePassage(**p) for p in data.get("knowledge", [])],
            documents=[DocumentText(**d) for d in data.get("documents", [])],
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
