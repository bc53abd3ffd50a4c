"""Deciding what an uploaded file really is, from its bytes, and making thumbnails.

Decoding is where memory goes: a 190 KB PNG of 7000 x 7000 RGBA pixels needs
196 MB once decoded, and eight at once took a web process to 2.8 GB. So an
upload is checked without decoding its pixels where the format allows
(``verify``), a JPEG is decoded at a reduced scale (``draft``), and the one full
decode left (the thumbnail) runs on one of ``IMAGE_DECODE_CONCURRENCY`` threads per
process (a small pool of decoding threads), and a large image with alpha is first
shrunk by sampling, without the premultiplied full-size copy Pillow's filtered resize
makes. The peak is then about threads x ``ROOM_IMAGE_MAX_PIXELS`` x 4 bytes over the
process's baseline; set the pixel limit from the memory budget.
"""

import io
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from config.errors import ServiceError

IMAGE_FORMATS = {
    "PNG": ("image/png", ".png"),
    "JPEG": ("image/jpeg", ".jpg"),
    "GIF": ("image/gif", ".gif"),
    "WEBP": ("image/webp", ".webp"),
    "BMP": ("image/bmp", ".bmp"),
}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp"}
THUMBNAIL_SIZE = (480, 320)


class FileTooLarge(ServiceError):
    status_code = 413
    code = "too_large"


class UnreadableFile(ServiceError):
    code = "invalid_file"


class DecoderBusy(ServiceError):
    status_code = 429
    code = "busy"


_pool_lock = threading.Lock()
_pool = None


def _decoder_pool() -> ThreadPoolExecutor:
    # Decodes run on these few threads only, not on every request thread: the memory
    # malloc keeps after a decode stays in their arenas and is reused by the next one.
    global _pool
    with _pool_lock:
        if _pool is None or _pool._max_workers != settings.IMAGE_DECODE_CONCURRENCY:
            _pool = ThreadPoolExecutor(settings.IMAGE_DECODE_CONCURRENCY, thread_name_prefix="image-decode")
        return _pool


def run_decode(function, *args):
    """Run ``function(*args)`` on one of the process's image-decoding threads and return its result."""
    future = _decoder_pool().submit(function, *args)
    try:
        return future.result(timeout=settings.IMAGE_DECODE_WAIT_SECONDS)
    except FutureTimeout:
        future.cancel()
        raise DecoderBusy(_("Too many images are being processed right now; try again in a moment.")) from None


@dataclass(frozen=True)
class Sniffed:
    content_type: str
    suffix: str
    width: int | None = None
    height: int | None = None

    @property
    def is_image(self):
        return self.width is not None


def _head(uploaded, size=8192) -> bytes:
    uploaded.seek(0)
    head = uploaded.read(size)
    uploaded.seek(0)
    return head


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        return exc.start >= len(head) - 3
    return True


def _sniff_image(uploaded, display_name) -> Sniffed:
    """Open with Pillow under the pixel limit; a bomb or broken image is refused."""
    max_pixels = settings.ROOM_IMAGE_MAX_PIXELS
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            uploaded.seek(0)
            with Image.open(uploaded) as image:
                image_format = image.format
                width, height = image.size
                if width * height > max_pixels:
                    raise Image.DecompressionBombError("too many pixels")
                if image_format == "JPEG":
                    # Decoded at 1/8 scale: a truncated file still fails, in a fraction of the memory.
                    image.draft("RGB", THUMBNAIL_SIZE)
                    run_decode(image.load)
                else:
                    # Checks the structure and checksums without a pixel buffer; the
                    # thumbnail (the one full decode) catches whatever verify cannot.
                    image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UnreadableFile(
            _("%(name)s has too many pixels to be opened safely.") % {"name": display_name}
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise UnreadableFile(
            _("%(name)s is not a readable image (it may be truncated or corrupt).") % {"name": display_name}
        ) from None
    finally:
        Image.MAX_IMAGE_PIXELS = previous
        uploaded.seek(0)
    if image_format not in IMAGE_FORMATS:
        raise UnreadableFile(_("%(name)s is an image format Warroom does not accept.") % {"name": display_name})
    content_type, suffix = IMAGE_FORMATS[image_format]
    return Sniffed(content_type, suffix, width, height)


def sniff(uploaded, display_name: str) -> Sniffed:
    """What the file is, decided from its content; the name only says what it claims."""
    if uploaded.size > settings.ROOM_FILE_MAX_BYTES:
        raise FileTooLarge(
            _("%(name)s is larger than the %(limit)d MB limit.")
            % {"name": display_name, "limit": settings.ROOM_FILE_MAX_BYTES // (1024 * 1024)}
        )
    if uploaded.size == 0:
        raise UnreadableFile(_("%(name)s is empty.") % {"name": display_name})
    head = _head(uploaded)
    claimed_suffix = ("." + display_name.rsplit(".", 1)[-1].lower()) if "." in display_name else ""
    is_image_signature = (
        head.startswith(b"\x89PNG\r\n\x1a\n")
        or head.startswith(b"\xff\xd8\xff")
        or head[:6] in (b"GIF87a", b"GIF89a")
        or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
        or head[:2] == b"BM"
    )
    if is_image_signature or claimed_suffix in IMAGE_SUFFIXES:
        return _sniff_image(uploaded, display_name)
    if head.startswith(b"%PDF-"):
        return Sniffed("application/pdf", ".pdf")
    if head.startswith(b"PK\x03\x04"):
        office = {".docx": ".docx", ".xlsx": ".xlsx", ".pptx": ".pptx"}
        suffix = office.get(claimed_suffix, ".zip")
        types = {
            ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            ".zip": "application/zip",
        }
        return Sniffed(types[suffix], suffix)
    if _looks_like_text(head):
        suffix = claimed_suffix if claimed_suffix in {".log", ".csv", ".json", ".md", ".yaml", ".yml"} else ".txt"
        return Sniffed("text/plain", suffix)
    return Sniffed("application/octet-stream", ".bin")


def thumbnail_png(uploaded, display_name="image") -> bytes:
    uploaded.seek(0)
    try:
        return run_decode(_thumbnail, uploaded)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        # A truncated file fails here, not later in a report.
        raise UnreadableFile(
            _("%(name)s is not a readable image (it may be truncated or corrupt).") % {"name": display_name}
        ) from None
    finally:
        uploaded.seek(0)


# Past this many pixels, an image with alpha is first shrunk by plain sampling.
_LARGE_ALPHA_PIXELS = 16_000_000


def _thumbnail(uploaded) -> bytes:
    with Image.open(uploaded) as image:
        image.draft("RGB", THUMBNAIL_SIZE)  # JPEG: decode at the smallest scale that still fits
        image.load()
        if image.mode in ("RGBA", "LA") and image.width * image.height > _LARGE_ALPHA_PIXELS:
            # Pillow resizes an image with alpha through a premultiplied copy of the whole
            # image (another 196 MB at 7000 x 7000); nearest-neighbour sampling needs none.
            # Down to four times the thumbnail, then the filtered resize below.
            factor = max(min(image.width // (THUMBNAIL_SIZE[0] * 4), image.height // (THUMBNAIL_SIZE[1] * 4)), 1)
            if factor > 1:
                image = image.resize((image.width // factor, image.height // factor), Image.Resampling.NEAREST)
        image.thumbnail(THUMBNAIL_SIZE)
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA")
        buffer = io.BytesIO()
        # Fast compression: thumbnails are small and made while the person waits.
        image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


# --- The report-ready image ------------------------------------------------------------
# Every report of a room embeds its images at most 15 cm wide at 150 dpi. Decoding,
# resizing and re-encoding a screenshot costs tens of milliseconds, so it is done once,
# in the worker after the upload commits (incidents.tasks.prepare_report_image), and the
# document builder embeds the stored result as it is.

REPORT_IMAGE_MAX_WIDTH_CM = 15.0
REPORT_IMAGE_DPI = 150
REPORT_IMAGE_MAX_PX = int(REPORT_IMAGE_MAX_WIDTH_CM / 2.54 * REPORT_IMAGE_DPI)  # 885
# Photographs stay JPEG (PNG would be several times larger); screenshots and anything with
# alpha are PNG at the fastest compression, which is 82% of the cost at the default level.
REPORT_IMAGE_JPEG_QUALITY = 85


@dataclass(frozen=True)
class ReportImage:
    data: bytes
    suffix: str  # ".png" or ".jpg"
    width: int
    height: int


def report_image(data: bytes) -> ReportImage:
    """``data`` scaled to at most 15 cm at 150 dpi, as fast PNG (or JPEG for a JPEG photo).

    Raises ValueError with a short reason when the image cannot be used.
    """
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
        image = Image.open(io.BytesIO(data))
        source_format = image.format
        if source_format == "JPEG":
            # Decoded at the smallest 1/2^n scale still at least the target width: far less to decode and resize.
            scale = image.width / REPORT_IMAGE_MAX_PX
            if scale >= 2:
                image.draft("RGB", (image.width // int(scale), image.height // int(scale)))
        image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise ValueError("unsupported or unreadable image") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValueError("corrupt image") from exc
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA") and image.width * image.height > _LARGE_ALPHA_PIXELS:
        # As for thumbnails: the filtered resize of an image with alpha makes a premultiplied
        # copy of all of it (another 196 MB at 7000 x 7000); sample it down to about twice the
        # target first, which needs none.
        factor = image.width // (REPORT_IMAGE_MAX_PX * 2)
        if factor > 1:
            image = image.resize((image.width // factor, max(1, image.height // factor)), Image.Resampling.NEAREST)
    if image.width > REPORT_IMAGE_MAX_PX:
        image = image.resize((REPORT_IMAGE_MAX_PX, max(1, round(image.height * REPORT_IMAGE_MAX_PX / image.width))),
                             Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if source_format == "JPEG" and image.mode in ("RGB", "L"):
        image.save(out, format="JPEG", quality=REPORT_IMAGE_JPEG_QUALITY)
        suffix = ".jpg"
    else:
        image.save(out, format="PNG", compress_level=1)
        suffix = ".png"
    return ReportImage(out.getvalue(), suffix, image.width, image.height)


def report_image_width_cm(width_px: int) -> float:
    """The width a report shows an image at: its on-screen size (96 dpi), between 2 and 15 cm."""
    return max(min(REPORT_IMAGE_MAX_WIDTH_CM, width_px / 96 * 2.54), 2.0)
