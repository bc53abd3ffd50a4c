"""Small helpers shared by the report tests."""

import io

from docx import Document
from docx.oxml.ns import qn

from reports.models import Report
from reports.pipeline.workflow import run_inline
from reports.services import report_request


def generate(room, user, capture, **kwargs) -> Report:
    """Request a report and run its chain (eagerly) when the request's transaction commits.

    An eager chain re-raises a failed task's error (a worker would not); the
    failure is already recorded on the report, which is what the tests check.
    """
    report = None
    try:
        with capture(execute=True):
            report, _ = report_request(room=room, requested_by=user, **kwargs)
    except Exception:  # noqa: BLE001, S110 - see above
        pass
    report = report or Report.objects.filter(room=room).order_by("-created_at").first()
    report.refresh_from_db()
    return report


def generate_inline(room, user, **kwargs) -> Report:
    from reports.services import report_create

    report, _ = report_create(room=room, requested_by=user, **kwargs)
    return run_inline(report.id)


def read_docx(report_or_bytes):
    if isinstance(report_or_bytes, (bytes, bytearray)):
        data = bytes(report_or_bytes)
    else:
        with report_or_bytes.document.open("rb") as handle:
            data = handle.read()
    return Document(io.BytesIO(data))


def headings(document) -> list[str]:
    return [p.text for p in document.paragraphs if p.style.name.startswith("Heading 1")]


def east_asia_fonts(document) -> set[str]:
    return {el.get(qn("w:eastAsia")) for el in document.element.body.iter(qn("w:rFonts"))} - {None}


def all_text(document) -> str:
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)
