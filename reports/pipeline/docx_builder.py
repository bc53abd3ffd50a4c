"""The Word document: python-docx with East Asian fonts, tables and embedded screenshots.

Everything written goes through :func:`xml_safe`, because XML 1.0 cannot hold
NUL and other control characters, lone surrogates or U+FFFE/U+FFFF, and one
such character in a message would make the whole file unreadable. Images are
embedded as their report-ready copy (at most 15 cm at 150 dpi, made once at upload by
``incidents.files.report_image``), or prepared here the same way for a file that has none;
an image that is missing, corrupt or unsupported becomes a short note, never a failed report.
"""

from __future__ import annotations

import copy
import functools
import io
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from zipfile import ZIP_DEFLATED, ZIP_STORED, ZipFile

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.opc.pkgwriter import PackageWriter
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import _Cell
from lxml import etree
from incidents.files import report_image, report_image_width_cm
from reports.prompts import LIST_SECTIONS

logger = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 30 * 1024 * 1024
# Anything XML 1.0 cannot hold, plus C1 controls and DEL that no reader wants to see.
_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
ACCENT = RGBColor(0x1F, 0x3A, 0x5F)
HEADER_FILL = "DCE6F2"
TEXT_WIDTH_CM = 16.5
# Column widths (cm) of the table sections; any other table section splits the width evenly.
COLUMN_WIDTHS = {"timeline": [3.6, 12.9], "participants": [4.2, 3.0, 9.3], "action_items": [9.5, 3.8, 3.2]}
# The language tag a document's properties carry, per report language (Taiwan's Chinese by default).
DOCUMENT_LANGUAGE_TAGS = {"en": "en-US", "zh-hant": "zh-TW"}
DEFAULT_LANGUAGE_TAG = "zh-TW"
# A table that names the messages its rows came from gets a source column this wide.
SOURCE_WIDTH_CM = 4.0


def column_widths(key: str, fields: list[str]) -> list[float]:
    """The widths of a table section's columns; a trailing ``source`` column takes its share from the others."""
    base = fields[:-1] if fields[-1:] == ["source"] else fields
    widths = COLUMN_WIDTHS.get(key)
    if widths is None or len(widths) != len(base):
        widths = [TEXT_WIDTH_CM / len(base)] * len(base)
    if base is fields:
        return widths
    scale = (TEXT_WIDTH_CM - SOURCE_WIDTH_CM) / sum(widths)
    return [w * scale for w in widths] + [SOURCE_WIDTH_CM]
# Latin text uses a font every Windows has; LibreOffice on Linux substitutes a metric-compatible one.
LATIN_FONT = "Arial"
# The names Word on Windows knows an East Asian font by, recorded as the font table's altName.
WINDOWS_FONT_NAMES = {"微軟正黑體": "Microsoft JhengHei", "標楷體": "DFKai-SB", "新細明體": "PMingLiU"}


def xml_safe(value) -> str:
    if value is None:
        return ""
    return _XML_UNSAFE.sub("", str(value))


@dataclass
class ImageItem:
    name: str
    data: bytes | None
    caption: str
    problem: str = ""  # why it could not be read, when data is None
    # Set when ``data`` is already the report-ready image (made at upload): embedded as it is, this wide.
    width_cm: float | None = None


@dataclass
class DocumentModel:
    """What goes into the document, prepared by the assemble stage."""

    title: str
    language: str
    metadata: list[tuple[str, str]]
    section_titles: dict[str, str]
    sections: dict
    sources: dict
    notes: dict
    labels: dict
    images: list[ImageItem] = field(default_factory=list)
    other_files: list[tuple[str, str, str]] = field(default_factory=list)
    footer: str = ""
    # Core properties; empty means "from the metadata rows" (requested_by, room) or Warroom.
    author: str = ""
    subject: str = ""
    # (title, assignee, due date, status) rows of the room's follow-up work.
    action_items: list[tuple[str, str, str, str]] = field(default_factory=list)
    # (mark, passage, document kind) rows of the knowledge passages the report cites ([kb:45]).
    references: list[tuple[str, str, str]] = field(default_factory=list)
    # The sections shown as tables: key -> the fields of a row (headers are labels[field]); the
    # incident report's unless the assemble stage gives the report kind's.
    list_fields: dict[str, list[str]] = field(default_factory=lambda: dict(LIST_SECTIONS))


class DocxBuilder:
    def __init__(self, *, font_east_asia: str, font_windows: str, language: str = "zh-hant",
                 font_latin: str | None = None):
        self.language = language
        self.font = font_east_asia
        self.font_windows = font_windows
        self.font_latin = font_latin or LATIN_FONT
        self.doc = Document()
        self._styles()
        self.properties(author="Warroom")

    def properties(self, *, title=None, author=None, subject=None) -> None:
        """The file's core properties (what Explorer and Word's Info pane show), never "python-docx"."""
        core = self.doc.core_properties
        if title is not None:
            core.title = xml_safe(title)[:255]
        if author is not None:
            core.author = core.last_modified_by = xml_safe(author)[:255] or "Warroom"
        if subject is not None:
            core.subject = xml_safe(subject)[:255]
        core.created = core.modified = datetime.now(tz=timezone.utc).replace(microsecond=0)
        core.language = DOCUMENT_LANGUAGE_TAGS.get(self.language, DEFAULT_LANGUAGE_TAG)
        core.revision = 1
        core.comments = ""
        core.keywords = "Warroom"

    # --- fonts and styles -------------------------------------------------------

    def _set_fonts(self, rpr) -> None:
        fonts = rpr.get_or_add_rFonts()
        for attr in ("w:ascii", "w:hAnsi", "w:cs"):
            fonts.set(qn(attr), self.font_latin)
        fonts.set(qn("w:eastAsia"), self.font)
        for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
            fonts.attrib.pop(qn(attr), None)
        lang = rpr.find(qn("w:lang"))
        if lang is None:
            lang = OxmlElement("w:lang")
            rpr.insert_element_before(lang, "w:eastAsianLayout", "w:specVanish", "w:oMath")
        # w:val is the language of Latin text: zh-TW there makes Word and LibreOffice
        # break English words anywhere, as if they were Chinese.
        lang.set(qn("w:val"), "en-US")
        lang.set(qn("w:eastAsia"), "zh-TW")

    def _styles(self) -> None:
        doc = self.doc
        defaults = doc.styles.element.find(qn("w:docDefaults"))
        rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
        self._set_fonts(rpr)
        theme_lang = doc.settings.element.find(qn("w:themeFontLang"))
        if theme_lang is None:
            theme_lang = OxmlElement("w:themeFontLang")
            doc.settings.element.append(theme_lang)
        theme_lang.set(qn("w:eastAsia"), "zh-TW")

        normal = doc.styles["Normal"]
        normal.font.size = Pt(10.5)
        self._set_fonts(normal.element.get_or_add_rPr())
        normal.paragraph_format.space_after = Pt(6)
        normal.paragraph_format.line_spacing = 1.25
        for name, size, before, after in [("Title", 22, 0, 6), ("Heading 1", 15, 18, 6), ("Heading 2", 12.5, 12, 4),
                                          ("Caption", 9, 2, 10)]:
            style = doc.styles[name]
            style.font.size = Pt(size)
            style.font.color.rgb = ACCENT if name != "Caption" else RGBColor(0x55, 0x5F, 0x6D)
            style.font.bold = name != "Caption"
            style.font.italic = False
            self._set_fonts(style.element.get_or_add_rPr())
            style.paragraph_format.space_before = Pt(before)
            style.paragraph_format.space_after = Pt(after)
            style.paragraph_format.keep_with_next = name.startswith("Heading")
        for section in doc.sections:
            section.page_height, section.page_width = Cm(29.7), Cm(21.0)
            section.left_margin = section.right_margin = Cm(2.2)
            section.top_margin = section.bottom_margin = Cm(2.0)
        self._font_table()

    def _font_table(self) -> None:
        """Record the Windows name of the East Asian font, so Word on Windows substitutes it."""
        for rel in self.doc.part.rels.values():
            if rel.reltype.endswith("/fontTable"):
                part = rel.target_part
                root = etree.fromstring(part.blob)
                font = etree.SubElement(root, qn("w:font"))
                font.set(qn("w:name"), self.font)
                alt = etree.SubElement(font, qn("w:altName"))
                windows_name = self.font_windows if self.font_windows != self.font else WINDOWS_FONT_NAMES.get(
                    self.font, self.font)
                alt.set(qn("w:val"), windows_name)
                charset = etree.SubElement(font, qn("w:charset"))
                charset.set(qn("w:val"), "88")  # Chinese Big5
                family = etree.SubElement(font, qn("w:family"))
                family.set(qn("w:val"), "swiss")
                part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
                return

    # --- building blocks ----------------------------------------------------------

    def _style_id(self, name: str) -> str:
        # python-docx looks a style up by name through every style of the document (and its
        # default) on each paragraph: a third of a short report's build. Once per name here.
        cache = self.__dict__.setdefault("_style_ids", {})
        if name not in cache:
            cache[name] = self.doc.styles[name].style_id
        return cache[name]

    def _add_paragraph(self, style: str | None = None):
        paragraph = self.doc.add_paragraph()
        if style:
            paragraph._p.style = self._style_id(style)
        return paragraph

    def run(self, paragraph, text, *, bold=False, italic=False, size=None, color=None):
        run = paragraph.add_run(xml_safe(text))
        run.bold = bold or None
        run.italic = italic or None
        if size:
            run.font.size = Pt(size)
        if color is not None:
            run.font.color.rgb = color
        self._set_fonts(run._element.get_or_add_rPr())
        return run

    def paragraph(self, text="", *, style=None, **run_options):
        paragraph = self._add_paragraph(style)
        if text:
            for index, line in enumerate(xml_safe(text).split("\n")):
                if index:
                    paragraph.add_run().add_break()
                self.run(paragraph, line, **run_options)
        return paragraph

    def heading(self, text, level=1):
        if level == 0 and not self.doc.core_properties.title:
            self.properties(title=text)
        paragraph = self._add_paragraph("Title" if level == 0 else f"Heading {level}")
        self.run(paragraph, text)
        return paragraph

    def note(self, text):
        return self.paragraph(text, italic=True, size=9, color=RGBColor(0x80, 0x4A, 0x00))

    def table(self, headers: list[str], rows: list[list[str]], widths_cm: list[float]):
        table = self.doc.add_table(rows=1, cols=len(headers))
        table._tbl.tblStyle_val = self._style_id("Table Grid")
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        for column, width in zip(table.columns, widths_cm):
            column.width = Cm(width)
        header = table.rows[0]
        self._repeat_header(header)
        self._cant_split(header)
        for cell, text, width in zip(header.cells, headers, widths_cm):
            cell.width = Cm(width)
            self._shade(cell, HEADER_FILL)
            self._cell_text(cell, text, bold=True)
        if rows:
            # Copying a prepared row is far cheaper than add_row() + cell.text for long tables; the
            # template's cells already hold their paragraph spacing and one run with the fonts and
            # size, so a copied row only needs its texts (no python-docx objects per cell).
            template = table.add_row()
            # Copied into every row below: a row never breaks across pages (no near-empty continuation rows).
            self._cant_split(template)
            for cell, width in zip(template.cells, widths_cm):
                cell.width = Cm(width)
                self._cell_text(cell, "-")
                cell._tc[-1][-1][-1].set(qn("xml:space"), "preserve")
            template_xml = template._tr
            tbl = table._tbl
            tbl.remove(template_xml)
            tc_tag = qn("w:tc")
            for values in rows:
                tr = copy.deepcopy(template_xml)
                for tc, value in zip(tr.iterchildren(tc_tag), values):
                    text = xml_safe(value)
                    if "\n" in text:
                        paragraph = tc[-1]
                        paragraph.remove(paragraph[-1])
                        self._cell_text(_Cell(tc, table), text)
                    else:
                        tc[-1][-1][-1].text = text  # the cell's paragraph > run > text
                tbl.append(tr)
        self.doc.add_paragraph().paragraph_format.space_after = Pt(2)
        return table

    def _cell_text(self, cell, text, *, bold=False):
        paragraph = cell.paragraphs[0]
        paragraph.paragraph_format.space_after = Pt(2)
        for index, line in enumerate(xml_safe(text).split("\n")):
            if index:
                paragraph.add_run().add_break()
            self.run(paragraph, line, bold=bold, size=9.5)

    @staticmethod
    def _shade(cell, fill):
        tc_pr = cell._tc.get_or_add_tcPr()
        shading = OxmlElement("w:shd")
        shading.set(qn("w:val"), "clear")
        shading.set(qn("w:color"), "auto")
        shading.set(qn("w:fill"), fill)
        tc_pr.append(shading)

    @staticmethod
    def _cant_split(row):
        tr_pr = row._tr.get_or_add_trPr()
        if tr_pr.find(qn("w:cantSplit")) is None:
            # CT_TrPr's sequence puts cantSplit before tblHeader.
            tr_pr.insert(0, OxmlElement("w:cantSplit"))

    @staticmethod
    def _repeat_header(row):
        tr_pr = row._tr.get_or_add_trPr()
        marker = OxmlElement("w:tblHeader")
        marker.set(qn("w:val"), "true")
        tr_pr.append(marker)

    def picture(self, data: bytes, width_cm: float, caption: str):
        paragraph = self.doc.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.paragraph_format.keep_with_next = True
        paragraph.add_run().add_picture(io.BytesIO(data), width=Cm(width_cm))
        cap = self._add_paragraph("Caption")
        cap.alignment = WD_ALIGN_PARAGRAPH.CENTER
        self.run(cap, caption)

    def footer(self, text):
        for section in self.doc.sections:
            paragraph = section.footer.paragraphs[0]
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            self.run(paragraph, f"{text}  ·  ", size=8, color=RGBColor(0x6B, 0x72, 0x80))
            run = self.run(paragraph, "", size=8, color=RGBColor(0x6B, 0x72, 0x80))
            for kind, value in (("begin", None), ("instr", " PAGE "), ("separate", None), ("text", "1"),
                                ("end", None)):
                if kind == "instr":
                    element = OxmlElement("w:instrText")
                    element.set(qn("xml:space"), "preserve")
                    element.text = value
                elif kind == "text":
                    element = OxmlElement("w:t")
                    element.text = value
                else:
                    element = OxmlElement("w:fldChar")
                    element.set(qn("w:fldCharType"), kind)
                run._element.append(element)

    def save(self) -> bytes:
        """The .docx bytes. Images are stored in the zip as they are: deflating PNG and JPEG data
        again took a third of a 200-row, 10-image document's build and saves nothing."""
        buffer = io.BytesIO()
        package = self.doc.part.package
        for part in package.parts:
            part.before_marshal()
        # python-docx's own PackageWriter.write, with a writer that skips compressing media.
        writer = _MediaStoredZipWriter(buffer)
        PackageWriter._write_content_types_stream(writer, package.parts)
        PackageWriter._write_pkg_rels(writer, package.rels)
        PackageWriter._write_parts(writer, package.parts)
        writer.close()
        return buffer.getvalue()


class _MediaStoredZipWriter:
    """What python-docx's PackageWriter needs of a zip writer, storing already-compressed media
    (word/media/*) uncompressed and deflating the rest."""

    def __init__(self, stream):
        self._zip = ZipFile(stream, "w", compression=ZIP_DEFLATED)

    def write(self, pack_uri, blob):
        stored = pack_uri.membername.startswith("word/media/")
        self._zip.writestr(pack_uri.membername, blob, compress_type=ZIP_STORED if stored else ZIP_DEFLATED)

    def close(self):
        self._zip.close()


# A report's images are the same in every version of it: an edit rebuilds the document
# without decoding, resizing and re-encoding them again (up to this many per process).
# Images uploaded since the report-ready image exists (incidents.files.report_image) never
# come here: this is for the rest (uploads from before it, or one the worker has not reached).
PREPARED_IMAGES_CACHED = 64


@functools.lru_cache(maxsize=PREPARED_IMAGES_CACHED)
def prepare_image(data: bytes) -> tuple[bytes, float]:
    """Image bytes scaled to at most 15 cm at 150 dpi, and the width to show it at (cm).

    Raises ValueError with a short reason when the image cannot be used.
    """
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError("too large")
    prepared = report_image(data)
    return prepared.data, report_image_width_cm(prepared.width)


def build_docx(model: DocumentModel, *, font_east_asia: str, font_windows: str) -> bytes:
    builder = DocxBuilder(font_east_asia=font_east_asia, font_windows=font_windows, language=model.language)
    labels = model.labels
    builder.properties(title=model.title, author=model.author or "Warroom", subject=model.subject or model.title)
    builder.heading(model.title, level=0)
    builder.table([labels["field"], labels["value"]], [[k, v] for k, v in model.metadata], [4.5, 12.0])

    for key, title in model.section_titles.items():
        builder.heading(title, level=1)
        value = model.sections.get(key)
        if key in model.notes:
            builder.note(model.notes[key])
        if value is None:
            continue
        fields = model.list_fields.get(key)
        if fields:
            builder.table([labels[f] for f in fields], [[r.get(f, "") for f in fields] for r in value],
                          column_widths(key, fields))
        else:
            for block in str(value).split("\n\n"):
                builder.paragraph(block)

    if model.action_items:
        builder.heading(labels["action_items"], level=1)
        builder.table([labels["item"], labels["assignee"], labels["due"], labels["item_status"]],
                      [list(row) for row in model.action_items], [8.5, 3.5, 2.5, 2.0])

    if model.references:
        builder.heading(labels["references"], level=1)
        builder.table([labels["reference"], labels["passage"], labels["document_kind"]],
                      [list(row) for row in model.references], [2.5, 11.0, 3.0])

    if model.images or model.other_files:
        builder.heading(labels["attachments"], level=1)
    figure = 0
    for item in model.images:
        if item.data is None:
            builder.note(labels["image_problem"].format(name=item.name, problem=item.problem))
            continue
        try:
            png, width = (item.data, item.width_cm) if item.width_cm else prepare_image(item.data)
            figure += 1
            builder.picture(png, width, labels["figure_caption"].format(number=figure, caption=item.caption))
        except ValueError as exc:
            builder.note(labels["image_problem"].format(name=item.name, problem=str(exc)))
        except Exception as exc:  # noqa: BLE001 - an image must never fail the report
            logger.exception("Could not embed %s", item.name)
            builder.note(labels["image_problem"].format(name=item.name, problem=type(exc).__name__))
    if model.other_files:
        builder.heading(labels["files"], level=2)
        builder.table([labels["file"], labels["type"], labels["size"]], [list(f) for f in model.other_files],
                      [8.0, 5.0, 3.5])
    if model.footer:
        builder.footer(model.footer)
    return builder.save()


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"

