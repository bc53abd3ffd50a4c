"""Stage 3 helpers: turn a report and its snapshot into the document model, images from storage.

Every word of the document is an English msgid (context "report") rendered under
``translation.override(report.language)``; the zh_Hant catalogue holds the Chinese.
"""

from __future__ import annotations

import io
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext, pgettext_lazy

from PIL import Image

from incidents.files import report_image_width_cm
from incidents.models import RoomFile
from incidents.report_images import file_prepare_report_image
from incidents.timing import minutes_between
from knowledge.models import DocumentKind
from reports import evidence
from reports.models import Report, ReportState
from reports.snapshot import RoomSnapshot
from reports.pipeline.docx_builder import MAX_IMAGE_BYTES, DocumentModel, ImageItem, human_size
from reports.prompts import SectionSet, duration_text, in_language, item_state, kb_mark, local, normalize_language, \
    passage_title, sections_for, zone_name

logger = logging.getLogger(__name__)

# The words the document builder puts in table headers and headings (DocumentModel.labels):
# the fields of the table sections (time, event, name, ...) and the fixed parts of the document.
DOCUMENT_LABELS = {
    "field": pgettext_lazy("report", "Field"),
    "value": pgettext_lazy("report", "Value"),
    "time": pgettext_lazy("report", "Time"),
    "event": pgettext_lazy("report", "Event"),
    "name": pgettext_lazy("report", "Name"),
    "role": pgettext_lazy("report", "Role"),
    "contribution": pgettext_lazy("report", "Contribution"),
    "action": pgettext_lazy("report", "Action"),
    "owner": pgettext_lazy("report", "Owner"),
    "attachments": pgettext_lazy("report", "Attachments and screenshots"),
    "figure": pgettext_lazy("report", "Figure"),
    "files": pgettext_lazy("report", "Other files"),
    "file": pgettext_lazy("report", "File"),
    "type": pgettext_lazy("report", "Type"),
    "size": pgettext_lazy("report", "Size"),
    "action_items": pgettext_lazy("report", "Action items"),
    "item": pgettext_lazy("report", "Item"),
    "assignee": pgettext_lazy("report", "Owner"),
    "due": pgettext_lazy("report", "Due"),
    "item_status": pgettext_lazy("report", "Status"),
    "references": pgettext_lazy("report", "References"),
    "reference": pgettext_lazy("report", "Mark"),
    "passage": pgettext_lazy("report", "Knowledge passage"),
    "document_kind": pgettext_lazy("report", "Kind"),
}
# Who wrote the sections, by provider.
WRITERS = {
    "offline": pgettext_lazy("report", "Offline writer (no AI used)"),
    "dify": pgettext_lazy("report", "DIFY AI"),
    "openai": pgettext_lazy("report", "AI (OpenAI-compatible)"),
    "offline-fallback": pgettext_lazy("report", "Offline writer (after the AI failed)"),
}
OFFLINE_PROVIDERS = ("offline", "offline-fallback")
NONE = "—"
# Images read from storage at once by the assemble stage.
IMAGE_READERS = 4


def labels_for(language: str) -> dict:
    """The document builder's labels in ``language`` (``image_problem`` is a ``str.format`` template)."""
    with in_language(language):
        labels = {key: str(value) for key, value in DOCUMENT_LABELS.items()}
        # docx_builder fills this one with str.format(name=..., problem=...).
        labels["source"] = pgettext("report", "Source")
        # docx_builder fills this one with str.format(number=..., caption=...).
        labels["figure_caption"] = pgettext("report", "Figure %(number)s: %(caption)s") \
            % {"number": "{number}", "caption": "{caption}"}
        labels["image_problem"] = pgettext("report", "(The image \"%(name)s\" could not be embedded: %(problem)s.)") \
            % {"name": "{name}", "problem": "{problem}"}
    return labels


def _title_head(kind: str) -> str:
    if kind == "postmortem":
        return pgettext("report title", "Postmortem")
    return pgettext("report title", "Incident report")


def report_title(*, kind: str, room_title: str, language: str) -> str:
    with in_language(language):
        return _("%(head)s: %(title)s") % {"head": _title_head(kind), "title": room_title}


def _duration(snapshot: RoomSnapshot) -> str:
    end = snapshot.room.resolved_at or snapshot.collected_at
    text = duration_text(minutes_between(snapshot.room.created_at, end))
    return text if snapshot.room.resolved_at else text + pgettext("report", " (ongoing)")


def _read(name: str) -> bytes:
    with default_storage.open(name, "rb") as handle:
        data = handle.read(MAX_IMAGE_BYTES + 1)
    return data


def _notes(report: Report, kind: SectionSet) -> dict:
    """The note under each section: why it failed, that the offline writer wrote it, why the AI did not."""
    content = report.content or {}
    sources = content.get("sources") or {}
    notes = dict(content.get("notes") or {})
    for key in kind.keys:
        if key in notes:
            notes[key] = pgettext("report", "(This section could not be written: %(error)s)") % {"error": notes[key]}
        elif sources.get(key) in OFFLINE_PROVIDERS and report.provider not in OFFLINE_PROVIDERS:
            notes[key] = pgettext("report", "(This section was written by the offline writer from the room's data, "
                                            "without AI.)")
    if report.provider == "offline-fallback" and report.fallback_reason:
        notes[kind.keys[0]] = pgettext(
            "report", "The AI could not write this report, so the offline writer did. Reason: %(reason)s"
        ) % {"reason": report.fallback_reason}
    return notes


def _metadata(report: Report, snapshot: RoomSnapshot) -> list[tuple[str, str]]:
    room = snapshot.room
    resolved = local(room.resolved_at) if room.resolved_at else pgettext("report", "Not resolved")
    writer = str(WRITERS[report.provider]) if report.provider in WRITERS else (report.provider or NONE)
    return [
        (pgettext("report", "Room"), room.title),
        (pgettext("report", "Severity"), room.severity.upper()),
        (pgettext("report", "Category"), room.category or NONE),
        (pgettext("report", "Status"), room.status_label),
        (pgettext("report", "Opened"), local(room.created_at)),
        (pgettext("report", "Resolved"), resolved),
        (pgettext("report", "Duration"), _duration(snapshot)),
        (pgettext("report", "Generated by"), report.requested_by.label if report.requested_by_id else NONE),
        (pgettext("report", "Generated at"), f"{local(timezone.now())} ({zone_name()})"),
        (pgettext("report", "Written by"), writer),
        *_alerts(snapshot),
        *_review(report),
    ]


def _alerts(snapshot: RoomSnapshot) -> list[tuple[str, str]]:
    """How many alerts the room had, and how many still fire (rooms fed by alerts)."""
    if not snapshot.alerts:
        return []
    firing = sum(1 for alert in snapshot.alerts if alert.status == "firing")
    deliveries = sum(alert.occurrences for alert in snapshot.alerts)
    return [(pgettext("report", "Alerts"), _("%(count)s alerts (%(deliveries)s deliveries), %(firing)s still firing") % {
        "count": len(snapshot.alerts), "deliveries": deliveries, "firing": firing})]


def _review(report: Report) -> list[tuple[str, str]]:
    """The version row, and the approval line of a finalized version."""
    rows = []
    if report.version:
        rows.append((pgettext("report", "Version"), str(report.version)))
    if report.state == ReportState.FINAL and report.approved_at:
        who = report.approved_by.label if report.approved_by_id else NONE
        rows.append((pgettext("report", "Approved by"), f"{who}, {local(report.approved_at)}"))
    return rows


def _report_images(report: Report, snapshot: RoomSnapshot) -> dict[str, str]:
    """Storage name of each image of the snapshot -> its report-ready copy (made now for one that has none)."""
    names = [f.storage_name for f in snapshot.files if f.is_image]
    if not names or report.room_id is None:
        return {}
    rows = RoomFile.objects.filter(room_id=report.room_id, file__in=names).values_list("id", "file", "report_image")
    ready = {}
    for file_id, name, prepared in rows:
        if not prepared:
            # Uploaded before report images existed, or the worker has not reached it yet:
            # made and stored now, so the next report and every edit reuse it.
            try:
                prepared = file_prepare_report_image(file_id=file_id)
            except Exception as exc:  # noqa: BLE001 - the original is embedded the slow way instead
                logger.warning("Could not prepare the report image of %s: %r", name, exc)
                prepared = ""
        if prepared:
            ready[name] = prepared
    return ready


def _files(report: Report, snapshot: RoomSnapshot) -> tuple[list[ImageItem], list[tuple[str, str, str]]]:
    """The images to embed (read from storage; a missing one keeps its caption and a problem) and the other files.

    Each image is its report-ready copy where there is one (read side by side: storage is a
    network round trip each), else the original, which the builder prepares.
    """
    images, others, wanted = [], [], []
    for f in snapshot.files:
        if not f.is_image:
            others.append((f.name, f.content_type or NONE, human_size(f.size)))
            continue
        caption = _("%(name)s (%(who)s, %(time)s)") % {"name": f.name, "who": f.uploaded_by,
                                                        "time": local(f.created_at)}
        wanted.append((f, caption))
    if not wanted:
        return images, others
    ready = _report_images(report, snapshot)

    def read(f):
        prepared = ready.get(f.storage_name)
        if prepared:
            try:
                data = _read(prepared)
                return data, report_image_width_cm(_pixel_width(data))
            except Exception as exc:  # noqa: BLE001 - fall back to the original
                logger.warning("Could not read the report image %s: %r", prepared, exc)
        return _read(f.storage_name), None

    futures = [_readers().submit(read, f) for f, _caption in wanted]
    for (f, caption), future in zip(wanted, futures):
        try:
            data, width_cm = future.result()
        except FileNotFoundError:
            images.append(ImageItem(name=f.name, data=None, caption=caption,
                                    problem=pgettext("report", "file missing")))
            continue
        except Exception as exc:  # noqa: BLE001 - storage trouble costs an image, not the report
            logger.warning("Could not read %s for report %s: %r", f.storage_name, report.id, exc)
            images.append(ImageItem(name=f.name, data=None, caption=caption,
                                    problem=pgettext("report", "could not be read")))
            continue
        images.append(ImageItem(name=f.name, data=data, caption=caption, width_cm=width_cm))
    return images, others


_readers_lock = threading.Lock()
_reader_pool = None


def _readers() -> ThreadPoolExecutor:
    # Kept for the process's life: the S3 storage keeps a boto3 connection per thread, and
    # making one (a session and a resource) costs more than the read it is made for.
    global _reader_pool
    with _readers_lock:
        if _reader_pool is None:
            _reader_pool = ThreadPoolExecutor(IMAGE_READERS, thread_name_prefix="report-image-read")
        return _reader_pool


def _forget_readers_after_fork():
    # A forked child (Celery prefork) inherits the pool object but not its threads.
    global _reader_pool
    _reader_pool = None


os.register_at_fork(after_in_child=_forget_readers_after_fork)


def _pixel_width(data: bytes) -> int:
    """The width of a stored report image, from its header (nothing is decoded)."""
    with Image.open(io.BytesIO(data)) as image:
        return image.width


def _action_items(snapshot: RoomSnapshot, kind: SectionSet) -> list[tuple[str, str, str, str]]:
    # A postmortem's own action_items section is the room's action items (the writers are given them),
    # so the separate table is for the other kinds.
    if "action_items" in kind.keys:
        return []
    return [(item.title, item.assignee or NONE, item.due_date or NONE, item_state(item.status))
            for item in snapshot.action_items]


def _footer(kind: str, room_title: str) -> str:
    if kind == "postmortem":
        return pgettext("report footer", "Warroom postmortem · %(room)s") % {"room": room_title}
    return pgettext("report footer", "Warroom incident report · %(room)s") % {"room": room_title}


def document_model(report: Report, snapshot: RoomSnapshot) -> DocumentModel:
    language = normalize_language(report.language)
    kind = sections_for(report.kind)
    content = report.content or {}
    with in_language(language):
        images, others = _files(report, snapshot)
        sections, list_fields = evidence.for_document(content.get("sections") or {}, snapshot, kind.list_fields)
        return DocumentModel(
            title=report.title or report_title(kind=report.kind, room_title=snapshot.room.title, language=language),
            language=language, metadata=_metadata(report, snapshot),
            section_titles=kind.titles_in(language), list_fields=list_fields,
            sections=sections, sources=content.get("sources") or {},
            notes=_notes(report, kind), labels=labels_for(language), images=images, other_files=others,
            footer=_footer(report.kind, snapshot.room.title), action_items=_action_items(snapshot, kind),
            references=_references(content.get("sections") or {}, snapshot),
            author=report.requested_by.label if report.requested_by_id else "", subject=snapshot.room.title,
        )


def _references(sections: dict, snapshot: RoomSnapshot) -> list[tuple[str, str, str]]:
    """The knowledge passages the sections cite: mark, title (and the past incident's room), kind."""
    rows = []
    for passage in evidence.references(sections, snapshot):
        title = passage_title(passage) + (f" ({passage.room_title})" if passage.room_title else "")
        rows.append((kb_mark(passage), title, str(dict(DocumentKind.choices).get(passage.kind, passage.kind))))
    return rows


def staging_name(report: Report) -> str:
    return f"reports/{report.room_id}/staging/{report.id}.docx"


def font_settings() -> dict:
    return {"font_east_asia": settings.REPORT_FONT_EAST_ASIA, "font_windows": settings.REPORT_FONT_EAST_ASIA_WINDOWS}
