"""Evidence: every claim of a report points back to the room message it came from.

Writers cite messages by id: each timeline row carries ``evidence`` (a list of
message ids) and prose puts ``[m123]`` after the facts it states. Related
knowledge passages (runbooks, past incidents) given in the room data are cited
``[kb:45]``. Writers do invent ids, so only the ids of the room's own messages
and of the passages they were given are kept; a writer that cites nothing still
writes a valid report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import pgettext

from reports.prompts import kb_mark, local, passage_title
from reports.snapshot import KnowledgePassage, MessageLine, RoomSnapshot

CITATION = re.compile(r"\[m(\d{1,18})\]")
KB_CITATION = re.compile(r"\[kb:(\d{1,18})\]")
# A source line quotes the message this much, at most.
QUOTE_CHARS = 80


def room_messages(snapshot: RoomSnapshot) -> dict[int, MessageLine]:
    """The messages a report may cite: the recent ones verbatim and the older events kept in brief."""
    older = snapshot.condensed.events if snapshot.condensed else []
    return {m.id: m for m in [*older, *snapshot.messages] if m.id is not None}


@dataclass(frozen=True)
class Citable:
    """What a report may cite: its room's messages and the knowledge passages its writer was given."""

    messages: frozenset[int]
    passages: frozenset[int] = frozenset()


def citable(snapshot: RoomSnapshot) -> Citable:
    return Citable(frozenset(room_messages(snapshot)), frozenset(p.id for p in snapshot.knowledge))


def keep_known_text(text: str, known: Citable) -> str:
    """``text`` with every citation outside ``known`` removed (``[m123]`` and ``[kb:45]``)."""
    return _keep_cites(text, known)


def _keep_cites(text: str, known: Citable) -> str:
    text = CITATION.sub(lambda m: m.group(0) if int(m.group(1)) in known.messages else "", text)
    return KB_CITATION.sub(lambda m: m.group(0) if int(m.group(1)) in known.passages else "", text).strip()


def _ids(value) -> list[int]:
    ids = []
    for item in value if isinstance(value, list) else [value]:
        text = str(item).strip().removeprefix("m") if isinstance(item, (int, str)) and not isinstance(item, bool) else ""
        if text.isascii() and text.isdigit() and int(text) not in ids:
            ids.append(int(text))
    return ids


def keep_known(sections: dict, known: Citable, list_fields: dict) -> dict:
    """``sections`` with every citation outside ``known`` removed (rows keep a clean ``evidence`` list)."""
    kept = {}
    for key, value in sections.items():
        if key in list_fields and isinstance(value, list):
            kept[key] = [_clean_row(row, known) for row in value]
        elif isinstance(value, str):
            kept[key] = _keep_cites(value, known)
        else:
            kept[key] = value
    return kept


def _clean_row(row, known: Citable):
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
        if isinstance(text, str) and KB_CITATION.search(text):
            row[field] = _keep_cites(row[field], known)
    if cites:
        # Only rows that cite get the list (a writer that cites nothing writes plain rows).
        row["evidence"] = [i for i in found if i in known.messages]
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


def cited_passages(sections: dict) -> list[int]:
    """The knowledge passages the sections cite, in the order they first appear."""
    ids: list[int] = []
    for text in _texts(sections):
        ids += [int(i) for i in KB_CITATION.findall(text) if int(i) not in ids]
    return ids


def _texts(sections: dict):
    """Every string of the sections: the prose, and each cell of the tables."""
    for value in sections.values():
        if isinstance(value, str):
            yield value
        elif isinstance(value, list):
            for row in value:
                if isinstance(row, dict):
                    yield from (text for text in row.values() if isinstance(text, str))


def references(sections: dict, snapshot: RoomSnapshot) -> list[KnowledgePassage]:
    """The passages the report cites, as its references list shows them."""
    passages = {p.id: p for p in snapshot.knowledge}
    return [passages[i] for i in cited_passages(sections) if i in passages]


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
            shown[key] = _with_sources(value, messages, {p.id: p for p in snapshot.knowledge})
        else:
            shown[key] = value
    return shown, fields


def _with_sources(text: str, messages: dict[int, MessageLine], passages: dict[int, KnowledgePassage]) -> str:
    ids = [int(i) for i in dict.fromkeys(CITATION.findall(text)) if int(i) in messages]
    kb = [int(i) for i in dict.fromkeys(KB_CITATION.findall(text)) if int(i) in passages]
    if not ids and not kb:
        return text
    lines = [f"[m{i}] {source_of(messages[i])}: {messages[i].body.splitlines()[0][:QUOTE_CHARS]}" for i in ids]
    lines += [f"{kb_mark(passages[i])} {passage_title(passages[i])}" for i in kb]
    return "\n".join([text, "", pgettext("report", "Sources:"), *lines])
