"""The room assistant's answers, offline: written from the room and the knowledge base alone.

"Catch me up" is answered from the room: what happened in the last minutes, who is on it,
the open tasks and the alerts still firing. Any other question gets the passages that match it, with a plain note that
no AI is configured. Citations are ``[m<message id>]`` and ``[kb:<chunk id>]``.
"""

import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.models import AlertStatus
from alerts.selectors import room_alerts
from incidents.models import ActionItemStatus
from incidents.selectors import room_action_items, room_members, room_timeline
from knowledge import search
from knowledge.models import DocumentStatus, KnowledgeChunk

PROMPT_VERSION = "offline-1"
OFFLINE_PROVIDERS = ("offline", "offline-fallback")
MESSAGE_CITE = re.compile(r"\[m(\d{1,18})\]")
KB_CITE = re.compile(r"\[kb:(\d{1,18})\]")
LABEL_CHARS = 80
CATCH_UP_MINUTES = 60
CATCH_UP_MESSAGES = 8
CATCH_UP_ALERTS = 10
PASSAGES = 3

_CATCH_UP = re.compile(
    r"catch\s*(me\s*)?up|summar|status|what.?s\s+(new|happening|going on)|進度|摘要|總結|狀況|現況|跟上|更新我|發生了?什麼", re.I,
)


@dataclass
class Answer:
    text: str
    citations: list[dict] = field(default_factory=list)
    provider: str = "offline"
    prompt_version: str = PROMPT_VERSION


def is_catch_up(question: str) -> bool:
    return bool(_CATCH_UP.search(question or ""))


def _message_line(message) -> str:
    who = str(message.sender) if message.sender_id else _("Warroom")
    body = " ".join(message.body.split())
    return f"- {timezone.localtime(message.created_at):%H:%M} {who}: {body[:200]} [m{message.id}]"


def _when(moment) -> str:
    local = timezone.localtime(moment)
    # An alert firing since yesterday must not read as if it started this morning.
    return f"{local:%H:%M}" if local.date() == timezone.localdate() else f"{local:%m-%d %H:%M}"


def _alert_lines(room) -> list[str]:
    """The room's alerts still firing, most recently seen first, at most CATCH_UP_ALERTS of them."""
    firing = room_alerts(room=room).filter(status=AlertStatus.FIRING).order_by("-last_seen", "-id")
    shown = list(firing[:CATCH_UP_ALERTS + 1])
    if not shown:
        return []
    lines = [_("Alerts still firing:")]
    for alert in shown[:CATCH_UP_ALERTS]:
        line = _("%(title)s (%(severity)s), firing since %(since)s") % {
            "title": alert.title, "severity": alert.get_severity_display(),
            "since": _when(alert.starts_at or alert.first_seen),
        }
        if alert.occurrences > 1:
            line += _(", seen %(count)d times") % {"count": alert.occurrences}
        lines.append(f"- {line}")
    if len(shown) > CATCH_UP_ALERTS:
        lines.append("- " + _("and %(count)d more") % {"count": firing.count() - CATCH_UP_ALERTS})
    return lines


def catch_up(room) -> Answer:
    since = timezone.now() - timedelta(minutes=CATCH_UP_MINUTES)
    recent = list(room_timeline(room=room).filter(created_at__gte=since).order_by("-created_at", "-id")[:CATCH_UP_MESSAGES])
    recent.reverse()
    if not recent:
        # A quiet hour: the last few lines are still what a newcomer needs.
        recent = list(room_timeline(room=room).order_by("-created_at", "-id")[:CATCH_UP_MESSAGES])[::-1]
    members = list(room_members(room=room))
    tasks = list(room_action_items(room=room).filter(status=ActionItemStatus.OPEN)[:10])
    lines = [
        _("%(title)s is %(status)s (%(severity)s).") % {
            "title": room.title, "status": room.get_status_display(), "severity": room.get_severity_display(),
        },
    ]
    if recent:
        lines.append(_("In the last %(minutes)d minutes:") % {"minutes": CATCH_UP_MINUTES} if recent[0].created_at >= since
                     else _("The latest lines of the timeline:"))
        lines.extend(_message_line(m) for m in recent)
    else:
        lines.append(_("Nothing has been posted yet."))
    if members:
        lines.append(_("On it: %(people)s.") % {"people": ", ".join(f"{m.user} ({m.get_role_display()})" for m in members)})
    if tasks:
        lines.append(_("Open tasks:"))
        lines.extend(f"- {t.title}" + (f" ({t.assignee})" if t.assignee_id else "") for t in tasks)
    lines.extend(_alert_lines(room))
    return Answer(text="\n".join(lines), citations=[_message_citation(m) for m in recent])


def passages(question: str, *, ai_failed: bool = False) -> Answer:
    found = search.search(question, k=PASSAGES)
    lines = [_("The AI could not answer just now, so here are the passages that best match your question.") if ai_failed
             else _("No AI is configured for the assistant, so here are the passages that best match your question.")]
    citations = []
    for hit in found.hits:
        document = hit.chunk.document
        text = " ".join(hit.chunk.text.split())
        title = document.title + (f" › {hit.chunk.heading}" if hit.chunk.heading else "")
        lines.append(f"- {title}: {text[:300]} [kb:{hit.chunk.id}]")
        citations.append(_passage_citation(hit.chunk))
    if not found.hits:
        lines.append(_("Nothing in the knowledge base matches it."))
    return Answer(text="\n".join(lines), citations=citations)


def _message_citation(message) -> dict:
    return {"ref": f"m{message.id}", "kind": "message", "id": message.id, "label": " ".join(message.body.split())[:LABEL_CHARS]}


def _passage_citation(chunk) -> dict:
    title = chunk.document.title + (f" › {chunk.heading}" if chunk.heading else "")
    return {"ref": f"kb:{chunk.id}", "kind": "knowledge", "id": chunk.id, "document_id": chunk.document_id,
            "label": title[:120]}


def citations_in(text: str, *, room) -> list[dict]:
    """The citations an AI's answer makes that are real: messages of this room and indexed passages, in order."""
    message_ids = list(dict.fromkeys(int(i) for i in MESSAGE_CITE.findall(text or "")))
    chunk_ids = list(dict.fromkeys(int(i) for i in KB_CITE.findall(text or "")))
    messages = room_timeline(room=room).in_bulk(message_ids) if message_ids else {}
    chunks = KnowledgeChunk.objects.select_related("document").filter(
        document__status=DocumentStatus.INDEXED).in_bulk(chunk_ids) if chunk_ids else {}
    return ([_message_citation(messages[i]) for i in message_ids if i in messages]
            + [_passage_citation(chunks[i]) for i in chunk_ids if i in chunks])


def answer(*, room, question: str, ai_failed: bool = False) -> Answer:
    """The offline answer; ``ai_failed`` when it stands in for an AI that failed (the answer says so)."""
    if not is_catch_up(question):
        found = passages(question, ai_failed=ai_failed)
    else:
        found = catch_up(room)
        if ai_failed:
            found.text = _("The AI could not answer just now; this is compiled from the room's data.") + "\n" + found.text
    if ai_failed:
        found.provider = "offline-fallback"
    return found
