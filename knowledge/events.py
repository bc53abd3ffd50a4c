"""The live events of knowledge: only documents that belong to a room are announced, to that room."""

from knowledge.models import KnowledgeDocument
from realtime.events import event


@event("knowledge.progress", "A document of the room (its incident report or postmortem) is being indexed, was indexed or failed.")
def knowledge_progress(document: KnowledgeDocument) -> dict:
    return {
        "document_id": document.id,
        "kind": document.kind,
        "status": document.status,
        "percent": document.progress,
        "chunk_count": document.chunk_count,
        "error_message": document.error_message,
    }


@event("assistant.delta", "A piece of the room assistant's answer being written (sent to the asker only).")
def assistant_delta(question, delta: str) -> dict:
    return {"question_id": question.id, "delta": delta}


@event("assistant.done", "The room assistant answered (sent to the asker only).")
def assistant_done(question) -> dict:
    return {
        "question_id": question.id, "status": question.status, "answer": question.answer,
        "citations": question.citations, "provider": question.provider, "error_message": question.error_message,
    }
