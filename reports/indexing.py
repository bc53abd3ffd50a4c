"""A finished report (its latest version) goes into the knowledge base, so that other rooms find it.

Called after the commit that completes a report or saves a version; a failure here costs the
index entry, never the report (it is logged, and the next version indexes again).
"""

from __future__ import annotations

import logging

from django.db import transaction

from knowledge.services import index_report
from reports.models import Report, ReportKind
from reports.prompts import in_language, sections_for

logger = logging.getLogger(__name__)

INDEXED_KINDS = (ReportKind.INCIDENT, ReportKind.POSTMORTEM)


def report_text(report: Report) -> str:
    """The report as Markdown: each section under its title, table rows as lines."""
    kind = sections_for(report.kind)
    sections = (report.content or {}).get("sections") or {}
    parts = [f"# {report.title}"]
    with in_language(report.language):
        for key in kind.keys:
            value = sections.get(key)
            if not value:
                continue
            parts.append(f"## {kind.title(key, report.language)}")
            if isinstance(value, list):
                fields = kind.list_fields.get(key, [])
                parts += ["- " + " · ".join(str(row.get(f, "")) for f in fields if row.get(f)) for row in value
                          if isinstance(row, dict)]
            else:
                parts.append(str(value))
    if report.room and report.room.resolution_summary:
        parts += ["", report.room.resolution_summary]
    return "\n\n".join(parts)


def index_on_commit(report: Report) -> None:
    """After the commit, put the report's latest content into the knowledge base (room reports only)."""
    if report.kind not in INDEXED_KINDS or report.room_id is None:
        return
    report_id = report.id

    def index():
        fresh = Report.objects.select_related("room").filter(id=report_id).first()
        if fresh is None:
            return
        try:
            index_report(room=fresh.room, report_id=fresh.id, kind=fresh.kind, title=fresh.title,
                         text=report_text(fresh))
        except Exception:  # noqa: BLE001 - the report is done; only its knowledge entry is missing
            logger.exception("Could not index report %s into the knowledge base", report_id)

    transaction.on_commit(index)
