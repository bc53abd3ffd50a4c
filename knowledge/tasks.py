"""Thin Celery tasks of knowledge: ids in, the indexing work in knowledge/indexing.py."""

from celery import shared_task
from django.conf import settings

from knowledge import answering, indexing


@shared_task(name="knowledge.parse_document", bind=True, acks_late=True)
def parse_document(self, document_id: int) -> None:
    """Parse, chunk and embed one document; transient failures (storage, embeddings) are retried with backoff."""
    final = self.request.retries >= settings.KNOWLEDGE_PARSE_MAX_RETRIES
    try:
        indexing.document_index(document_id=document_id, final_attempt=final)
    except indexing.TransientError as exc:
        countdown = settings.KNOWLEDGE_PARSE_RETRY_BACKOFF_SECONDS * (2**self.request.retries)
        raise self.retry(exc=exc, countdown=countdown, max_retries=settings.KNOWLEDGE_PARSE_MAX_RETRIES) from exc


@shared_task(name="knowledge.answer_question", acks_late=True)
def answer_question(question_id: str) -> None:
    """Write the room assistant's answer to one question."""
    answering.question_answer(question_id=question_id)
