"""Test data builders, in one place. Plain functions with keyword arguments."""

import io
import itertools
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from incidents.models import IncidentRoom, MemberRole, Message, MessageKind, RoomFile, RoomMember

_counter = itertools.count(1)
PASSWORD = "correct horse battery"


def make_user(*, username=None, display_name="", staff=False, **fields):
    n = next(_counter)
    username = username or f"user{n}"
    user = get_user_model().objects.create_user(
        username=username, password=PASSWORD, display_name=display_name, is_staff=staff, **fields
    )
    return user


def make_room(*, title="資料庫連線逾時 DB timeouts", commander=None, created_at=None, **fields):
    room = IncidentRoom.objects.create(
        title=title, created_by=commander, created_at=created_at or timezone.now(), **fields
    )
    if commander is not None:
        RoomMember.objects.create(room=room, user=commander, role=MemberRole.COMMANDER)
    return room


def add_member(room, user, role=MemberRole.RESPONDER):
    return RoomMember.objects.create(room=room, user=user, role=role)


def add_messages(room, sender, count, *, start=None, step=timedelta(minutes=1), body="訊息 message {i}"):
    start = start or room.created_at
    return Message.objects.bulk_create(
        Message(room=room, sender=sender, kind=MessageKind.TEXT, body=body.format(i=i), created_at=start + step * i)
        for i in range(count)
    )


def png_bytes(width=64, height=48, color=(200, 30, 30)):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def add_image(room, user, *, name="screen.png", data=None):
    """An image uploaded the way people upload it (sniffed, thumbnailed, on the timeline)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from incidents.services import file_upload

    return file_upload(room=room, uploaded_by=user, uploaded=SimpleUploadedFile(name, data or png_bytes(), "image/png"))


def add_raw_file(room, user, *, name, data, content_type="application/octet-stream", width=None, height=None):
    """A stored file with whatever row values a test needs (e.g. a corrupt image)."""
    room_file = RoomFile(
        room=room, uploaded_by=user, original_name=name, content_type=content_type, size=len(data), width=width, height=height
    )
    room_file.file.save(name, ContentFile(data), save=False)
    room_file.save()
    return room_file
