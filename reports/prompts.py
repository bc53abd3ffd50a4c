"""What the AI writers are told: the system prompt, the sections' JSON schema, and the room data.

Traditional Chinese is the default report language; English is available.
Every writer answers with one JSON object holding the six sections of the
report's kind (``sections_for(kind)``: the incident report's or the
postmortem's); the content stage extracts, validates and (once) repairs it.

All wording is English msgids marked for gettext; the zh_Hant catalogue
(``locale/zh_Hant/LC_MESSAGES/django.po``) holds the Traditional Chinese. Each
public function renders under ``translation.override(language)``: the report's
language decides what it says, never the language of whoever runs the pipeline.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext, pgettext_lazy

from incidents.models import ActionItemStatus, MemberRole
from reports.snapshot import RoomSnapshot

LANGUAGES = ("zh-hant", "en")

SECTION_KEYS = ["summary", "timeline", "participants", "resolution_process", "current_status", "final_resolution"]
LIST_SECTIONS = {"timeline": ["time", "event"], "participants": ["name", "role", "contribution"]}

SECTION_TITLES = {
    "summary": pgettext_lazy("report section", "Summary"),
    "timeline": pgettext_lazy("report section", "Timeline"),
    "participants": pgettext_lazy("report section", "Participants"),
    "resolution_process": pgettext_lazy("report section", "Resolution process"),
    "current_status": pgettext_lazy("report section", "Current status"),
    "final_resolution": pgettext_lazy("report section", "Final resolution"),
}

# Quiet stretches listed in the prompt, at most.
MAX_QUIET_STRETCHES = 50
# Characters of a rejected answer quoted back to the writer when asking for a repair.
MAX_REPAIR_QUOTE = 20000


def normalize_language(language: str | None) -> str:
    """Any language code or name as one of the two report languages ("zh-hant" unless it says English)."""
    value = (language or "").strip().lower().replace("_", "-")
    if value in ("en", "en-us", "en-gb", "english"):
        return "en"
    return "zh-hant"


def in_language(language: str | None):
    """``translation.override`` for the report language ``language`` (normalised)."""
    return translation.override(normalize_language(language))


def zone_name() -> str:
    """The configured time zone's name (settings.TIME_ZONE), as the reports stamp it."""
    return timezone.get_default_timezone_name()


def local(value, *, with_date=True) -> str:
    """A time in the configured time zone: "2026-03-05 14:30", or "14:30" without the date."""
    if value is None:
        return ""
    value = timezone.localtime(value, timezone.get_default_timezone())
    return value.strftime("%Y-%m-%d %H:%M") if with_date else value.strftime("%H:%M")


def duration_text(minutes: int) -> str:
    """A length of time as the reports write it ("1 h 5 min", "45 min"), in the active language."""
    if minutes >= 60:
        return _("%(hours)s h %(minutes)s min") % {"hours": minutes // 60, "minutes": minutes % 60}
    return _("%(minutes)s min") % {"minutes": minutes}


def said(sender: str, body: str) -> str:
    """ "sender: body" with the active language's colon."""
    return _("%(who)s: %(text)s") % {"who": sender, "text": body}


def section_title(key: str, language: str, kind: str = "incident") -> str:
    return sections_for(kind).title(key, language)


# Timeline rows also name the messages they come from (reports/evidence.py keeps the room's own).
CITED_SECTIONS = ("timeline",)
EVIDENCE_SCHEMA = {"type": "array", "items": {"type": "integer"}}


def _row(fields: list[str], *, cited: bool = False) -> dict:
    """The schema of one row of a table section (``cited``: with its ``evidence`` message ids)."""
    properties = {f: {"type": "string"} for f in fields}
    if cited:
        properties["evidence"] = EVIDENCE_SCHEMA
    return {"type": "object", "required": fields, "properties": properties}


def json_schema(keys: list[str] | None = None) -> dict:
    """The JSON schema of the answer (all six sections unless ``keys`` names fewer).

    Each property's description is its section title in the active language.
    """
    keys = keys or SECTION_KEYS

    properties = {key: {"type": "string", "description": str(SECTION_TITLES[key])} for key in SECTION_KEYS}
    for key, fields in LIST_SECTIONS.items():
        properties[key] = {"type": "array", "description": properties[key]["description"],
                           "items": _row(fields, cited=key in CITED_SECTIONS)}
    return {"type": "object", "required": list(keys), "properties": {k: properties[k] for k in keys},
            "additionalProperties": False}


def example_answer() -> dict:
    """A made-up answer in the active language, showing the writer the format."""
    return {
        "summary": _("From 14:30 on 5 March the mail gateway's outbound queue grew quickly and outbound mail was "
                     "delayed for about two hours; a wrong DNS resolver was the cause and it was fixed."),
        "timeline": [
            {"time": "14:30", "event": _("Alert: outbound queue above 5,000 messages")},
            {"time": "15:10", "event": _("DNS resolver fixed; the queue started to fall")},
        ],
        "participants": [
            {"name": _("Alice Chen"), "role": str(MemberRole.COMMANDER.label),
             "contribution": _("Coordinated the response and updates")},
            {"name": _("Bob Wang"), "role": str(MemberRole.RESPONDER.label),
             "contribution": _("Found the DNS fault and drained the queue")},
        ],
        "resolution_process": _("The batch sender was paused, the DNS fault found and fixed, and the queue drained."),
        "current_status": _("Service is back to normal; a queue-length alert was added."),
        "final_resolution": _("DNS fixed and queue drained; follow-up in change CHG-2291."),
    }


def system_prompt(language: str, keys: list[str] | None = None) -> str:
    keys = keys or SECTION_KEYS
    with in_language(language):
        example = {k: v for k, v in example_answer().items() if k in keys}
        return _(
            "You are a senior writer of security and operations incident reports. Write a formal incident report "
            "in English from the incident room data the user gives you.\n"
            "Rules:\n"
            "1. Use only the data given; never invent facts, names, numbers or times. Say so where the data is "
            "thin.\n"
            "2. Give times in %(zone)s as they appear in the data, like \"2026-03-05 14:30\" or \"14:30\".\n"
            "3. Answer with one JSON object only: no prose and no Markdown code fences.\n"
            "4. The JSON must match this JSON Schema:\n%(schema)s\n"
            "5. Example (format only; write the content from the real data):\n%(example)s\n"
        ) % {
            "zone": zone_name(),
            "schema": json.dumps(json_schema(keys), ensure_ascii=False, indent=1),
            "example": json.dumps(example, ensure_ascii=False, indent=1),
        }


def _room_fields(snapshot: RoomSnapshot) -> list[tuple[str, str]]:
    room = snapshot.room
    return [
        (pgettext("room data", "Title"), room.title),
        (pgettext("room data", "Description"), room.description),
        (pgettext("room data", "Severity"), room.severity.upper()),
        (pgettext("room data", "Category"), room.category),
        (pgettext("room data", "Status"), room.status_label),
        (pgettext("room data", "Opened"), local(room.created_at)),
        (pgettext("room data", "Resolved"), local(room.resolved_at)),
        (pgettext("room data", "Opened by"), room.created_by),
        (pgettext("room data", "Resolution summary"), room.resolution_summary),
        (pgettext("room data", "Messages in total"), str(snapshot.total_messages)),
    ]


def _messages(count) -> str:
    """ "12 messages", as the room data counts them."""
    return pgettext("room data", "%(count)s messages") % {"count": count}


def _heading(text: str) -> str:
    return f"## {text}"


def _room_lines(snapshot: RoomSnapshot) -> list[str]:
    none = pgettext("room data", "(none)")
    lines = [_heading(pgettext("room data", "Incident"))]
    lines += [f"- {label}: {value or none}" for label, value in _room_fields(snapshot)]
    lines += ["", _heading(pgettext("room data", "Members"))]
    lines += [f"- {member.name} ({member.role_label}), {_messages(member.message_count)}"
              for member in snapshot.members]
    return lines


def _condensed_lines(snapshot: RoomSnapshot) -> list[str]:
    older = snapshot.condensed
    if not older:
        return []
    head = pgettext("room data", "Older messages in brief")
    lines = ["", f"## {head} ({local(older.start)} – {local(older.end)}, {_messages(older.message_count)})"]
    lines += [f"- {name}: {_messages(count)}" for name, count in older.by_sender]
    lines += [f"- {_cite(event)}[{local(event.time)}] ({event.kind}) {event.body}" for event in older.events]
    if older.quiet_stretches:
        quiet = pgettext("room data", "Quiet stretches")
        lines.append(f"- {quiet}: " + "; ".join(
            f"{local(q.start)} – {local(q.end)}" for q in older.quiet_stretches[:MAX_QUIET_STRETCHES]))
    return lines


def _timeline_lines(snapshot: RoomSnapshot) -> list[str]:
    """The recent messages, the date written only when the day changes."""
    lines = ["", _heading(pgettext("room data", "Timeline"))]
    previous_day = None
    for message in snapshot.messages:
        day = local(message.time)[:10]
        stamp = local(message.time) if day != previous_day else local(message.time, with_date=False)
        previous_day = day
        who = message.sender or pgettext("room data", "system")
        tag = "" if message.kind == "text" else f" ({message.kind})"
        lines.append(f"{_cite(message)}[{stamp}] {who}{tag}: {message.body}")
    return lines


def _cite(message) -> str:
    """The mark a writer cites the message by: ``[m123] ``."""
    return f"[m{message.id}] " if message.id is not None else ""


def citation_rule() -> str:
    """What every system prompt adds about citations, in the active language."""
    return _(
        "Cite the room's messages: every message in the data starts with its id, like [m123]. Each timeline row "
        "lists the ids of the messages it comes from in \"evidence\" (numbers only, e.g. [123, 130]); prose "
        "sections put the mark, like [m123], right after the fact it supports. Cite only ids that appear in the "
        "data. Related knowledge passages start with their id, like [kb:45]: where one supports a statement (a "
        "runbook step that was followed, a past incident with the same cause), put its mark after the statement. "
        "They are background, not facts of this incident."
    )


def _alert_lines(snapshot: RoomSnapshot) -> list[str]:
    """The room's alerts: what fired, when, how often, and when it cleared."""
    if not snapshot.alerts:
        return []
    lines = ["", _heading(pgettext("room data", "Alerts"))]
    for alert in snapshot.alerts:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()))
        cleared = local(alert.resolved_at) if alert.resolved_at else pgettext("room data", "still firing")
        lines.append(_("- %(title)s (%(severity)s; %(labels)s): first %(first)s, last %(last)s, %(count)s times, "
                       "cleared %(cleared)s") % {
            "title": alert.title, "severity": alert.severity.upper(), "labels": labels,
            "first": local(alert.first_seen), "last": local(alert.last_seen), "count": alert.occurrences,
            "cleared": cleared})
    return lines


def _file_lines(snapshot: RoomSnapshot) -> list[str]:
    if not snapshot.files:
        return []
    lines = ["", _heading(pgettext("room data", "Files"))]
    image = pgettext("room data", "image")
    for f in snapshot.files:
        kind = f", {image}" if f.is_image else ""
        lines.append(f"- {f.name} ({f.content_type}, {f.size} bytes{kind}), {f.uploaded_by} {local(f.created_at)}")
    return lines


def _document_lines(snapshot: RoomSnapshot) -> list[str]:
    """The text of the room's document files, each under its name (marked when cut to the budget)."""
    if not snapshot.documents:
        return []
    lines = ["", _heading(pgettext("room data", "Documents attached to the room"))]
    for document in snapshot.documents:
        lines.append(f"### {document.name}")
        lines.append(document.text if document.text else f"({document.error or pgettext('room data', 'no text')})")
    return lines


def kb_mark(passage) -> str:
    """The mark a writer cites a knowledge passage by: ``[kb:45]``."""
    return f"[kb:{passage.id}]"


def passage_title(passage) -> str:
    """ "Runbook title › heading", as the prompt and the document's references name a passage."""
    if not passage.heading or passage.heading == passage.title:
        return passage.title
    # A heading path usually starts with the document's own title ("光模塊更換 › 步驟").
    return passage.heading if passage.heading.startswith(passage.title) else f"{passage.title} › {passage.heading}"


def _knowledge_lines(snapshot: RoomSnapshot) -> list[str]:
    """Related passages of the knowledge base (runbooks, past incidents), each starting with its ``[kb:ID]``."""
    if not snapshot.knowledge:
        return []
    lines = ["", _heading(pgettext("room data", "Related knowledge (runbooks, past incidents)"))]
    for passage in snapshot.knowledge:
        room = f" ({passage.room_title})" if passage.room_title else ""
        lines.append(f"- {kb_mark(passage)} {passage_title(passage)}{room}: {passage.text}")
    return lines


def format_room(snapshot: RoomSnapshot, language: str) -> str:
    """The room data as headed sections of plain text, in the report language's labels."""
    with in_language(language):
        return "\n".join(_room_lines(snapshot) + _condensed_lines(snapshot) + _alert_lines(snapshot)
                         + _timeline_lines(snapshot) + _file_lines(snapshot) + _document_lines(snapshot)
                         + _knowledge_lines(snapshot))


def item_state(status: str) -> str:
    """An action item's status as the model's choices name it, in the active language."""
    return str(dict(ActionItemStatus.choices).get(status, status))


def format_action_items(snapshot: RoomSnapshot, language: str) -> str:
    """The room's action items as a headed list ("" when it has none)."""
    if not snapshot.action_items:
        return ""
    with in_language(language):
        lines = [_heading(pgettext("room data", "Action items recorded in the room"))]
        for item in snapshot.action_items:
            lines.append("- " + _("%(title)s (owner: %(owner)s, due: %(due)s, %(state)s)") % {
                "title": item.title, "owner": item.assignee or pgettext("room data", "to be assigned"),
                "due": item.due_date or pgettext("room data", "not set"), "state": item_state(item.status)})
        return "\n".join(lines)


def user_prompt(snapshot: RoomSnapshot, language: str, keys: list[str] | None = None, kind: str = "incident") -> str:
    """The room data and the task. A kind that writes action items also gets the room's own action items."""
    sections = sections_for(kind)
    keys = keys or sections.keys
    room = format_room(snapshot, language)
    if "action_items" in sections.keys and snapshot.action_items:
        room += "\n\n" + format_action_items(snapshot, language)
    with in_language(language):
        names = ", ".join(f"{k} ({sections.title(k, language)})" for k in keys)
        if list(keys) == sections.keys:
            task = _("Write all six sections: %(keys)s.") % {"keys": names}
        else:
            task = _("Write only these sections: %(keys)s. The JSON object holds only these keys.") % {"keys": names}
        heading = _heading(pgettext("room data", "Task"))
        return f"{room}\n\n{heading}\n{task}"


def repair_prompt(answer: str, problems: list[str], language: str, keys: list[str]) -> str:
    with in_language(language):
        head = _("Your previous answer was not valid JSON for the schema. Problems:")
        tail = _("Answer again with one JSON object holding exactly these keys: %(keys)s. No prose, no fences.") % {
            "keys": ", ".join(keys)}
    return "\n".join([head, *[f"- {p}" for p in problems], "", "---", answer[:MAX_REPAIR_QUOTE], "---", tail])


# --- Postmortem (kind "postmortem"): its own sections and instructions -------------------------
# Every stage picks its sections by kind through sections_for(report.kind) (defined below).

POSTMORTEM_SECTION_KEYS = ["impact", "root_cause", "timeline", "went_well", "went_badly", "action_items"]
POSTMORTEM_SECTION_TITLES = {
    "impact": pgettext_lazy("report section", "Impact"),
    "root_cause": pgettext_lazy("report section", "Root cause"),
    "timeline": pgettext_lazy("report section", "Timeline"),
    "went_well": pgettext_lazy("report section", "What went well"),
    "went_badly": pgettext_lazy("report section", "What went badly"),
    "action_items": pgettext_lazy("report section", "Action items"),
}
POSTMORTEM_LIST_SECTIONS = {"timeline": ["time", "event"], "action_items": ["action", "owner", "due"]}


def postmortem_json_schema(keys: list[str] | None = None) -> dict:
    """The JSON schema of a postmortem answer (all six sections unless ``keys`` names fewer).

    Each property's description is its section title in the active language.
    """
    keys = keys or POSTMORTEM_SECTION_KEYS
    properties = {key: {"type": "string", "description": str(POSTMORTEM_SECTION_TITLES[key])}
                  for key in POSTMORTEM_SECTION_KEYS}
    for key, fields in POSTMORTEM_LIST_SECTIONS.items():
        properties[key] = {"type": "array", "items": _row(fields, cited=key in CITED_SECTIONS),
                           "description": properties[key]["description"]}
    return {"type": "object", "required": list(keys), "properties": {k: properties[k] for k in keys},
            "additionalProperties": False}


def postmortem_system_prompt(language: str, keys: list[str] | None = None) -> str:
    with in_language(language):
        return _(
            "You are a senior writer of operations postmortems. Write a blameless postmortem in English from the "
            "incident room data.\n"
            "Sections: impact (who and what was affected, how much, for how long), root cause (technical and "
            "process causes; where the data is thin, say what the conclusion rests on), timeline (the key "
            "moments), what went well, what went badly, and action items (each concrete and checkable, with an "
            "owner and a due date; write \"to be assigned\" where the data names none).\n"
            "Rules: use only the data given, never invent; times in %(zone)s; answer with one JSON object "
            "matching this JSON Schema, with no Markdown.\n%(schema)s\n"
        ) % {"zone": zone_name(), "schema": json.dumps(postmortem_json_schema(keys), ensure_ascii=False, indent=1)}


# --- What each kind of report is made of ---------------------------------------------------------


@dataclass(frozen=True)
class SectionSet:
    """The sections of one kind of report: keys in order, their titles (gettext), the fields of its tables."""

    kind: str
    keys: list[str]
    titles: dict[str, str]  # key -> lazy English msgid, rendered in a language by title()
    list_fields: dict[str, list[str]]
    prompt: Callable[[str, list[str] | None], str]  # (language, keys) -> the system prompt

    def title(self, key: str, language: str) -> str:
        with in_language(language):
            return str(self.titles[key])

    def titles_in(self, language: str) -> dict[str, str]:
        return {key: self.title(key, language) for key in self.keys}

    def system_prompt(self, language: str, keys: list[str] | None = None) -> str:
        """The kind's instructions and schema, then the rule for citing the room's messages."""
        with in_language(language):
            return f"{self.prompt(language, keys)}\n{citation_rule()}"

    def prompt_version(self, language: str, keys: list[str] | None = None) -> str:
        """A short hash of the system prompt and schema: which instructions wrote a version (the AI ledger)."""
        return hashlib.sha256(self.system_prompt(language, keys).encode()).hexdigest()[:12]


INCIDENT_SECTIONS = SectionSet("incident", SECTION_KEYS, SECTION_TITLES, LIST_SECTIONS, system_prompt)
POSTMORTEM_SECTIONS = SectionSet("postmortem", POSTMORTEM_SECTION_KEYS, POSTMORTEM_SECTION_TITLES,
                                 POSTMORTEM_LIST_SECTIONS, postmortem_system_prompt)


def sections_for(kind: str | None) -> SectionSet:
    """The sections a report of ``kind`` is written with (the incident report's for any other kind)."""
    return POSTMORTEM_SECTIONS if kind == "postmortem" else INCIDENT_SECTIONS


def section_keys_for(kind: str) -> list[str]:
    return sections_for(kind).keys
