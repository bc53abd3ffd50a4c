"""Named reads of rooms, with their joins done once."""

from django.db.models import Count, IntegerField, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404

from incidents.models import ActionItem, IncidentRoom, Message, RoomFile, RoomMember


def user_sees_all_rooms(user) -> bool:
    """Operators (staff) see every room; everyone else sees the rooms they are in."""
    return bool(user.is_authenticated and (user.is_staff or user.is_superuser))


def rooms_visible_to(user, rooms: QuerySet[IncidentRoom] | None = None) -> QuerySet[IncidentRoom]:
    """Every room (of ``rooms``) ``user`` may see: all of them for operators, their own rooms for everyone else."""
    rooms = IncidentRoom.objects.all() if rooms is None else rooms
    if not user.is_authenticated:
        return rooms.none()
    if user_sees_all_rooms(user):
        return rooms
    return rooms.filter(members__user=user)


def room_list_for_user(*, user) -> QuerySet[IncidentRoom]:
    # A subquery per row of the page, not Count() over a join: with an aggregate the list's
    # pagination COUNT had to group every visible room with all its members; a subquery
    # annotation is left out of that COUNT, so it counts the visible rooms and nothing else.
    members = RoomMember.objects.filter(room=OuterRef("pk")).order_by().values("room").annotate(n=Count("*")).values("n")
    rooms = IncidentRoom.objects.select_related("created_by").annotate(
        member_count=Coalesce(Subquery(members, output_field=IntegerField()), 0))
    return rooms_visible_to(user, rooms).order_by("-created_at")


def room_visible_to(*, user, room_id) -> bool:
    return rooms_visible_to(user).filter(id=room_id).exists()


def room_get_for_user(*, user, room_id) -> IncidentRoom | None:
    """The room if ``user`` may see it, else None (callers answer 404, never 403)."""
    return rooms_visible_to(user).select_related("created_by").filter(id=room_id).first()


def room_for_user_or_404(*, user, room_id) -> IncidentRoom:
    """The room if ``user`` may see it; otherwise Http404, so a stranger cannot tell it exists."""
    room = room_get_for_user(user=user, room_id=room_id)
    if room is None:
        raise Http404
    return room


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
