"""The text of a room's document files (txt, log, csv, md, pdf, docx, html), within a budget, for the report writer.

The reports app's collect stage calls ``room_file_texts(room=...)`` so that a pasted log or an
attached vendor PDF reaches the report. Images are skipped; a file that cannot be read is
listed with the reason, so the writer (and the reader) know it was there.
"""

import logging
from dataclasses import dataclass

from django.utils.translation import gettext as _

from incidents.models import RoomFile
from incidents.selectors import room_files
from knowledge import parsing

logger = logging.getLogger(__name__)

DEFAULT_BUDGET_CHARS = 20_000
MAX_FILE_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class FileText:
    file_id: str
    name: str
    text: str
    truncated: bool = False
    error: str = ""

    @property
    def label(self) -> str:
        """The heading a prompt gives this file's share: its name, and whether it was cut."""
        return _("%(name)s (cut)") % {"name": self.name} if self.truncated else self.name


def _text_of(room_file: RoomFile) -> str:
    if room_file.size > MAX_FILE_BYTES:
        raise parsing.ParseError(_("The file is larger than %(limit)d MB.") % {"limit": MAX_FILE_BYTES // (1024 * 1024)})
    with room_file.file.storage.open(room_file.file.name, "rb") as handle:
        data = handle.read()
    try:
        file_format = parsing.sniff(data)
    except parsing.UnsupportedFile:
        raise parsing.ParseError(_("Not a document Warroom can read.")) from None
    sections = parsing.sections_of(data, file_format)
    parts = []
    for section in sections:
        if section.heading:
            parts.append(section.heading)
        parts.extend(section.paragraphs)
    return "\n\n".join(parts).strip()


def room_file_texts(*, room, budget: int = DEFAULT_BUDGET_CHARS) -> list[FileText]:
    """Each document file of the room with its text, oldest first, sharing ``budget`` characters.

    Every file gets an equal share of what is left; a file shorter than its share leaves the
    rest to the files after it. A cut file is marked ``truncated``.
    """
    files = [f for f in room_files(room=room) if not f.is_image]
    texts = []
    for room_file in files:
        try:
            texts.append((room_file, _text_of(room_file), ""))
        except parsing.ParseError as exc:
            texts.append((room_file, "", exc.message))
        except Exception as exc:  # noqa: BLE001 - one unreadable file must not cost the report
            logger.warning("Room file %s could not be read: %r", room_file.id, exc)
            texts.append((room_file, "", _("The file could not be read.")))
    out, left = [], budget
    for index, (room_file, text, error) in enumerate(texts):
        share = left // max(len(texts) - index, 1)
        cut = text[:share]
        left -= len(cut)
        out.append(FileText(file_id=str(room_file.id), name=room_file.original_name, text=cut,
                            truncated=len(cut) < len(text), error=error))
    return out
