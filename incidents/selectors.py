"""Named reads of rooms, with their joins done once."""

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, prefetch_related_objects
from django.db.models.functions import Coalesce
from django.http import Http404

from accounts.models import User
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
    rooms = IncidentRoom.objects.select_related("created_by").defer(*User.columns_not_shown("created_by")).annotate(
        member_count=Coalesce(Subquery(members, output_field=IntegerField()), 0))
    return rooms_visible_to(user, rooms).order_by("-created_at", "id")


def room_visible_to(*, user, room_id) -> bool:
    return rooms_visible_to(user).filter(id=room_id).exists()


def room_visible_pairs(*, pairs) -> set[tuple[int, str]]:
    """Of ``pairs`` of (person, room id), the (person id, room id) where the person may see the room.

    The rule of ``rooms_visible_to`` for many people at once (a thousand sockets connecting
    together): one query for the operators' rooms, one for everyone else's memberships.
    """
    operators = {user.pk for user, _ in pairs if user_sees_all_rooms(user)}
    people = {user.pk for user, _ in pairs if user.is_authenticated and user.pk not in operators}
    room_ids = {room_id for _, room_id in pairs}
    allowed = set()
    if operators:
        existing = {str(pk) for pk in IncidentRoom.objects.filter(id__in=room_ids).values_list("id", flat=True)}
        allowed |= {(user.pk, room_id) for user, room_id in pairs if user.pk in operators and room_id in existing}
    if people:
        members = RoomMember.objects.filter(user_id__in=people, room_id__in=room_ids).values_list("user_id", "room_id")
        allowed |= {(user_id, str(room_id)) for user_id, room_id in members}
    return {(user.pk, room_id) for user, room_id in pairs} & allowed


def room_get_for_user(*, user, room_id) -> IncidentRoom | None:
    """The room if ``user`` may see it, else None (callers answer 404, never 403).

    The room carries the person's role in it, read in the same query (:func:`viewer_role`):
    the permission checks that follow in the request ask no further query.
    """
    rooms = rooms_visible_to(user).select_related("created_by")
    if user.is_authenticated:
        role = RoomMember.objects.filter(room=OuterRef("pk"), user=user).values("role")[:1]
        rooms = rooms.annotate(viewer_role_loaded=Subquery(role))
    room = rooms.filter(id=room_id).first()
    if room is not None and user.is_authenticated:
        room.viewer_role_of = (user.pk, room.viewer_role_loaded)
    return room


_NOT_LOADED = object()


def viewer_role(*, room, user):
    """``user``'s role in ``room`` (None when not a member): from the room's own query when it was
    loaded for that person by :func:`room_get_for_user`, otherwise one query."""
    loaded_for, role = getattr(room, "viewer_role_of", (None, _NOT_LOADED))
    if loaded_for == user.pk and role is not _NOT_LOADED:
        return role
    return RoomMember.objects.filter(room=room, user=user).values_list("role", flat=True).first()


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
    return (Message.objects.filter(room=room).select_related("sender").defer(*User.columns_not_shown("sender"))
            .order_by("created_at", "id"))


def room_message(*, room, message_id) -> Message | None:
    """One message of the room (None if it is not there): the anchor of a page before, after or around it."""
    return Message.objects.filter(room=room, id=message_id).only("id", "created_at").first()


# Pages of the timeline next to one message, in timeline order (created_at, then id). Each reads
# ``limit`` rows along the (room, created_at, id) index from the anchor, so that a page far back in a
# room of 100,000 messages costs what the first page does; one row more tells whether there is more.

def room_messages_before(*, room, anchor, limit: int) -> tuple[list[Message], bool]:
    """The ``limit`` messages just before ``anchor`` (oldest first), and whether older ones exist."""
    rows = list(
        room_timeline(room=room)
        .filter(created_at__lte=anchor.created_at).exclude(Q(created_at=anchor.created_at) & Q(id__gte=anchor.id))
        .order_by("-created_at", "-id")[: limit + 1]
    )
    return rows[:limit][::-1], len(rows) > limit


def room_messages_after(*, room, anchor, limit: int, inclusive: bool = False) -> tuple[list[Message], bool]:
    """The ``limit`` messages just after ``anchor`` (with it if ``inclusive``), and whether newer ones exist."""
    later = Q(created_at=anchor.created_at) & (Q(id__gte=anchor.id) if inclusive else Q(id__gt=anchor.id))
    rows = list(
        room_timeline(room=room)
        .filter(created_at__gte=anchor.created_at).filter(Q(created_at__gt=anchor.created_at) | later)[: limit + 1]
    )
    return rows[:limit], len(rows) > limit


def room_latest_messages(*, room, limit: int) -> tuple[list[Message], bool]:
    """The newest ``limit`` messages (oldest first), and whether older ones exist: what the room page shows."""
    rows = list(room_timeline(room=room).order_by("-created_at", "-id")[: limit + 1])
    return rows[:limit][::-1], len(rows) > limit


def room_with_members(*, room) -> IncidentRoom:
    """The room given (as the request just read or wrote it), with its members and their people
    loaded in one query; the room row itself is not read again."""
    room.__dict__.pop("member_list", None)
    prefetch_related_objects(
        [room],
        Prefetch("members", queryset=RoomMember.objects.select_related("user").order_by("joined_at", "id"), to_attr="member_list"),
    )
    return room


def room_files(*, room) -> QuerySet[RoomFile]:
    return RoomFile.objects.filter(room=room).select_related("uploaded_by").order_by("created_at")


def room_action_items(*, room) -> QuerySet[ActionItem]:
    return ActionItem.objects.filter(room=room).select_related("assignee").order_by("status", "created_at", "id")
