"""Indexing one document: read the stored file, parse it, cut it into chunks, embed them, save.

Run by ``knowledge.tasks.parse_document`` with the document's id only. Idempotent: the new
chunks replace the old ones in one transaction, so a redelivered task or a reparse never
leaves a document half-indexed; a document deleted meanwhile is left alone.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from knowledge import embeddings, events, parsing
from knowledge.models import DocumentStatus, KnowledgeChunk, KnowledgeDocument
from knowledge.text import search_text
from realtime.events import publish_on_commit

logger = logging.getLogger(__name__)


class TransientError(Exception):
    """A failure that trying again later may cure (storage or embeddings server unreachable)."""


def _set(document: KnowledgeDocument, **fields) -> None:
    for name, value in fields.items():
        setattr(document, name, value)
    KnowledgeDocument.objects.filter(pk=document.pk).update(**fields)
    if document.room_id:
        publish_on_commit(document.room_id, events.knowledge_progress(document))


def _fail(document, message, detail) -> None:
    logger.warning("Knowledge document %s failed: %s", document.pk, detail)
    _set(document, status=DocumentStatus.FAILED, progress=100, error_message=str(message)[:500], error_detail=detail)


def _read(document) -> bytes:
    try:
        with document.file.storage.open(document.file.name, "rb") as handle:
            return handle.read()
    except FileNotFoundError as exc:
        raise parsing.ParseError(_("The stored file is missing; upload the document again."), repr(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - S3, disk or network: any storage failure may pass
        raise TransientError(f"storage: {exc!r}") from exc


def _vectors(chunks, *, final_attempt) -> tuple[list[bytes] | None, str]:
    """Packed vectors of the chunks and a note for operators; lexical-only (None) when embeddings fail for good."""
    if not embeddings.enabled():
        return None, ""
    try:
        vectors = embeddings.embed([f"{c.heading}\n{c.text}".strip() for c in chunks])
    except embeddings.EmbeddingsError as exc:
        if exc.retryable and not final_attempt:
            raise TransientError(str(exc)) from exc
        # The document is still worth finding by its words: index it without vectors.
        return None, f"Indexed without vectors: {exc}"
    return [embeddings.pack(v) for v in vectors], ""


def document_index(*, document_id: int, final_attempt: bool = True) -> None:
    claimed = KnowledgeDocument.objects.filter(
        pk=document_id, status__in=[DocumentStatus.UPLOADED, DocumentStatus.PARSING],
    ).update(status=DocumentStatus.PARSING, progress=5)
    if not claimed:
        return  # deleted, or indexed/failed by an earlier delivery
    document = KnowledgeDocument.objects.get(pk=document_id)
    # The message for people is written in the site's language (the worker has none of its own).
    with translation.override(settings.LANGUAGE_CODE):
        try:
            _index(document, final_attempt=final_attempt)
        except parsing.ParseError as exc:
            _fail(document, exc.message, exc.detail)
        except TransientError as exc:
            if not final_attempt:
                raise
            _fail(document, _("The document could not be read from storage; try Reparse in a few minutes."), str(exc))


def _index(document, *, final_attempt) -> None:
    if document.room_id:
        publish_on_commit(document.room_id, events.knowledge_progress(document))
    data = _read(document)
    last = {"percent": 5}

    def on_page(number, total):
        # Pages are most of a long PDF's time: show it, a database write every 10 %.
        percent = 10 + int(50 * number / max(total, 1))
        if percent - last["percent"] >= 10:
            last["percent"] = percent
            _set(document, progress=percent)

    sections = parsing.sections_of(data, document.format, on_page=on_page)
    chunks = parsing.chunk_sections(sections)
    if not chunks:
        raise parsing.ParseError(_("No text was found in this document."), "no chunks")
    _set(document, progress=65)
    vectors, note = _vectors(chunks, final_attempt=final_attempt)
    with transaction.atomic():
        if not KnowledgeDocument.objects.select_for_update().filter(pk=document.pk).exists():
            return  # deleted while it was being parsed
        KnowledgeChunk.objects.filter(document_id=document.pk).delete()
        KnowledgeChunk.objects.bulk_create(
            [
                KnowledgeChunk(
                    document_id=document.pk, ordinal=number, heading=chunk.heading[:500], text=chunk.text,
                    search_text=search_text(f"{document.title}\n{chunk.heading}\n{chunk.text}" if number == 0
                                            else f"{chunk.heading}\n{chunk.text}"),
                    embedding=vectors[number] if vectors else None,
                )
                for number, chunk in enumerate(chunks)
            ],
            batch_size=500,
        )
        _set(
            document, status=DocumentStatus.INDEXED, progress=100, chunk_count=len(chunks), indexed_at=timezone.now(),
            embedding_model=embeddings.model_name() if vectors else "", error_message="", error_detail=note,
        )
