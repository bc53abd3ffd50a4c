"""What the notes writer is asked for, and reading its next steps back."""

from __future__ import annotations

import hashlib
import re

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from reports.lifecycle import text_in

PROBLEM = _("Problem Summary")
STEPS = _("Steps Taken")
RESOLUTION = _("Resolution")
NEXT_STEPS = _("Next Steps")
HEADINGS = (PROBLEM, STEPS, RESOLUTION, NEXT_STEPS)

SYSTEM_PROMPT = _(
    "You are the on-call engineer writing ticket notes for an incident that was just resolved. Write in English, "
    "four sections in this order, each starting with '## Title': ## Problem Summary, ## Steps Taken, "
    "## Resolution, ## Next Steps. Use '- ' bullets for steps and next steps. Use only the incident data given; "
    "do not invent facts; be brief and concrete. Where a related knowledge passage of the data (marked like "
    "[kb:45]) supports a step, put its mark after the step."
)

def prompt_version(language: str) -> str:
    """A short hash of the notes' instructions in ``language``: which prompt wrote them (feedback, the ledger)."""
    return hashlib.sha256(text_in(language, SYSTEM_PROMPT).encode()).hexdigest()[:12]


_BULLET = re.compile(r"^([-*•]|\d+[.)])\s+")
MAX_STEP_CHARS = 300


def next_steps(text: str) -> list[str]:
    """The bullet lines under the Next Steps heading, in whichever report language the notes are written."""
    titles = {text_in(language, NEXT_STEPS).lower() for language, _name in settings.LANGUAGES}
    lines, inside = [], False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            inside = line.lstrip("#").strip().lower() in titles
            continue
        if inside and _BULLET.match(line):
            item = _BULLET.sub("", line).strip()
            if item:
                lines.append(item[:MAX_STEP_CHARS])
    return lines
