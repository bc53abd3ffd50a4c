"""The offline notes writer: four honest sections from the room data alone, in the active language."""

from __future__ import annotations

import re

from django.utils import timezone
from django.utils.translation import gettext as _

from reports.notes.prompt import NEXT_STEPS, PROBLEM, RESOLUTION, STEPS
from reports.snapshot import RoomSnapshot

# The steps shown: the first few and the last few messages of a long timeline.
FIRST_STEPS, LAST_STEPS = 3, 5
STEP_CHARS = 160
# A message line that names a next step: "next: …", "TODO: …", "後續：…", "待辦：…".
_NEXT_MARK = re.compile(r"^\s*(next(?: steps?)?|todo|follow[- ]?up|後續(?:步驟)?|待辦)\s*[:：]\s*(.+)$", re.IGNORECASE)


def offline_notes(snapshot: RoomSnapshot) -> str:
    """The notes in the active language (call it inside ``translation.override``)."""
    lines = [f"## {PROBLEM}", _summary(snapshot), "", f"## {STEPS}", *_steps(snapshot), ""]
    lines += [f"## {RESOLUTION}", snapshot.room.resolution_summary or _("(not given)"), ""]
    steps = room_next_steps(snapshot)
    lines += [f"## {NEXT_STEPS}", *([f"- {step}" for step in steps] or [_("(none recorded in the room)")]), ""]
    lines.append(_("(Written offline: no AI was used; this is compiled from the room's data.)"))
    return "\n".join(lines).strip()


def _summary(snapshot: RoomSnapshot) -> str:
    room = snapshot.room
    if not room.description:
        return room.title
    return _("%(title)s: %(description)s") % {"title": room.title, "description": room.description}


def _said(snapshot: RoomSnapshot) -> list:
    return [m for m in snapshot.messages if m.kind == "text" and m.body.strip()]


def _steps(snapshot: RoomSnapshot) -> list[str]:
    said = _said(snapshot)
    picked = said[:FIRST_STEPS] + said[-LAST_STEPS:] if len(said) > FIRST_STEPS + LAST_STEPS else said
    if not picked:
        return ["- " + _("(no written messages in the timeline)")]
    return [f"- {timezone.localtime(m.time).strftime('%H:%M')} {m.sender}: {m.body.splitlines()[0][:STEP_CHARS]}"
            for m in picked]


def room_next_steps(snapshot: RoomSnapshot) -> list[str]:
    """Next steps the room itself recorded: its open action items, then lines marked "next:" / "後續："."""
    steps = [item.title for item in snapshot.action_items if item.status == "open"]
    for message in _said(snapshot):
        for line in message.body.splitlines():
            match = _NEXT_MARK.match(line)
            if match and match.group(2).strip() not in steps:
                steps.append(match.group(2).strip()[:STEP_CHARS])
    return steps
