"""Named reads of knowledge documents.

The knowledge base is shared by everyone who can log in: a runbook, and what a past
incident taught, help in every room (docs/knowledge.md says so to operators).
"""

from django.db.models import QuerySet

from incidents.models import MemberRole, RoomMember
from incidents.selectors import user_sees_all_rooms
from knowledge.models import KnowledgeDocument


def document_list(*, kind: str = "", status: str = "") -> QuerySet[KnowledgeDocument]:
    documents = KnowledgeDocument.objects.select_related("uploaded_by", "room").order_by("-uploaded_at", "-id")
    if kind:
        documents = documents.filter(kind=kind)
    if status:
        documents = documents.filter(status=status)
    return documents


def document_get(*, document_id) -> KnowledgeDocument | None:
    return KnowledgeDocument.objects.select_related("uploaded_by", "room").filter(id=document_id).first()


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
