"""The document builder on its own: fonts, language, tables, images, unsafe characters."""

import io

import pytest
from docx.oxml.ns import qn
from docx.shared import Cm
from PIL import Image

from reports.pipeline.docx_builder import DocumentModel, ImageItem, build_docx, prepare_image, xml_safe
from reports.pipeline.assemble import labels_for
from reports.prompts import sections_for
from tests.factories import png_bytes
from tests.reports.helpers import all_text, east_asia_fonts, headings, read_docx

ZH_TITLES = ["事件摘要", "時間軸", "參與人員", "處理過程", "目前狀態", "最終處置結果"]

SECTIONS = {
    "summary": "摘要第一段。\n\n摘要第二段。",
    "timeline": [{"time": "2026-11-21 09:40", "event": "告警"}, {"time": "2026-11-21 10:10", "event": "恢復"}],
    "participants": [{"name": "陳愛麗", "role": "指揮官", "contribution": "協調"}],
    "resolution_process": "處理過程", "current_status": "已恢復", "final_resolution": "修正設定",
}


def model(**overrides):
    fields = dict(
        title="事件報告：測試", language="zh-hant", metadata=[("事件室", "測試")],
        section_titles=sections_for("incident").titles_in("zh-hant"), sections=SECTIONS, sources={}, notes={},
        labels=labels_for("zh-hant"), images=[ImageItem("shot.png", png_bytes(2400, 1200), "shot.png")],
    )
    fields.update(overrides)
    return DocumentModel(**fields)


def build(**overrides):
    return read_docx(build_docx(model(**overrides), font_east_asia="Noto Sans CJK TC", font_windows="微軟正黑體"))


def test_six_headings_tables_and_an_image_at_most_15_cm():
    document = build()
    assert headings(document) == ZH_TITLES + ["附件與截圖"]
    assert len(document.tables) == 3  # metadata, timeline, participants
    assert document.tables[1].rows[1].cells[1].text == "告警"
    assert document.tables[2].rows[0].cells[2].text == "貢獻"
    (shape,) = document.inline_shapes
    assert shape.width <= Cm(15) + 1
    assert "圖 1：shot.png" in all_text(document)


def test_east_asian_font_and_language_are_set_on_styles_and_runs():
    document = build()
    normal = document.styles["Normal"].element.rPr
    assert normal.rFonts.get(qn("w:eastAsia")) == "Noto Sans CJK TC"
    assert east_asia_fonts(document) == {"Noto Sans CJK TC"}
    defaults = document.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    assert defaults.find(qn("w:lang")).get(qn("w:eastAsia")) == "zh-TW"
    assert document.settings.element.find(qn("w:themeFontLang")).get(qn("w:eastAsia")) == "zh-TW"
    font_table = next(r.target_part for r in document.part.rels.values() if r.reltype.endswith("/fontTable"))
    assert "微軟正黑體".encode() in font_table.blob


def test_characters_xml_cannot_hold_are_removed():
    nasty = "A\x00B\x01C\x0bD\x1fE\x7fF\ud800G\udfffH\ufffeI\uffffJ\tK\nL"
    assert xml_safe(nasty) == "ABCDEFGHIJ\tK\nL"
    document = build(sections={**SECTIONS, "summary": nasty, "timeline": [{"time": "\x00", "event": nasty}]},
                     title="標題\x00\ud800")
    assert "ABCDEFGHIJ" in all_text(document)


@pytest.mark.parametrize("data, problem", [
    (b"\x89PNG\r\n\x1a\n broken", "unreadable"),
    (png_bytes()[:60], "corrupt"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "unsupported"),
    (None, "檔案遺失"),
])
def test_a_bad_image_becomes_a_short_note(data, problem):
    image = ImageItem("bad.png", data, "bad.png", problem="檔案遺失" if data is None else "")
    document = build(images=[image, ImageItem("good.png", png_bytes(), "good.png")])
    text = all_text(document)
    assert "無法嵌入圖片「bad.png」" in text and problem in text
    assert len(document.inline_shapes) == 1
    assert "圖 1：good.png" in text


def test_images_are_scaled_to_15_cm_at_150_dpi_screenshots_as_png_photos_as_jpeg():
    photo, screenshot = io.BytesIO(), io.BytesIO()
    Image.new("CMYK", (3000, 1000)).save(photo, format="JPEG")
    Image.new("RGBA", (1600, 900), (10, 20, 30, 255)).save(screenshot, format="PNG")
    jpeg, width_cm = prepare_image(photo.getvalue())
    image = Image.open(io.BytesIO(jpeg))
    assert (image.format, image.mode, image.size, width_cm) == ("JPEG", "RGB", (885, 295), 15.0)
    png, width_cm = prepare_image(screenshot.getvalue())
    image = Image.open(io.BytesIO(png))
    assert (image.format, image.size, width_cm) == ("PNG", (885, 498), 15.0)


def test_a_report_ready_image_is_embedded_as_it_is():
    data = io.BytesIO()
    Image.new("RGB", (400, 200), (200, 10, 10)).save(data, format="PNG", compress_level=1)
    document = build(images=[ImageItem(name="ready.png", data=data.getvalue(), caption="ready", width_cm=7.5)])
    (shape,) = document.inline_shapes
    assert round(shape.width.cm, 2) == 7.5
    (part,) = [r.target_part for r in document.part.rels.values() if r.reltype.endswith("/image")]
    assert part.blob == data.getvalue()


def test_section_notes_are_shown_in_their_section():
    document = build(notes={"timeline": "（本節撰寫失敗：AI 逾時）"}, sections={**SECTIONS, "timeline": None})
    paragraphs = [p.text for p in document.paragraphs]
    index = paragraphs.index("時間軸")
    assert paragraphs[index + 1] == "（本節撰寫失敗：AI 逾時）"
