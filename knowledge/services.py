"""Every write to the knowledge base: upload, reparse, delete, and indexing a room's report.

Parsing never runs in the request: the row is saved as ``uploaded`` and, after the
commit, ``knowledge.tasks.parse_document`` does the work (knowledge/indexing.py).
"""

import logging

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from config.errors import PermissionDenied, ServiceError
from incidents.services import can_contribute
from incidents.text import clean_line, clean_text, safe_file_name
from knowledge import parsing, selectors, tasks
from knowledge.models import (
    REPORT_KINDS,
    AssistantQuestion,
    DocumentFormat,
    DocumentKind,
    DocumentStatus,
    Feedback,
    KnowledgeDocument,
)

logger = logging.getLogger(__name__)

SUFFIXES = {
    DocumentFormat.MARKDOWN: ".md", DocumentFormat.TEXT: ".txt", DocumentFormat.PDF: ".pdf",
    DocumentFormat.DOCX: ".docx", DocumentFormat.HTML: ".html",
}
MAX_TAGS = 20


class UnsupportedDocument(ServiceError):
    code = "unsupported_file"


def _enqueue_parse(document_id: int) -> None:
    transaction.on_commit(lambda: tasks.parse_document.delay(document_id))


def _clean_tags(tags) -> list[str]:
    out = []
    for tag in tags or []:
        tag = clean_line(str(tag))[:50]
        if tag and tag not in out:
            out.append(tag)
    return out[:MAX_TAGS]


def _read_upload(uploaded) -> bytes:
    limit = settings.KNOWLEDGE_MAX_FILE_BYTES
    if uploaded.size is not None and uploaded.size > limit:
        raise ServiceError(
            _("The file is larger than %(limit)d MB.") % {"limit": limit // (1024 * 1024)}, code="too_large",
        )
    uploaded.seek(0)
    data = uploaded.read(limit + 1)
    if len(data) > limit:
        raise ServiceError(_("The file is larger than %(limit)d MB.") % {"limit": limit // (1024 * 1024)}, code="too_large")
    if not data.strip():
        raise UnsupportedDocument(_("The file is empty."))
    return data


def document_upload(*, uploaded_by, uploaded, kind=DocumentKind.RUNBOOK, title="", tags=(), room=None) -> KnowledgeDocument:
    """Store an uploaded runbook or reference and queue its parsing."""
    if not selectors.user_may_upload(user=uploaded_by, room=room):
        raise PermissionDenied(_("Only operators and incident commanders can add documents."))
    if kind in REPORT_KINDS:
        raise ServiceError(
            _("Incident reports and postmortems are indexed by Warroom from the room's report; upload runbooks or references."),
            details={"kind": [_("Choose runbook or reference.")]},
        )
    data = _read_upload(uploaded)
    try:
        file_format = parsing.sniff(data)
    except parsing.UnsupportedFile:
        raise UnsupportedDocument(
            _("Warroom reads Markdown, plain text, PDF, Word (.docx) and HTML files; this file is none of them."),
        ) from None
    name = safe_file_name(getattr(uploaded, "name", "") or "")
    title = clean_line(title)[:300] or name.rsplit(".", 1)[0][:300] or _("Untitled document")
    with transaction.atomic():
        document = KnowledgeDocument(
            title=title, kind=kind, tags=_clean_tags(tags), original_name=name, format=file_format, size=len(data),
            uploaded_by=uploaded_by, room=room,
        )
        document.file.save(f"upload{SUFFIXES[file_format]}", ContentFile(data), save=False)
        document.save()
        _enqueue_parse(document.id)
    return document


def document_reparse(*, document: KnowledgeDocument, by) -> KnowledgeDocument:
    """Parse the stored file again (after a fix of the parser, or a failure that has passed)."""
    if not selectors.user_may_change(user=by, document=document):
        raise PermissionDenied(_("Only operators and the person who uploaded a document can change it."))
    with transaction.atomic():
        KnowledgeDocument.objects.filter(pk=document.pk).update(
            status=DocumentStatus.UPLOADED, progress=0, error_message="", error_detail="",
        )
        _enqueue_parse(document.pk)
    document.refresh_from_db()
    return document


def _delete_file_on_commit(storage, name):
    def delete():
        try:
            storage.delete(name)
        except Exception:  # noqa: BLE001 - the row is gone; a stray file is only logged for operators
            logger.exception("Could not delete knowledge file %s", name)

    if name:
        transaction.on_commit(delete)


def document_delete(*, document: KnowledgeDocument, by) -> None:
    """Remove the document, its chunks and its stored file."""
    if not selectors.user_may_change(user=by, document=document):
        raise PermissionDenied(_("Only operators and the person who uploaded a document can change it."))
    storage, name = document.file.storage, document.file.name
    with transaction.atomic():
        # The chunks go with the row (on delete cascade; SQLite's triggers empty the FTS table).
        document.delete()
        _delete_file_on_commit(storage, name)


def index_report(*, room, report_id, kind, title, text) -> KnowledgeDocument:
    """Create or replace the ``kind`` document of ``room`` from a finished report's text.

    ``kind`` is ``"incident_report"`` or ``"postmortem"`` (the report kinds ``"incident"`` and
    ``"postmortem"`` are accepted too). One document per room and kind: a newer version of
    the report replaces the older one's text, chunks and ``source_report_id``. The text is
    stored as a Markdown file (so it can be reparsed) and indexed by a worker after the commit.
    """
    kind = {"incident": DocumentKind.INCIDENT_REPORT}.get(kind, kind)
    if kind not in REPORT_KINDS:
        raise ValueError(f"index_report: kind must be one of {REPORT_KINDS}, not {kind!r}")
    data = (text or "").encode("utf-8")
    title = clean_line(title)[:300] or room.title[:300]
    for attempt in range(2):
        try:
            with transaction.atomic():
                document = KnowledgeDocument.objects.select_for_update().filter(room=room, kind=kind).first()
                old_name = ""
                if document is None:
                    document = KnowledgeDocument(room=room, kind=kind)
                else:
                    old_name = document.file.name
                document.title = title
                document.source_report_id = report_id
                document.format = DocumentFormat.MARKDOWN
                document.original_name = f"{kind}.md"
                document.size = len(data)
                document.status = DocumentStatus.UPLOADED
                document.progress = 0
                document.error_message = document.error_detail = ""
                document.uploaded_at = timezone.now()
                document.file.save("report.md", ContentFile(data), save=False)
                document.save()
                if old_name and old_name != document.file.name:
                    _delete_file_on_commit(document.file.storage, old_name)
                _enqueue_parse(document.id)
                return document
        except IntegrityError:
            # Two versions finished at once: the other created the row; replace its text now.
            if attempt:
                raise
    raise AssertionError("unreachable")


# --- The room assistant and feedback -------------------------------------------------------

QUESTION_MAX_CHARS = 2000


def question_ask(*, room, asked_by, question: str) -> AssistantQuestion:
    """Record a member's question and have a worker answer it (the request never waits for the answer)."""
    if not can_contribute(room=room, user=asked_by):
        raise PermissionDenied(_("Observers can read the assistant's answers but not ask."))
    question = clean_text(question).strip()
    if not question:
        raise ServiceError(_("Write a question first."), details={"question": [_("This field may not be blank.")]})
    if len(question) > QUESTION_MAX_CHARS:
        raise ServiceError(_("Questions are limited to %(limit)d characters.") % {"limit": QUESTION_MAX_CHARS})
    with transaction.atomic():
        asked = AssistantQuestion.objects.create(
            room=room, asked_by=asked_by, question=question, language=translation.get_language() or settings.LANGUAGE_CODE,
        )
        transaction.on_commit(lambda: tasks.answer_question.delay(str(asked.id)))
    return asked


def feedback_give(*, user, target, target_id, rating, comment="", room=None, prompt_version="") -> Feedback:
    """Record (or change) one person's 👍/👎 on one AI output."""
    with transaction.atomic():
        feedback, _created = Feedback.objects.update_or_create(
            target=target, target_id=str(target_id), user=user,
            defaults={"rating": rating, "comment": clean_text(comment or "")[:2000], "room": room, "prompt_version": prompt_version},
        )
    return feedback
