"""Rooms for the benchmarks, written in bulk (messages with bulk_create, images straight to S3)."""

from datetime import timedelta

from django.utils import timezone


def png(width=1600, height=900, seed=0):
    """A screenshot-like PNG (bands and noise compress like a real dashboard, not like a flat colour)."""
    import io
    import random

    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    image = Image.new("RGB", (width, height), (250, 250, 250))
    draw = ImageDraw.Draw(image)
    for y in range(0, height, 30):
        draw.rectangle([0, y, width, y + 14], fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    for _ in range(400):
        x, y = rng.randrange(width), rng.randrange(height)
        draw.line([x, y, x + rng.randrange(200), y + rng.randrange(40)], fill=(20, 20, 20), width=2)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def user(username, display_name="", staff=False):
    from tests.factories import make_user

    from accounts.models import User

    existing = User.objects.filter(username=username).first()
    return existing or make_user(username=username, display_name=display_name or username, staff=staff)


def room(stack, *, commander, title, messages=20, images=0, resolved=True, members=(), report_images=True):
    """A room written in bulk; its images get their report-ready copies as an upload's worker task makes them."""
    from incidents.report_images import file_prepare_report_image
    from incidents.models import IncidentRoom, MemberRole, Message, MessageKind, RoomFile, RoomMember

    opened = timezone.now() - timedelta(hours=3)
    room = IncidentRoom.objects.create(title=title, created_by=commander, created_at=opened, category="Network")
    RoomMember.objects.create(room=room, user=commander, role=MemberRole.COMMANDER)
    for member in members:
        RoomMember.objects.create(room=room, user=member, role=MemberRole.RESPONDER)
    Message.objects.bulk_create(
        Message(room=room, sender=commander, kind=MessageKind.TEXT,
                body=f"進度 {i}：檢查 edge-{i % 7} 的連線與佇列 status update", created_at=opened + timedelta(seconds=5 * i))
        for i in range(messages)
    )
    if images:
        s3 = stack.s3()
        data = stack.screenshot()
        for index in range(images):
            key = f"rooms/{room.id}/bench-{index}.png"
            s3.put_object(Bucket=stack.bucket, Key=key, Body=data)
            room_file = RoomFile.objects.create(room=room, uploaded_by=commander, file=key,
                                                original_name=f"dashboard-{index}.png", content_type="image/png",
                                                size=len(data), width=1600, height=900)
            if report_images:
                file_prepare_report_image(file_id=room_file.id)
    if resolved:
        room.status, room.resolved_at, room.resolution_summary = "resolved", timezone.now(), "bench"
        room.save(update_fields=["status", "resolved_at", "resolution_summary"])
    return room


def wait_reports_ended(report_ids, timeout=600):
    import time

    from reports.models import IN_FLIGHT_STATUSES, Report

    deadline = time.monotonic() + timeout
    while Report.objects.filter(id__in=report_ids, status__in=IN_FLIGHT_STATUSES).exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"reports still in flight after {timeout} s")
        time.sleep(0.02)
    return list(Report.objects.filter(id__in=report_ids))
