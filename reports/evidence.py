"""Evidence: every claim of a report points back to the room message it came from.

Writers cite messages by id: each timeline row carries ``evidence`` (a list of
message ids) and prose puts ``[m123]`` after the facts it states. Writers do
invent ids, so only the ids of the room's own messages are kept; a writer that
cites nothing still writes a valid report.
"""

from __future__ import annotations

import re

from django.utils.translation import pgettext

from reports.prompts import local
from reports.snapshot import MessageLine, RoomSnapshot

CITATION = re.compile(r"\[m(\d{1,18})\]")
# A source line quotes the message this much, at most.
QUOTE_CHARS = 80


def room_messages(snapshot: RoomSnapshot) -> dict[int, MessageLine]:
    """The messages a report may cite: the recent ones verbatim and the older events kept in brief."""
    older = snapshot.condensed.events if snapshot.condensed else []
    return {m.id: m for m in [*older, *snapshot.messages] if m.id is not None}


def _ids(value) -> list[int]:
    ids = []
    for item in value if isinstance(value, list) else [value]:
        text = str(item).strip().removeprefix("m") if isinstance(item, (int, str)) and not isinstance(item, bool) else ""
        if text.isascii() and text.isdigit() and int(text) not in ids:
            ids.append(int(text))
    return ids


def keep_known(sections: dict, known: set[int], list_fields: dict) -> dict:
    """``sections`` with every citation of an id outside ``known`` removed (rows keep a clean ``evidence`` list)."""
    kept = {}
    for key, value in sections.items():
        if key in list_fields and isinstance(value, list):
            kept[key] = [_clean_row(row, known) for row in value]
        elif isinstance(value, str):
            kept[key] = CITATION.sub(lambda m: m.group(0) if int(m.group(1)) in known else "", value).strip()
        else:
            kept[key] = value
    return kept


def _clean_row(row, known: set[int]):
    if not isinstance(row, dict):
        return row
    row = dict(row)
    cites = "evidence" in row
    found = _ids(row.get("evidence", []))
    for field, text in row.items():
        if field != "evidence" and isinstance(text, str) and CITATION.search(text):
            cites = True
            found += [int(i) for i in CITATION.findall(text) if int(i) not in found]
            row[field] = CITATION.sub("", text).strip()
    if cites:
        # Only rows that cite get the list (a writer that cites nothing writes plain rows).
        row["evidence"] = [i for i in found if i in known]
    return row


def cited(sections: dict) -> dict[str, list[int]]:
    """Per section, the message ids it cites (for integrations that check coverage)."""
    result = {}
    for key, value in sections.items():
        ids: list[int] = []
        if isinstance(value, list):
            for row in value:
                ids += [i for i in _ids((row or {}).get("evidence", [])) if i not in ids]
        elif isinstance(value, str):
            ids += [int(i) for i in dict.fromkeys(CITATION.findall(value))]
        result[key] = ids
    return result


def source_of(message: MessageLine | None) -> str:
    """The time and sender of a cited message, as the document shows it."""
    if message is None:
        return ""
    return f"{local(message.time)} {message.sender or pgettext('room data', 'system')}".strip()


def for_document(sections: dict, snapshot: RoomSnapshot, list_fields: dict) -> tuple[dict, dict]:
    """The sections as the .docx shows them (in the active language) and the table fields with ``source``.

    Timeline rows get a ``source`` column (the cited message's time and sender); prose keeps
    its ``[m123]`` marks and ends with a short list of the messages they refer to.
    """
    messages = room_messages(snapshot)
    shown, fields = {}, dict(list_fields)
    for key, value in sections.items():
        if key in list_fields and isinstance(value, list):
            if any(isinstance(row, dict) and row.get("evidence") for row in value):
                fields[key] = [*list_fields[key], "source"]
                value = [{**row, "source": "; ".join(filter(None, (source_of(messages.get(i))
                                                                   for i in _ids(row.get("evidence", [])))))}
                         for row in value]
            shown[key] = value
        elif isinstance(value, str):
            shown[key] = _with_sources(value, messages)
        else:
            shown[key] = value
    return shown, fields


def _with_sources(text: str, messages: dict[int, MessageLine]) -> str:
    ids = [int(i) for i in dict.fromkeys(CITATION.findall(text)) if int(i) in messages]
    if not ids:
        return text
    lines = [f"[m{i}] {source_of(messages[i])}: {messages[i].body.splitlines()[0][:QUOTE_CHARS]}" for i in ids]
    return "\n".join([text, "", pgettext("report", "Sources:"), *lines])
