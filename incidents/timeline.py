"""System lines of the timeline: stored as an event code with parameters, rendered in the reader's language.

A line such as "Alice joined as responder" is data (``member.joined`` with
``{"who": "Alice", "role": "responder"}``), not a sentence frozen in the site's
language: pages, the API (Accept-Language), live events and reports render it
in their reader's language. ``Message.body`` keeps the site-language text for
search and for rows written before lines had codes. Another app adds its own
lines with :func:`line` (reports: the postmortem decision).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from incidents.models import MemberRole, Severity
from incidents.timing import human_duration

LINES: dict[str, tuple] = {}


def line(code: str, template, **converters: Callable) -> str:
    """Declare the line ``code``: its template (a lazy translation) and how raw parameters are shown."""
    LINES[code] = (template, converters)
    return code


def _role(value) -> str:
    return str(MemberRole(value).label) if value in MemberRole.values else str(value)


def _severity(value) -> str:
    return str(Severity(value).label) if value in Severity.values else str(value)


def _category(value) -> str:
    return str(value) if value else str(_("(none)"))


def _minutes(value) -> str:
    return human_duration(timedelta(minutes=int(value or 0)))


OPENED = line("room.opened", _("%(who)s opened the room"))
SEVERITY = line("room.severity", _("%(who)s changed severity from %(old)s to %(new)s"), old=_severity, new=_severity)
CATEGORY = line("room.category", _("%(who)s changed category to %(new)s"), new=_category)
RENAMED = line("room.renamed", _("%(who)s renamed the room to “%(new)s”"))
RESOLVED = line("room.resolved", _("%(who)s resolved the room after %(duration)s"), duration=_minutes)
REOPENED = line("room.reopened", _("%(who)s reopened the room"))
ARCHIVED = line("room.archived", _("%(who)s archived the room"))
ROLE_CHANGED = line("member.role", _("%(who)s is now %(role)s (was %(old)s)"), role=_role, old=_role)
JOINED = line("member.joined", _("%(who)s joined as %(role)s"), role=_role)
LEFT = line("member.left", _("%(who)s left the room"))
UPLOADED = line("file.uploaded", _("%(name)s uploaded by %(who)s"))
MINUTES = _minutes  # for other apps' lines that show a duration


def render(event: str, params: dict, *, fallback: str = "") -> str:
    """The line in the active language; ``fallback`` (the stored text) for an unknown code or broken parameters."""
    if event not in LINES:
        return fallback
    template, converters = LINES[event]
    try:
        shown = {key: converters[key](value) if key in converters else value for key, value in params.items()}
        return str(template) % shown
    except (KeyError, TypeError, ValueError):
        return fallback


def text_of(message) -> str:
    """What a person reads for ``message`` in the active language (a person's message is their own words)."""
    return render(message.event, message.params or {}, fallback=message.body) if message.event else message.body


def in_every_language(event: str, params: dict) -> dict[str, str]:
    """The line in each site language (live events carry them all; each page shows its own)."""
    texts = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            texts[code] = render(event, params)
    return texts


def site_text(event: str, params: dict) -> str:
    """The line in the site's language: what ``Message.body`` keeps for search and old readers."""
    with translation.override(settings.LANGUAGE_CODE):
        return render(event, params)
