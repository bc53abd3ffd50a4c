"""The report-ready copy of an uploaded image, made once (incidents.tasks.prepare_report_image).

Its own module, not services.py, because services.py sends the task that calls it (as
knowledge/indexing.py is to knowledge/services.py): the task imports this, services the task.
"""

import logging

from django.conf import settings
from django.core.files.base import ContentFile

from incidents import files as file_checks
from incidents.models import RoomFile

logger = logging.getLogger(__name__)


def file_prepare_report_image(*, file_id) -> str:
    """Make and store the report-ready image of an uploaded image (once); returns its storage name.

    Runs in the worker after the upload, and in a report's assemble stage for a file the
    worker has not reached yet. An unreadable image stores nothing (the report says so)
    and returns "". Two runs at once both decode, but only one name is kept.
    """
    room_file = RoomFile.objects.filter(id=file_id).only("id", "room_id", "file", "report_image", "width").first()
    if room_file is None or not room_file.is_image:
        return ""
    if room_file.report_image:
        return room_file.report_image.name
    storage = room_file.file.storage
    try:
        with storage.open(room_file.file.name, "rb") as handle:
            data = handle.read(settings.ROOM_FILE_MAX_BYTES + 1)
    except FileNotFoundError:
        logger.warning("No report image for file %s: its upload is missing from storage", file_id)
        return ""
    try:
        prepared = file_checks.run_decode(file_checks.report_image, data)
    except ValueError as exc:
        logger.warning("No report image for file %s: %s", file_id, exc)
        return ""
    name = storage.save(f"rooms/{room_file.room_id}/files/{room_file.id}.report{prepared.suffix}",
                        ContentFile(prepared.data))
    if not RoomFile.objects.filter(id=file_id, report_image="").update(report_image=name):
        # Deleted meanwhile, or another run stored its copy first: keep that one.
        storage.delete(name)
        kept = RoomFile.objects.filter(id=file_id).values_list("report_image", flat=True).first()
        return kept or ""
    return name
