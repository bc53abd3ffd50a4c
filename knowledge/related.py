"""What a room's responders may want to know: past incidents like this one, and runbook passages."""

import logging
from dataclasses import dataclass, field

from django.db.models import Q

from alerts.selectors import room_alerts
from incidents.models import IncidentRoom, MessageKind, RoomStatus
from incidents.selectors import room_timeline, rooms_visible_to
from knowledge import search
from knowledge.models import REPORT_KINDS, DocumentKind

logger = logging.getLogger(__name__)

RECENT_MESSAGES = 20
QUERY_CHARS = 2000
# A room opened by a storm of alerts must still leave the query room for its messages.
QUERY_ALERTS = 5
QUERY_ALERT_CHARS = 400
# Label values that grade or route an alert ("critical", "team-db") say nothing of what broke,
# and would match every passage that mentions a severity.
IGNORED_LABELS = frozenset({"severity", "priority", "receiver", "team", "prometheus", "monitor", "env", "environment"})


@dataclass
class PastIncident:
    room: IncidentRoom
    score: float
    document_id: int | None = None
    document_title: str = ""
    snippet: str = ""
    chunk_id: int | None = None


@dataclass
class Related:
    query: str
    mode: str
    incidents: list[PastIncident] = field(default_factory=list)
    passages: list[search.Hit] = field(default_factory=list)


def alert_words(room: IncidentRoom) -> list[str]:
    """The titles and label values of the room's alerts (firing first), distinct, within QUERY_ALERT_CHARS."""
    words, size = [], 0
    for title, labels in room_alerts(room=room).values_list("title", "labels")[:QUERY_ALERTS]:
        values = [str(value) for key, value in sorted((labels or {}).items()) if key.lower() not in IGNORED_LABELS]
        for word in (" ".join(str(w).split()) for w in [title, *values]):
            if not word or word in words or size + len(word) > QUERY_ALERT_CHARS:
                continue
            words.append(word)
            size += len(word) + 1
    return words


def room_query_text(room: IncidentRoom) -> str:
    """The room's words, most telling first: title, category, description, its alerts, then recent messages."""
    recent = (
        room_timeline(room=room).filter(kind=MessageKind.TEXT).order_by("-created_at", "-id")
        .values_list("body", flat=True)[:RECENT_MESSAGES]
    )
    parts = [room.title, room.category, room.description, " ".join(alert_words(room)), *recent]
    return "\n".join(p for p in parts if p)[:QUERY_CHARS]


def room_related(*, room: IncidentRoom, user, incidents: int = 5, passages: int = 3) -> Related:
    query = room_query_text(room)
    found = search.search(query, k=incidents * 3, kinds=list(REPORT_KINDS), exclude_room_id=room.id)
    seen, past = set(), []
    for hit in found.hits:
        document = hit.chunk.document
        if document.room_id is None or document.room_id in seen:
            continue
        seen.add(document.room_id)
        past.append(PastIncident(
            room=document.room, score=hit.score, document_id=document.id, document_title=document.title,
            snippet=hit.snippet, chunk_id=hit.chunk.id,
        ))
        if len(past) >= incidents:
            break
    if len(past) < incidents and room.category:
        # Rooms of the same category that have no indexed report yet, among those the person may open.
        same = (
            rooms_visible_to(user).filter(category__iexact=room.category)
            .filter(Q(status=RoomStatus.RESOLVED) | Q(status=RoomStatus.ARCHIVED))
            .exclude(id=room.id).exclude(id__in=seen).order_by("-resolved_at", "-created_at")[: incidents - len(past)]
        )
        past.extend(PastIncident(room=other, score=0.0) for other in same)
    runbooks = search.search(query, k=passages, kinds=[DocumentKind.RUNBOOK, DocumentKind.REFERENCE])
    return Related(query=query, mode=runbooks.mode, incidents=past, passages=runbooks.hits)


@dataclass(frozen=True)
class Passage:
    """A passage handed to a writer as context: cited ``[kb:<id>]``."""

    id: int
    title: str
    heading: str
    kind: str
    text: str
    room_title: str = ""


def context_passages(*, room: IncidentRoom, k: int = 5, chars: int = 600) -> list[Passage]:
    """The top ``k`` passages for the room's words (runbooks, references and other rooms' reports), each cut to ``chars``.

    For the report writer and the ticket notes. A knowledge base that cannot answer (an index being
    rebuilt, a bad query) gives no passages rather than costing the report.
    """
    try:
        found = search.search(room_query_text(room), k=k, exclude_room_id=room.id)
    except Exception:  # noqa: BLE001 - context is a help, never a reason for a report to fail
        logger.warning("No knowledge context for room %s", room.id, exc_info=True)
        return []
    return [
        Passage(
            id=hit.chunk.id, title=hit.chunk.document.title, heading=hit.chunk.heading, kind=hit.chunk.document.kind,
            text=" ".join(hit.chunk.text.split())[:chars],
            room_title=hit.chunk.document.room.title if hit.chunk.document.room_id else "",
        )
        for hit in found.hits
    ]
