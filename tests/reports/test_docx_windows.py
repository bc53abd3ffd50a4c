"""The .docx as Word on Windows opens it: rows that do not split, repeating headers, core
properties, and a w:eastAsia font Windows has, which LibreOffice on Linux still renders."""

import shutil
import subprocess
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from docx.oxml.ns import qn

from reports.pipeline.assemble import labels_for
from reports.pipeline.docx_builder import LATIN_FONT, DocumentModel, build_docx
from reports.prompts import sections_for
from tests.reports.helpers import read_docx

TIMELINE = [{"time": f"2026-11-21 09:{i:02d}", "event": f"第 {i} 則更新：核心交換器 BGP 反覆中斷 " * 6} for i in range(60)]


def build(**overrides):
    lab = labels_for("zh-hant")
    fields = dict(
        title="事件報告：核心交換器中斷", language="zh-hant",
        metadata=[("事件室", "核心交換器中斷"), ("產生者", "陳愛麗 Alice Chen")],
        author="陳愛麗 Alice Chen", subject="核心交換器中斷",
        section_titles=sections_for("incident").titles_in("zh-hant"),
        sections={"summary": "摘要。", "timeline": TIMELINE, "participants": [], "resolution_process": "處理",
                  "current_status": "已恢復", "final_resolution": "修正"},
        sources={}, notes={}, labels=lab,
    )
    fields.update(overrides)
    return build_docx(DocumentModel(**fields), font_east_asia=settings.REPORT_FONT_EAST_ASIA,
                      font_windows=settings.REPORT_FONT_EAST_ASIA_WINDOWS)


def test_every_table_row_is_kept_whole_and_headers_repeat():
    document = read_docx(build())
    assert len(document.tables) >= 2
    for table in document.tables:
        rows = table._tbl.findall(qn("w:tr"))
        assert rows
        for tr in rows:
            tr_pr = tr.find(qn("w:trPr"))
            assert tr_pr is not None and tr_pr.find(qn("w:cantSplit")) is not None
        assert rows[0].find(qn("w:trPr")).find(qn("w:tblHeader")) is not None
        assert all(tr.find(qn("w:trPr")).find(qn("w:tblHeader")) is None for tr in rows[1:])


def test_core_properties_name_the_report_and_its_requester():
    before = timezone.now() - timedelta(seconds=5)
    core = read_docx(build()).core_properties
    assert core.title == "事件報告：核心交換器中斷"
    assert core.author == "陳愛麗 Alice Chen" and core.author != "python-docx"
    assert core.last_modified_by == "陳愛麗 Alice Chen"
    assert core.subject == "核心交換器中斷"
    assert core.language == "zh-TW"
    assert core.created >= before.replace(microsecond=0)


def test_without_a_requester_the_author_is_warroom_and_english_says_en_us():
    lab = labels_for("en")
    core = read_docx(build(language="en", labels=lab, section_titles=sections_for("incident").titles_in("en"),
                           metadata=[("Room", "Core switch")], author="", subject="Core switch")).core_properties
    assert core.author == "Warroom" and core.language == "en-US" and core.subject == "Core switch"


def test_east_asian_font_is_the_configured_windows_font_and_latin_is_a_windows_font(settings):
    assert settings.REPORT_EAST_ASIAN_FONT == "微軟正黑體"  # the default
    document = read_docx(build())
    defaults = document.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    fonts = defaults.find(qn("w:rFonts"))
    assert fonts.get(qn("w:eastAsia")) == "微軟正黑體"
    assert fonts.get(qn("w:ascii")) == fonts.get(qn("w:hAnsi")) == LATIN_FONT == "Arial"
    run_fonts = {r._element.rPr.rFonts.get(qn("w:eastAsia")) for p in document.paragraphs for r in p.runs}
    assert run_fonts == {"微軟正黑體"}

    settings.REPORT_FONT_EAST_ASIA = "標楷體"
    document = read_docx(build())
    assert {r._element.rPr.rFonts.get(qn("w:eastAsia")) for p in document.paragraphs for r in p.runs} == {"標楷體"}


@pytest.mark.integration
def test_libreoffice_on_linux_still_renders_the_chinese_text(tmp_path):
    if not (shutil.which("libreoffice") and shutil.which("pdftotext") and shutil.which("pdffonts")):
        pytest.skip("LibreOffice and poppler-utils are not installed")
    docx = tmp_path / "report.docx"
    docx.write_bytes(build(sections={"summary": "新竹辦公室 VPN 延遲。", "timeline": TIMELINE[:3], "participants": [],
                                     "resolution_process": "處理", "current_status": "已恢復",
                                     "final_resolution": "修正"}))
    subprocess.run(
        ["libreoffice", "--headless", "--norestore", f"-env:UserInstallation=file://{tmp_path}/lo-profile",
         "--convert-to", "pdf", "--outdir", str(tmp_path), str(docx)],
        check=True, capture_output=True, timeout=120,
    )
    pdf = tmp_path / "report.pdf"
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    assert "核心交換器中斷" in text and "新竹辦公室" in text
    fonts = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout
    # 微軟正黑體 is not on Linux: fontconfig and LibreOffice substitute a CJK font that has the glyphs.
    assert "CJK" in fonts, fonts
