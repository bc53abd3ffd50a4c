"""Named reads of knowledge documents.

The knowledge base is shared by everyone who can log in: a runbook, and what a past
incident taught, help in every room (docs/knowledge.md says so to operators).
"""

from django.db.models import Count, Q, QuerySet

from incidents.models import MemberRole, RoomMember
from incidents.selectors import user_sees_all_rooms
from knowledge.models import (
    AssistantQuestion,
    DocumentKind,
    DocumentStatus,
    Feedback,
    FeedbackRating,
    FeedbackTarget,
    KnowledgeChunk,
    KnowledgeDocument,
)


def document_list(*, kind: str = "", status: str = "") -> QuerySet[KnowledgeDocument]:
    documents = KnowledgeDocument.objects.select_related("uploaded_by", "room").order_by("-uploaded_at", "-id")
    if kind:
        documents = documents.filter(kind=kind)
    if status:
        documents = documents.filter(status=status)
    return documents


def document_get(*, document_id) -> KnowledgeDocument | None:
    return KnowledgeDocument.objects.select_related("uploaded_by", "room").filter(id=document_id).first()


def passage_get(*, chunk_id) -> KnowledgeChunk | None:
    """An indexed passage with its document (and the document's room), or None."""
    return (KnowledgeChunk.objects.select_related("document", "document__room")
            .filter(id=chunk_id, document__status=DocumentStatus.INDEXED).first())


def user_may_upload(*, user, room=None) -> bool:
    """Operators, and incident commanders (of ``room`` when one is named, else of any room)."""
    if not user.is_authenticated:
        return False
    if user_sees_all_rooms(user):
        return True
    memberships = RoomMember.objects.filter(user=user, role=MemberRole.COMMANDER)
    if room is not None:
        memberships = memberships.filter(room=room)
    return memberships.exists()


def user_may_change(*, user, document: KnowledgeDocument) -> bool:
    """Operators, and whoever uploaded the document, reparse or delete it."""
    return user_sees_all_rooms(user) or (document.uploaded_by_id is not None and document.uploaded_by_id == user.id)


def knowledge_kpis(*, start, end) -> dict:
    """The knowledge figures of [start, end) for the daily report (reports/kpis.py), JSON-ready.

    New documents by kind (uploaded in the period and not failed), the runbooks indexed in all,
    the assistant questions asked in the period, and the 👍 share of the feedback given on
    answers in it (None without any).
    """
    new = (
        KnowledgeDocument.objects.filter(uploaded_at__gte=start, uploaded_at__lt=end)
        .exclude(status=DocumentStatus.FAILED).values_list("kind").annotate(n=Count("id")).order_by("kind")
    )
    ratings = Feedback.objects.filter(target=FeedbackTarget.ANSWER, created_at__gte=start, created_at__lt=end).aggregate(
        up=Count("id", filter=Q(rating=FeedbackRating.UP)), total=Count("id"),
    )
    return {
        "new_by_kind": {kind: count for kind, count in new},
        "runbooks": KnowledgeDocument.objects.filter(kind=DocumentKind.RUNBOOK, status=DocumentStatus.INDEXED).count(),
        "questions": AssistantQuestion.objects.filter(created_at__gte=start, created_at__lt=end).count(),
        "answer_ratings": ratings["total"],
        "answer_up_share": round(ratings["up"] / ratings["total"], 4) if ratings["total"] else None,
    }


def feedback_quality(*, since) -> list[dict]:
    """👍 share per kind of AI output and prompt version, for the feedback given since ``since``."""
    rows = (
        Feedback.objects.filter(created_at__gte=since).values("target", "prompt_version")
        .annotate(up=Count("id", filter=Q(rating=FeedbackRating.UP)), total=Count("id"))
        .order_by("target", "-total", "prompt_version")
    )
    labels = dict(FeedbackTarget.choices)
    return [
        {"target": row["target"], "target_label": str(labels.get(row["target"], row["target"])),
         "prompt_version": row["prompt_version"], "up": row["up"], "down": row["total"] - row["up"],
         "total": row["total"], "up_share": round(row["up"] / row["total"], 4)}
        for row in rows
    ]
