"""What a 👍/👎 is about, for the knowledge app's feedback API: report versions and ticket notes.

``settings.KNOWLEDGE_FEEDBACK_RESOLVERS`` names these functions (knowledge never imports reports).
Each takes the person and the id they sent and returns the output's room and the prompt version
that produced it, or None when the person cannot see it (the API answers 404).
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace

from incidents.selectors import rooms_visible_to
from reports.models import Report, ReportKind, ReportStatus, ReportVersion


def _as_int(value) -> int | None:
    text = str(value).strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else None


def _as_uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def report_version_target(*, user, target_id):
    """A version of an incident report or postmortem, by its id (``id`` in the versions list)."""
    version_id = _as_int(target_id)
    if version_id is None:
        return None
    version = (ReportVersion.objects.select_related("report__room")
               .filter(id=version_id, report__room__in=rooms_visible_to(user)).first())
    if version is None:
        return None
    return SimpleNamespace(room=version.report.room, prompt_version=(version.ledger or {}).get("prompt_version", ""))


def notes_target(*, user, target_id):
    """Written ticket notes, by the notes report's id."""
    report_id = _as_uuid(target_id)
    if report_id is None:
        return None
    notes = (Report.objects.select_related("room")
             .filter(id=report_id, kind=ReportKind.NOTES, status=ReportStatus.COMPLETED,
                     room__in=rooms_visible_to(user)).first())
    if notes is None:
        return None
    return SimpleNamespace(room=notes.room, prompt_version=(notes.ledger or {}).get("prompt_version", ""))
