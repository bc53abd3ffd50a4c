"""Named reads of rooms, with their joins done once."""

from django.db.models import Count, Prefetch, Q, QuerySet

from incidents.models import ActionItem, IncidentRoom, Message, RoomFile, RoomMember


def user_sees_all_rooms(user) -> bool:
    """Operators (staff) see every room; everyone else sees the rooms they are in."""
    return bool(user.is_authenticated and (user.is_staff or user.is_superuser))


def room_list_for_user(*, user) -> QuerySet[IncidentRoom]:
    rooms = IncidentRoom.objects.select_related("created_by").annotate(
        member_count=Count("members", distinct=True)
    )
    if not user_sees_all_rooms(user):
        rooms = rooms.filter(Q(members__user=user))
    return rooms.order_by("-created_at")


def room_visible_to(*, user, room_id) -> bool:
    if not user.is_authenticated:
        return False
    rooms = IncidentRoom.objects.filter(id=room_id)
    if not user_sees_all_rooms(user):
        rooms = rooms.filter(members__user=user)
    return rooms.exists()


def room_get_for_user(*, user, room_id) -> IncidentRoom | None:
    """The room if ``user`` may see it, else None (callers answer 404, never 403)."""
    rooms = IncidentRoom.objects.select_related("created_by")
    if not user_sees_all_rooms(user):
        rooms = rooms.filter(members__user=user)
    return rooms.filter(id=room_id).first()


def room_membership(*, user, room) -> RoomMember | None:
    return RoomMember.objects.filter(room=room, user=user).first()


def room_members(*, room) -> QuerySet[RoomMember]:
    return RoomMember.objects.filter(room=room).select_related("user").order_by("joined_at", "id")


def room_timeline(*, room) -> QuerySet[Message]:
    return Message.objects.filter(room=room).select_related("sender").order_by("created_at", "id")


def room_with_members(*, room) -> IncidentRoom:
    """The room again, with its members and their people loaded in one extra query."""
    return (
        IncidentRoom.objects.select_related("created_by")
        .prefetch_related(
            Prefetch("members", queryset=RoomMember.objects.select_related("user").order_by("joined_at", "id"), to_attr="member_list")
        )
        .get(pk=room.pk)
    )


def room_files(*, room) -> QuerySet[RoomFile]:
    return RoomFile.objects.filter(room=room).select_related("uploaded_by").order_by("created_at")


def room_action_items(*, room) -> QuerySet[ActionItem]:
    return ActionItem.objects.filter(room=room).select_related("assignee").order_by("status", "created_at", "id")
