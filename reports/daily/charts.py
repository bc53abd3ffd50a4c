"""The daily report's pictures (Pillow), with the CJK font when the machine has it; words in the active language."""

import io
import logging
from pathlib import Path

from django.utils.translation import gettext as _
from PIL import Image, ImageDraw, ImageFont

logger = logging.getLogger(__name__)

CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
CJK_FONT_TC_INDEX = 3  # Noto Sans CJK TC inside the collection
CHART_WIDTH = 1600
INK, GRID, MUTED = (0x22, 0x2B, 0x38), (0xE3, 0xE7, 0xEE), (0x6B, 0x72, 0x80)
BLUE, GREEN = (0x2F, 0x6F, 0xD0), (0x2E, 0x9E, 0x5B)
TITLE_SIZE, LABEL_SIZE, SMALL_SIZE = 40, 28, 26
LONGEST_CATEGORY = 18  # characters of a category name drawn before it is cut with "…"
GRID_LINES = 5


def _font(size: int):
    if CJK_FONT.exists():
        try:
            return ImageFont.truetype(str(CJK_FONT), size, index=CJK_FONT_TC_INDEX)
        except OSError:
            logger.warning("Could not load %s; charts use Pillow's default font", CJK_FONT)
    return ImageFont.load_default(size=size)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def category_chart(categories: list[dict], title: str) -> bytes:
    """Horizontal bars: incidents opened per category."""
    row, top, left, right = 64, 120, 430, 140
    height = top + row * max(len(categories), 1) + 40
    image = Image.new("RGB", (CHART_WIDTH, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((40, 30), title, font=_font(TITLE_SIZE), fill=INK)
    if not categories:
        draw.text((left, top + 10), _("No incidents opened"), font=_font(30), fill=MUTED)
        return _png(image)
    largest = max(item["count"] for item in categories) or 1
    span = CHART_WIDTH - left - right
    font = _font(LABEL_SIZE)
    for index, item in enumerate(categories):
        y = top + index * row
        name = item["category"]
        if len(name) > LONGEST_CATEGORY:
            name = name[: LONGEST_CATEGORY - 1] + "…"
        draw.text((left - 20, y + row / 2), name, font=font, fill=INK, anchor="rm")
        width = max(int(span * item["count"] / largest), 4)
        draw.rectangle((left, y + 12, left + width, y + row - 12), fill=BLUE)
        draw.text((left + width + 14, y + row / 2), str(item["count"]), font=font, fill=INK, anchor="lm")
    return _png(image)


def _legend(draw, small) -> None:
    for color, label, x in ((BLUE, _("Opened"), CHART_WIDTH - 560), (GREEN, _("Resolved"), CHART_WIDTH - 300)):
        draw.rectangle((x, 48, x + 30, 78), fill=color)
        draw.text((x + 42, 63), label, font=small, fill=INK, anchor="lm")


def trend_chart(days: list[dict], title: str) -> bytes:
    """Grouped bars per day: opened and resolved over the last seven days."""
    height, top, bottom, left, right = 760, 150, 90, 110, 50
    image = Image.new("RGB", (CHART_WIDTH, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((40, 30), title, font=_font(TITLE_SIZE), fill=INK)
    small = _font(SMALL_SIZE)
    _legend(draw, small)
    largest = max([max(d["opened"], d["resolved"]) for d in days] + [1])
    step = max(1, -(-largest // GRID_LINES))  # about five grid lines, at whole numbers
    scale_top = step * -(-largest // step)
    plot_h = height - top - bottom
    for value in range(0, scale_top + 1, step):
        y = height - bottom - plot_h * value / scale_top
        draw.line((left, y, CHART_WIDTH - right, y), fill=GRID, width=2)
        draw.text((left - 16, y), str(value), font=small, fill=MUTED, anchor="rm")
    slot = (CHART_WIDTH - left - right) / max(len(days), 1)
    bar = slot * 0.3
    for index, day in enumerate(days):
        center = left + slot * (index + 0.5)
        for offset, key, color in ((-bar, "opened", BLUE), (0, "resolved", GREEN)):
            y = height - bottom - plot_h * day[key] / scale_top
            draw.rectangle((center + offset, y, center + offset + bar, height - bottom), fill=color)
            draw.text((center + offset + bar / 2, y - 6), str(day[key]), font=small, fill=INK, anchor="md")
        draw.text((center, height - bottom + 16), day["date"][5:], font=small, fill=INK, anchor="ma")
    return _png(image)
