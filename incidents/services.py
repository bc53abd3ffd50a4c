"""Every write to a room. Each change that matters is also written to the timeline.

Services check who may do what, change the rows in one transaction, and send
live events (and the ``room_resolved`` signal) only after the commit.
"""

import logging
import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.errors import Conflict, PermissionDenied, ServiceError
from incidents import events, timeline
from incidents import files as file_checks
from incidents.models import (
    ActionItem,
    ActionItemStatus,
    IncidentRoom,
    MemberRole,
    Message,
    MessageKind,
    RoomFile,
    RoomMember,
    RoomStatus,
    Severity,
)
from incidents.selectors import user_sees_all_rooms, viewer_role
from incidents.signals import room_resolved
from incidents.text import clean_line, clean_text, safe_file_name
from incidents.timing import minutes_between
from realtime import access
from realtime.events import publish_on_commit

logger = logging.getLogger(__name__)

EDITABLE_FIELDS = ("title", "description", "severity", "category")


# --- Who may do what --------------------------------------------------------------


def can_manage(*, room, user) -> bool:
    """Commanders and operators resolve, reopen, archive and manage members."""
    if user_sees_all_rooms(user):
        return True
    return viewer_role(room=room, user=user) == MemberRole.COMMANDER


def can_contribute(*, room, user) -> bool:
    """Everyone in the room but observers posts messages and files."""
    if user_sees_all_rooms(user):
        return True
    return viewer_role(room=room, user=user) not in (None, MemberRole.OBSERVER)


def _require_manager(room, user):
    if not can_manage(room=room, user=user):
        raise PermissionDenied(_("Only the incident commander or an operator can do this."))


def _require_contributor(room, user):
    if not can_contribute(room=room, user=user):
        raise PermissionDenied(_("Observers can read the room but not write in it."))


def _require_open(room):
    # The stored status, not the caller's copy: another request may have archived it.
    if IncidentRoom.objects.filter(pk=room.pk, status=RoomStatus.ARCHIVED).exists():
        raise Conflict(_("This room is archived; reopen it first."))


def require_can_start_work(*, room, user) -> None:
    """Starting AI work (a report, ticket notes) is for responders, commanders and operators, in an open room."""
    if not can_contribute(room=room, user=user):
        raise PermissionDenied(_("Observers can read the room but not start reports or notes."))
    _require_open(room)


# --- The timeline's own lines ---------------------------------------------------------


def _system_message(room, event: str, params: dict, *, kind=MessageKind.SYSTEM) -> Message:
    """A timeline line stored as its code and parameters (incidents.timeline), sent live after commit."""
    params = {key: str(value) if not isinstance(value, (int, float)) else value for key, value in params.items()}
    message = Message.objects.create(room=room, kind=kind, event=event, params=params,
                                     body=timeline.site_text(event, params))
    publish_on_commit(room.id, events.message_created(message))
    return message


def room_note(*, room, event: str, params: dict) -> Message:
    """A system line on the timeline written by another app (the postmortem decision), sent live after commit.

    ``event`` is a line that app declared with ``incidents.timeline.line``.
    """
    return _system_message(room, event, params)


# --- Rooms ---------------------------------------------------------------------


def _validated_fields(fields: dict) -> dict:
    cleaned = {}
    for name, value in fields.items():
        if name not in EDITABLE_FIELDS or value is None:
            continue
        value = clean_text(str(value)) if name == "description" else clean_line(str(value))
        if name == "title" and not value:
            raise ServiceError(_("A room needs a title."), details={"title": [_("This field may not be blank.")]})
        if name == "title" and len(value) > 200:
            raise ServiceError(_("Titles are limited to 200 characters."), details={"title": [_("Too long.")]})
        if name == "severity" and value not in Severity.values:
            raise ServiceError(_("Unknown severity."), details={"severity": [_("Choose one of %s.") % ", ".join(Severity.values)]})
        if name == "category" and len(value) > 100:
            raise ServiceError(_("Categories are limited to 100 characters."), details={"category": [_("Too long.")]})
        cleaned[name] = value
    return cleaned


@transaction.atomic
def room_create(*, created_by, title, description="", severity=Severity.SEV3, category="") -> IncidentRoom:
    fields = _validated_fields(
        {"title": title, "description": description, "severity": severity or Severity.SEV3, "category": category}
    )
    room = IncidentRoom.objects.create(created_by=created_by, **fields)
    RoomMember.objects.create(room=room, user=created_by, role=MemberRole.COMMANDER)
    _system_message(room, timeline.OPENED, {"who": created_by})
    return room


@transaction.atomic
def room_update(*, room, by, **changes) -> IncidentRoom:
    _require_contributor(room, by)
    _require_open(room)
    room = IncidentRoom.objects.select_for_update().get(pk=room.pk)
    fields = _validated_fields(changes)
    changed = {name: value for name, value in fields.items() if getattr(room, name) != value}
    if not changed:
        return room
    for name, value in changed.items():
        before = getattr(room, name)
        setattr(room, name, value)
        if name == "severity":
            _system_message(room, timeline.SEVERITY, {"who": by, "old": before, "new": value})
        elif name == "category":
            _system_message(room, timeline.CATEGORY, {"who": by, "new": value})
        elif name == "title":
            _system_message(room, timeline.RENAMED, {"who": by, "new": value})
    room.save(update_fields=[*changed, "updated_at"])
    publish_on_commit(room.id, events.room_status(room))
    return room


@transaction.atomic
def room_resolve(*, room, by, summary, notes="") -> IncidentRoom:
    """Mark the room resolved at once; ticket notes and postmortems follow elsewhere.

    Nothing slow happens here: the row changes, the timeline records it, and
    after the commit a ``room.status`` event and the ``room_resolved`` signal go out.
    """
    _require_manager(room, by)
    # The person who opened it comes with the locked row: the answer shows the room as resolved.
    room = IncidentRoom.objects.select_for_update(of=("self",)).select_related("created_by").get(pk=room.pk)
    if room.status != RoomStatus.ACTIVE:
        raise Conflict(_("Only an active room can be resolved; this one is %(status)s.") % {"status": room.get_status_display()})
    summary = clean_text(summary or "").strip()
    if not summary:
        raise ServiceError(
            _("Write a short resolution summary."), details={"summary": [_("This field may not be blank.")]}
        )
    first_resolution = room.first_resolved_at is None
    room.status = RoomStatus.RESOLVED
    room.resolved_at = timezone.now()
    room.first_resolved_at = room.first_resolved_at or room.resolved_at
    room.resolution_summary = summary
    room.save(update_fields=["status", "resolved_at", "first_resolved_at", "resolution_summary", "updated_at"])
    _system_message(room, timeline.RESOLVED, {"who": by, "duration": minutes_between(room.created_at, room.resolved_at)},
                    kind=MessageKind.STATUS)
    notes = clean_text(notes or "").strip()
    if notes:
        message = Message.objects.create(room=room, sender=by, kind=MessageKind.TEXT, body=notes)
        publish_on_commit(room.id, events.message_created(message))
    publish_on_commit(room.id, events.room_status(room))
    # The row as just saved (and locked until the commit) is what receivers get: no query again.
    transaction.on_commit(
        lambda: room_resolved.send(sender=IncidentRoom, room=room, resolved_by=by, first_resolution=first_resolution)
    )
    return room


@transaction.atomic
def room_reopen(*, room, by) -> IncidentRoom:
    _require_manager(room, by)
    room = IncidentRoom.objects.select_for_update().get(pk=room.pk)
    if room.status == RoomStatus.ACTIVE:
        raise Conflict(_("This room is already active."))
    room.status = RoomStatus.ACTIVE
    room.resolved_at = None
    room.save(update_fields=["status", "resolved_at", "updated_at"])
    _system_message(room, timeline.REOPENED, {"who": by}, kind=MessageKind.STATUS)
    publish_on_commit(room.id, events.room_status(room))
    return room


@transaction.atomic
def room_archive(*, room, by) -> IncidentRoom:
    _require_manager(room, by)
    room = IncidentRoom.objects.select_for_update().get(pk=room.pk)
    if room.status != RoomStatus.RESOLVED:
        raise Conflict(_("Resolve the room before archiving it."))
    room.status = RoomStatus.ARCHIVED
    room.save(update_fields=["status", "updated_at"])
    _system_message(room, timeline.ARCHIVED, {"who": by}, kind=MessageKind.STATUS)
    publish_on_commit(room.id, events.room_status(room))
    return room


# --- Members -------------------------------------------------------------------




def _require_another_commander(room, member, message):
    """One rule for removal and role changes: the last commander stays a commander."""
    if member.role != MemberRole.COMMANDER:
        return
    others = RoomMember.objects.select_for_update().filter(room=room, role=MemberRole.COMMANDER).exclude(pk=member.pk)
    if not others.exists():
        raise Conflict(message % {"who": member.user})


@transaction.atomic
def member_add(*, room, user, role, by) -> RoomMember:
    _require_manager(room, by)
    _require_open(room)
    if role not in MemberRole.values:
        raise ServiceError(_("Unknown role."), details={"role": [_("Choose one of %s.") % ", ".join(MemberRole.values)]})
    member = RoomMember.objects.select_for_update().filter(room=room, user=user).first()
    if member is not None:
        if member.role == role:
            return member
        _require_another_commander(room, member, _("A room needs a commander: name another one before changing the role of %(who)s."))
        old = member.role
        member.role = role
        member.save(update_fields=["role"])
        _system_message(room, timeline.ROLE_CHANGED, {"who": user, "role": member.role, "old": old})
    else:
        try:
            with transaction.atomic():
                member = RoomMember.objects.create(room=room, user=user, role=role)
        except IntegrityError:
            raise Conflict(_("%(who)s is already in the room.") % {"who": user}) from None
        _system_message(room, timeline.JOINED, {"who": user, "role": member.role})
    publish_on_commit(room.id, events.member_changed(member))
    return member


@transaction.atomic
def member_remove(*, room, user, by) -> None:
    _require_manager(room, by)
    _require_open(room)
    member = RoomMember.objects.filter(room=room, user=user).first()
    if member is None:
        raise ServiceError(_("%(who)s is not in the room.") % {"who": user}, code="not_member")
    _require_another_commander(room, member, _("A room needs a commander: name another one before removing %(who)s."))
    member.delete()
    # First, so that the removed person's sockets close before the next event is relayed.
    transaction.on_commit(lambda: access.recheck_room(room.id, user_id=user.pk))
    _system_message(room, timeline.LEFT, {"who": user})
    publish_on_commit(room.id, events.member_changed(member, removed=True))


# --- Messages and files -------------------------------------------------------------


@transaction.atomic
def message_post(*, room, sender, body) -> Message:
    _require_contributor(room, sender)
    _require_open(room)
    body = clean_text(body or "").strip()
    if not body:
        raise ServiceError(_("A message cannot be empty."), details={"body": [_("This field may not be blank.")]})
    limit = settings.MESSAGE_MAX_CHARS
    if len(body) > limit:
        raise ServiceError(
            _("Messages are limited to %(limit)s characters; attach long logs as a file.") % {"limit": f"{limit:,}"},
            code="too_long",
            details={"body": [_("Too long.")]},
        )
    message = Message.objects.create(room=room, sender=sender, kind=MessageKind.TEXT, body=body)
    publish_on_commit(room.id, events.message_created(message))
    return message




def file_upload(*, room, uploaded_by, uploaded) -> RoomFile:
    """Store an upload under a generated name; on any failure nothing remains.

    The objects are written to storage before the row (storage is not
    transactional), and deleted again if anything after that fails.
    """
    _require_contributor(room, uploaded_by)
    _require_open(room)
    display_name = safe_file_name(getattr(uploaded, "name", "") or "file")
    sniffed = file_checks.sniff(uploaded, display_name)
    room_file = RoomFile(
        id=uuid.uuid4(),
        room=room,
        uploaded_by=uploaded_by,
        original_name=display_name,
        content_type=sniffed.content_type,
        size=uploaded.size,
        width=sniffed.width,
        height=sniffed.height,
    )
    saved = []
    try:
        uploaded.seek(0)
        room_file.file.save(f"upload{sniffed.suffix}", uploaded, save=False)
        saved.append(room_file.file.name)
        if sniffed.is_image:
            thumb = file_checks.thumbnail_png(uploaded, display_name)
            thumb_name = f"rooms/{room.id}/files/{room_file.id}.thumb.png"
            room_file.thumbnail.name = room_file.thumbnail.storage.save(thumb_name, ContentFile(thumb))
            saved.append(room_file.thumbnail.name)
        with transaction.atomic():
            room_file.save(force_insert=True)
            _system_message(room, timeline.UPLOADED, {"name": display_name, "who": uploaded_by})
            publish_on_commit(room.id, events.file_added(room_file))
            if sniffed.is_image:
                transaction.on_commit(lambda: _send_prepare_report_image(room_file.id))
    except BaseException:
        for name in saved:
            room_file.file.storage.delete(name)
        raise
    return room_file


def _send_prepare_report_image(file_id) -> None:
    from incidents import tasks

    try:
        tasks.prepare_report_image.delay(str(file_id))
    except Exception as exc:  # noqa: BLE001 - the upload stands; a report prepares the image itself
        logger.warning("Could not queue the report image of file %s: %r", file_id, exc)


# --- Action items ---------------------------------------------------------------------




def _clean_item_title(title) -> str:
    title = clean_line(title or "")
    if not title:
        raise ServiceError(_("An action item needs a title."), details={"title": [_("This field may not be blank.")]})
    return title[:300]


def _assignee_in_room(room, assignee):
    if assignee is not None and not RoomMember.objects.filter(room=room, user=assignee).exists():
        # No name: the caller may not know this person, and an error must not tell them.
        raise ServiceError(
            _("That person is not a member of this room; add them first."), details={"assignee": [_("Not a member.")]}
        )


@transaction.atomic
def action_item_create(*, room, by, title, assignee=None, due_date=None, source=ActionItem.Source.MANUAL) -> ActionItem:
    _require_contributor(room, by)
    _require_open(room)
    title = _clean_item_title(title)
    _assignee_in_room(room, assignee)
    item = ActionItem.objects.create(
        room=room, title=title, assignee=assignee, due_date=due_date, source=source, created_by=by
    )
    publish_on_commit(room.id, events.action_item_changed(item))
    return item


def action_item_from_notes(*, room, by, title, notes_version, notes_step, assignee=None, due_date=None,
                           **_ignored) -> tuple[ActionItem, bool]:
    """The task of one next step of one notes version, made once: (item, created)."""
    _require_contributor(room, by)
    existing = ActionItem.objects.filter(room=room, notes_version=notes_version, notes_step=notes_step).first()
    if existing is not None:
        return existing, False
    title = _clean_item_title(title)
    _assignee_in_room(room, assignee)
    try:
        with transaction.atomic():
            item = ActionItem.objects.create(
                room=room, title=title, assignee=assignee, due_date=due_date, source=ActionItem.Source.NOTES,
                created_by=by, notes_version=notes_version, notes_step=notes_step,
            )
            publish_on_commit(room.id, events.action_item_changed(item))
    except IntegrityError:
        # Two clicks raced (two tabs, a double tap): the constraint kept one, and that one is the answer.
        return ActionItem.objects.get(room=room, notes_version=notes_version, notes_step=notes_step), False
    return item, True


@transaction.atomic
def action_item_update(*, item, by, **changes) -> ActionItem:
    _require_contributor(item.room, by)
    _require_open(item.room)
    fields = []
    if "title" in changes:
        item.title = _clean_item_title(changes["title"])
        fields.append("title")
    if "assignee" in changes:
        _assignee_in_room(item.room, changes["assignee"])
        item.assignee = changes["assignee"]
        fields.append("assignee")
    if "due_date" in changes:
        item.due_date = changes["due_date"]
        fields.append("due_date")
    if "status" in changes and changes["status"] != item.status:
        item.status = changes["status"]
        item.completed_at = timezone.now() if item.status == ActionItemStatus.DONE else None
        fields += ["status", "completed_at"]
    if fields:
        item.save(update_fields=fields)
        publish_on_commit(item.room_id, events.action_item_changed(item))
    return item


@transaction.atomic
def action_item_delete(*, item, by) -> None:
    _require_contributor(item.room, by)
    _require_open(item.room)
    deleted = events.action_item_changed(item, deleted=True)
    item.delete()
    publish_on_commit(item.room_id, deleted)
