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
