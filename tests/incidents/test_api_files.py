import io
import struct
import zlib

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from incidents.models import RoomFile
from tests.factories import png_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]  # compares English wording


def upload(client, room, name, data, content_type="application/octet-stream"):
    return client.post(
        f"/api/rooms/{room.id}/files/", {"file": SimpleUploadedFile(name, data, content_type=content_type)}, format="multipart"
    )


def stored_names(room):
    try:
        return sorted(default_storage.listdir(f"rooms/{room.id}/files")[1])
    except FileNotFoundError:
        return []


def bomb_png(width=20000, height=20000):
    """A tiny PNG whose header promises 400 million pixels."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = zlib.compress(b"\x00" * (width // 8 + 1) * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def test_image_upload_stores_size_thumbnail_and_a_generated_path(as_user, room, member):
    client = as_user(member)
    response = upload(client, room, "螢幕截圖 screenshot.PNG", png_bytes(800, 600), "image/png")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "螢幕截圖 screenshot.PNG"
    assert (body["width"], body["height"], body["content_type"], body["is_image"]) == (800, 600, "image/png", True)
    room_file = RoomFile.objects.get()
    assert room_file.file.name == f"rooms/{room.id}/files/{room_file.id}.png"
    thumb = client.get(body["thumbnail_url"])
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/png"
    assert max(Image.open(io.BytesIO(b"".join(thumb.streaming_content))).size) <= 480
    assert room.messages.last().body == "螢幕截圖 screenshot.PNG uploaded by 王小明 Member Wang"


def test_an_image_upload_gets_its_report_ready_copy_from_the_worker(
    as_user, room, member, django_capture_on_commit_callbacks
):
    # Eager Celery in tests: the task sent after the upload's commit runs at once.
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(as_user(member), room, "wide.png", png_bytes(1600, 900), "image/png")
    assert response.status_code == 201, response.json()
    room_file = RoomFile.objects.get()
    assert room_file.report_image.name == f"rooms/{room.id}/files/{room_file.id}.report.png"
    with room_file.report_image.open("rb") as handle:
        image = Image.open(io.BytesIO(handle.read()))
    assert (image.format, image.size) == ("PNG", (885, 498))  # 15 cm at 150 dpi


def test_download_returns_the_bytes_with_the_original_name(as_user, room, member):
    client = as_user(member)
    data = "第一行 line one\n".encode()
    body = upload(client, room, "notes.log", data, "text/plain").json()
    response = client.get(body["download_url"])
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert "attachment" in response["Content-Disposition"] and "notes.log" in response["Content-Disposition"]


def test_type_comes_from_content_not_the_name(as_user, room, member):
    client = as_user(member)
    pdf = upload(client, room, "report.txt", b"%PDF-1.7\n...", "text/plain").json()
    assert pdf["content_type"] == "application/pdf"
    binary = upload(client, room, "capture.pcap", b"\xd4\xc3\xb2\xa1\x00\x00\xff\xfe", "application/vnd.tcpdump.pcap").json()
    assert binary["content_type"] == "application/octet-stream"


@pytest.mark.parametrize(
    "name, data, phrase",
    [
        ("fake.png", b"this is a text file pretending to be an image", "not a readable image"),
        ("cut.png", png_bytes(400, 300)[:200], "not a readable image"),
        ("bomb.png", bomb_png(), "too many pixels"),
        ("empty.txt", b"", "empty"),
    ],
)
def test_bad_files_get_a_clear_400_and_leave_nothing(as_user, room, member, name, data, phrase):
    response = upload(as_user(member), room, name, data)
    assert response.status_code == 400, response.content
    assert phrase in response.json()["error"]["message"]
    assert not RoomFile.objects.exists()
    assert stored_names(room) == []


def test_oversized_file_is_413_and_leaves_nothing(as_user, room, member, settings):
    settings.ROOM_FILE_MAX_BYTES = 10_000
    response = upload(as_user(member), room, "big.bin", b"x" * 20_000)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert not RoomFile.objects.exists() and stored_names(room) == []


def test_oversized_request_is_refused_before_reading_it(as_user, room, member, settings):
    settings.ROOM_FILE_MAX_BYTES = 1000
    big = b"x" * (1024 * 1024 + 5000)
    response = upload(as_user(member), room, "huge.bin", big)
    assert response.status_code == 413


def test_path_traversal_names_are_only_display_names(as_user, room, member):
    body = upload(as_user(member), room, "../../etc/passwd", b"root:x:0:0", "text/plain").json()
    assert body["name"] == "passwd"
    room_file = RoomFile.objects.get()
    assert room_file.file.name.startswith(f"rooms/{room.id}/files/") and ".." not in room_file.file.name


def test_failed_row_write_removes_the_stored_objects(as_user, room, member, monkeypatch):
    from incidents import services

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "_system_message", broken)
    with pytest.raises(RuntimeError):
        upload(as_user(member), room, "shot.png", png_bytes(), "image/png")
    assert not RoomFile.objects.exists()
    assert stored_names(room) == []
