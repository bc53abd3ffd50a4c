"""The offline writer: all six sections from the room data alone, with no network.

It is the default where no AI is configured and the fallback when the AI
fails. It says plainly that no AI was used. It writes the sections of either
kind (the keys say which): the incident report's, and the postmortem's, where
it states facts from the room and leaves judgement (the root cause) to people.
"""

from __future__ import annotations

import json
import re

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from incidents.timing import minutes_between
from reports.llm.base import LLMClient, LLMRequest, LLMResult
from reports.prompts import duration_text, in_language, kb_mark, local, passage_title, said, section_keys_for
from reports.snapshot import RoomSnapshot

# Timeline rows the offline writer keeps at most (status and system events first).
MAX_TIMELINE_ROWS = 40
# A postmortem counts a first response within this many minutes as quick.
QUICK_RESPONSE_MINUTES = 15
# Messages quoted as hints of the root cause.
ROOT_CAUSE_HINTS = 3

# Talk messages quoted in the resolution process, at most.
MAX_PROCESS_QUOTES = 12
# Related knowledge passages listed in the resolution process, at most.
MAX_RELATED_PASSAGES = 3
# Older status and system events added to the timeline, at most.
MAX_OLDER_EVENTS = 10
# How long a quoted message may be, in characters: a timeline row, a process or root-cause quote, a first word.
CLIP_ROW, CLIP_QUOTE, CLIP_FIRST_SAID = 120, 160, 60

# Every sentence below is an English msgid; write_offline renders them under
# translation.override(language) and the zh_Hant catalogue holds the Chinese.


def _no_ai() -> str:
    return _("(This report was compiled automatically from the room's data; no AI was used.)")


def _duration(snapshot: RoomSnapshot) -> str:
    return duration_text(minutes_between(snapshot.room.created_at, snapshot.room.resolved_at or snapshot.collected_at))


def _clip(value: str, length: int = CLIP_ROW) -> str:
    value = " ".join(value.split())
    return value if len(value) <= length else value[: length - 1] + "…"


def _said(m) -> str:
    return said(m.sender, m.body) if m.sender else m.body


def _talk(snapshot: RoomSnapshot) -> list:
    return [m for m in snapshot.messages if m.kind == "text"]


def _category(room) -> str:
    return _(" (category: %(category)s)") % {"category": room.category} if room.category else ""


def _description(room) -> list[str]:
    return [_("Description: %(description)s") % {"description": room.description}] if room.description else []


# --- The incident report's sections ---------------------------------------------------------------


def _summary(snapshot: RoomSnapshot):
    room = snapshot.room
    resolved = _(" and resolved %(resolved)s") % {"resolved": local(room.resolved_at)} if room.resolved_at else ""
    files = _(" and %(count)s files") % {"count": len(snapshot.files)} if snapshot.files else ""
    summary = _(
        "\"%(title)s\" is a %(severity)s incident%(category)s, opened %(opened)s%(resolved)s, lasting %(duration)s. "
        "The room has %(members)s members, %(messages)s messages%(files)s."
    ) % {
        "title": room.title, "severity": room.severity.upper(), "category": _category(room),
        "opened": local(room.created_at), "resolved": resolved, "duration": _duration(snapshot),
        "members": len(snapshot.members), "messages": snapshot.total_messages, "files": files,
    }
    return "\n".join([_no_ai(), summary, *_description(room)])


def _timeline(snapshot: RoomSnapshot):
    """Every status and system event, talk spread evenly over what is left of the rows, older events first."""
    lines = snapshot.messages
    events = [m for m in lines if m.kind != "text"]
    talk = _talk(snapshot)
    budget = max(MAX_TIMELINE_ROWS - len(events), 0)
    if talk and budget:
        step = max(len(talk) / budget, 1)
        picked = {int(i * step) for i in range(min(budget, len(talk)))} | {len(talk) - 1}
        events += [talk[i] for i in sorted(picked)]
    older = snapshot.condensed.events if snapshot.condensed else []
    rows = sorted(older[-MAX_OLDER_EVENTS:] + events[-MAX_TIMELINE_ROWS:], key=lambda m: m.time)
    # Every row cites the message it came from.
    return [{"time": local(m.time), "event": _clip(_said(m)), "evidence": [m.id] if m.id is not None else []}
            for m in rows]


def _participants(snapshot: RoomSnapshot):
    first_said = {}
    for m in _talk(snapshot):
        if m.sender and m.sender not in first_said:
            first_said[m.sender] = m.body
    participants = []
    for member in snapshot.members:
        if member.message_count:
            contribution = pgettext("offline writer", "%(count)s messages") % {"count": member.message_count}
            if member.name in first_said:
                contribution += _("; first said: \"%(text)s\"") % {
                    "text": _clip(first_said[member.name], CLIP_FIRST_SAID)}
        else:
            contribution = _("did not post in the room")
        participants.append({"name": member.name, "role": member.role_label, "contribution": contribution})
    return participants


def _resolution_process(snapshot: RoomSnapshot):
    lines, talk = snapshot.messages, _talk(snapshot)
    parts = []
    if snapshot.condensed:
        c = snapshot.condensed
        parts.append(_("The older %(count)s messages (%(start)s to %(end)s) are summarised; %(events)s of them were "
                       "status or system events.") % {"count": c.message_count, "start": local(c.start),
                                                      "end": local(c.end), "events": len(c.events)})
    parts.append(_("The room recorded %(messages)s messages between %(start)s and %(end)s. The main entries:") % {
        "messages": snapshot.total_messages, "start": local(lines[0].time), "end": local(lines[-1].time)})
    step = max(len(talk) / MAX_PROCESS_QUOTES, 1)
    for i in sorted({int(i * step) for i in range(min(MAX_PROCESS_QUOTES, len(talk)))}):
        m = talk[i]
        parts.append(f"• {local(m.time, with_date=False)} {said(m.sender, _clip(m.body, CLIP_QUOTE))}")
    readable = [d.name for d in snapshot.documents if d.text]
    if readable:
        parts.append(_("Documents attached to the room: %(names)s.") % {"names": ", ".join(readable)})
    if snapshot.knowledge:
        # Found by search, not chosen by a person: offered as related reading, not as what was done.
        parts.append(_("Related knowledge found by search (not checked by the responders):"))
        parts += [f"• {passage_title(p)} {kb_mark(p)}" for p in snapshot.knowledge[:MAX_RELATED_PASSAGES]]
    return "\n".join(parts)


def _current_status(snapshot: RoomSnapshot):
    room = snapshot.room
    if room.resolved_at:
        return _("The incident was resolved %(resolved)s; status: %(status)s.") % {
            "resolved": local(room.resolved_at), "status": room.status_label}
    return _("The incident is still being worked (status: %(status)s); this report covers the record up to "
             "%(now)s.") % {"status": room.status_label, "now": local(snapshot.collected_at)}


def _final_resolution(snapshot: RoomSnapshot):
    room = snapshot.room
    if room.resolution_summary:
        return _("Resolution summary: %(summary)s") % {"summary": room.resolution_summary}
    if room.resolved_at:
        return _("The room recorded no resolution summary.")
    return _("The incident is not resolved yet; the final resolution is still open.")


# --- The postmortem's own sections (its timeline is the incident report's) ------------------------


def _impact(snapshot: RoomSnapshot):
    room = snapshot.room
    if room.resolved_at:
        until = _(" until it was resolved %(resolved)s") % {"resolved": local(room.resolved_at)}
    else:
        until = _(" and was still being worked at %(now)s") % {"now": local(snapshot.collected_at)}
    impact = _("\"%(title)s\" was a %(severity)s incident%(category)s from %(opened)s%(until)s; the impact lasted "
               "about %(duration)s.") % {
        "title": room.title, "severity": room.severity.upper(), "category": _category(room),
        "opened": local(room.created_at), "until": until, "duration": _duration(snapshot),
    }
    scope = _("The room's data does not record which users or systems were affected, or how many; the owner "
              "should add this.")
    return "\n".join([_no_ai(), impact, *_description(room), scope])


# A line in which the room states the root cause: "Root cause: …", "根因：…", "根本原因：…", "RCA: …".
STATED_CAUSE = re.compile(r"^\s*(?:root\s*cause|rca|根本原因|根因)\s*[:：]\s*(.+)$", re.IGNORECASE)


def stated_root_cause(snapshot: RoomSnapshot):
    """The last message line that states the root cause, with its message (None when no one stated it)."""
    for message in reversed(_talk(snapshot)):
        for text in message.body.splitlines():
            match = STATED_CAUSE.match(text)
            if match:
                return match.group(1).strip(), message
    return None


def _root_cause(snapshot: RoomSnapshot):
    room, talk = snapshot.room, _talk(snapshot)
    stated = stated_root_cause(snapshot)
    if stated is not None:
        cause, message = stated
        return "\n".join([_no_ai(), _("As stated in the room by %(who)s at %(time)s: %(cause)s") % {
            "who": message.sender or pgettext("offline writer", "system"), "time": local(message.time),
            "cause": cause}])
    parts = [_("The root cause cannot be determined from the room's data alone; the owner should confirm and add "
               "it. What the data offers as hints:")]
    if room.resolution_summary:
        parts.append(_("Resolution summary: \"%(summary)s\"") % {"summary": room.resolution_summary})
    if talk:
        parts.append(_("The last messages:"))
        parts += [f"• {local(m.time, with_date=False)} {_clip(_said(m), CLIP_QUOTE)}" for m in talk[-ROOT_CAUSE_HINTS:]]
    if len(parts) == 1:
        parts.append(_("The room has no resolution summary and no discussion to quote."))
    return "\n".join(parts)


def _observed(observations: list[str], nothing: str) -> str:
    intro = _("Factual observations from the room's data; no AI was used to judge them.")
    return "\n".join([intro, *(f"• {o}" for o in observations or [nothing])])


def _went_well(snapshot: RoomSnapshot):
    well, _badly = _observations(snapshot)
    return _observed(well, _("The data shows nothing that can be confirmed as having gone well."))


def _went_badly(snapshot: RoomSnapshot):
    _well, badly = _observations(snapshot)
    return _observed(badly, _("The data shows no problem that can be confirmed; the responders should add what "
                              "they saw."))


def _action_items(snapshot: RoomSnapshot):
    unassigned = pgettext("offline writer", "to be assigned")
    rows = [
        {"action": item.title + (pgettext("offline writer", " (done)") if item.status == "done" else ""),
         "owner": item.assignee or unassigned, "due": item.due_date or pgettext("offline writer", "not set")}
        for item in snapshot.action_items
    ]
    return rows or [{"action": _("Confirm the root cause and agree action items (the room recorded none)"),
                     "owner": unassigned, "due": pgettext("offline writer", "to be set")}]


def _first_response(snapshot: RoomSnapshot, well: list[str], badly: list[str]) -> None:
    """How soon someone other than the person who opened the room spoke (anyone's when only they spoke).

    A condensed timeline no longer says who spoke first, so it gives no first response.
    """
    if snapshot.condensed:
        return
    room, talk = snapshot.room, _talk(snapshot)
    first = next((m for m in talk if m.sender and m.sender != room.created_by), talk[0] if talk else None)
    if first is None:
        badly.append(_("The room has no discussion messages."))
        return
    minutes = minutes_between(room.created_at, first.time)
    values = {"minutes": minutes, "name": first.sender or pgettext("offline writer", "system"),
              "time": local(first.time)}
    if minutes <= QUICK_RESPONSE_MINUTES:
        well.append(_("The first response came %(minutes)s min after the room opened (%(name)s, %(time)s).") % values)
    else:
        badly.append(_("The first response came only %(minutes)s min after the room opened (%(name)s, %(time)s).")
                     % values)


def _observations(snapshot: RoomSnapshot) -> tuple[list[str], list[str]]:
    """Countable facts about the response, sorted into what went well and what went badly."""
    room = snapshot.room
    well: list[str] = []
    badly: list[str] = []
    _first_response(snapshot, well, badly)
    speakers = sum(1 for member in snapshot.members if member.message_count)
    if speakers >= 2 and speakers == len(snapshot.members):
        well.append(_("Every member of the room (%(count)s) took part in the discussion.") % {"count": speakers})
    elif speakers >= 2:
        well.append(_("%(count)s members took part in the discussion (of %(members)s in the room).") % {
            "count": speakers, "members": len(snapshot.members)})
    elif speakers == 1:
        badly.append(_("Only one member posted in the room; the work rested on one person."))
    # How long it lasted is the impact's business (and why there is a postmortem), not an improvement.
    end = room.resolved_at or snapshot.collected_at
    if room.resolved_at and (end - room.created_at).total_seconds() <= settings.POSTMORTEM_MIN_MINUTES * 60:
        well.append(_("The incident was resolved within %(duration)s.") % {"duration": _duration(snapshot)})
    if room.resolution_summary:
        well.append(_("A resolution summary was recorded at resolve."))
    elif room.resolved_at:
        badly.append(_("No resolution summary was recorded at resolve, so the fix is hard to trace later."))
    if snapshot.files:
        well.append(_("Files kept in the room as evidence: %(count)s (%(images)s of them images).") % {
            "count": len(snapshot.files), "images": sum(1 for f in snapshot.files if f.is_image)})
    else:
        badly.append(_("The room has no files or screenshots as evidence."))
    if snapshot.action_items:
        well.append(_("Action items recorded in the room: %(count)s (%(done)s done).") % {
            "count": len(snapshot.action_items), "done": sum(1 for i in snapshot.action_items if i.status == "done")})
    else:
        badly.append(_("No action items were recorded in the room."))
    return well, badly


# Each section key and its writer, in the order the sections are written.
WRITERS = {
    "summary": _summary,
    "timeline": _timeline,
    "participants": _participants,
    "resolution_process": _resolution_process,
    "current_status": _current_status,
    "final_resolution": _final_resolution,
    "impact": _impact,
    "root_cause": _root_cause,
    "went_well": _went_well,
    "went_badly": _went_badly,
    "action_items": _action_items,
}


def write_offline(snapshot: RoomSnapshot, language: str, keys: list[str] | None = None,
                  kind: str = "incident") -> dict:
    """The sections (``keys``, default all six of ``kind``), as the dict an AI writer would answer with."""
    keys = keys or section_keys_for(kind)
    with in_language(language):
        return {key: write(snapshot) for key, write in WRITERS.items() if key in keys}


class OfflineClient(LLMClient):
    name = "offline"

    def complete(self, request: LLMRequest) -> LLMResult:
        snapshot = RoomSnapshot.from_dict(request.snapshot)
        sections = write_offline(snapshot, request.language, request.sections or None)
        text = json.dumps(sections, ensure_ascii=False)
        return LLMResult(text=text, provider=self.name, raw=text)
