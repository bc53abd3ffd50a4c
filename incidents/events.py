"""The live events a room's own changes send: the payload of each, declared once.

They are part of the WebSocket contract (docs/events.md); services publish them
after commit through ``realtime.events.publish_on_commit``.
"""

from incidents import timeline
from incidents.models import ActionItem, IncidentRoom, Message, RoomFile, RoomMember
from realtime.events import event


@event("message.created", "A message was posted, or Warroom wrote a system line on the timeline "
                          "(``texts``: the line in each site language).")
def message_created(message: Message) -> dict:
    payload = {
        "id": message.id,
        "kind": message.kind,
        "body": message.body,
        "sender": message.sender_id and {"id": message.sender_id, "name": str(message.sender)},
        "created_at": message.created_at,
    }
    if message.event:
        payload.update(event=message.event, texts=timeline.in_every_language(message.event, message.params or {}))
    return payload


@event("room.status", "The room's title, severity, category or status changed (resolved, reopened, archived).")
def room_status(room: IncidentRoom) -> dict:
    return {
        "room_id": room.id,
        "title": room.title,
        "status": room.status,
        "severity": room.severity,
        "category": room.category,
        "resolved_at": room.resolved_at,
        "resolution_summary": room.resolution_summary,
    }


@event("member.changed", "Someone joined, changed role or was removed (``removed`` is true).")
def member_changed(member: RoomMember, *, removed: bool = False) -> dict:
    return {
        "user_id": member.user_id,
        "name": str(member.user),
        "role": member.role,
        "role_label": member.get_role_display(),
        "removed": removed,
    }


@event("file.added", "A file or screenshot was attached to the room.")
def file_added(room_file: RoomFile) -> dict:
    return {
        "id": room_file.id,
        "name": room_file.original_name,
        "content_type": room_file.content_type,
        "size": room_file.size,
        "is_image": room_file.is_image,
        "width": room_file.width,
        "height": room_file.height,
        "uploaded_by": str(room_file.uploaded_by) if room_file.uploaded_by_id else None,
        "created_at": room_file.created_at,
    }


@event("action_item.changed", "An action item was added, edited or deleted (``deleted`` is true).")
def action_item_changed(item: ActionItem, *, deleted: bool = False) -> dict:
    payload = {
        "id": item.id,
        "title": item.title,
        "status": item.status,
        "assignee": item.assignee_id and {"id": item.assignee_id, "name": str(item.assignee)},
        "due_date": item.due_date,
        "source": item.source,
        "notes_version": item.notes_version and str(item.notes_version),
        "notes_step": item.notes_step,
    }
    if deleted:
        payload["deleted"] = True
    return payload
