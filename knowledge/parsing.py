"""From a file's bytes to titled sections, and from sections to chunks.

The format is decided from the bytes (``sniff``), never from the name: a PDF starts with
``%PDF-``, a .docx is a zip holding ``word/document.xml``, HTML opens with a tag, and
text is anything that decodes; Markdown is text with ATX headings or code fences.

Chunking keeps a heading with its text, so a runbook's steps stay together, and cuts
only between paragraphs or sentences, never inside a CJK sentence (a sentence ends at
。！？；, or at .!? followed by a space).
"""

import html.parser
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from knowledge.models import DocumentFormat
from knowledge.text import CJK

CHUNK_TARGET_CHARS = 900
# A single sentence longer than this is cut at whitespace, or at this length: a log line
# without punctuation must not make one chunk of a whole file.
CHUNK_HARD_LIMIT_CHARS = 3000


class UnsupportedFile(Exception):
    """The bytes are none of the formats Warroom reads (answered 400 at upload)."""


class ParseError(Exception):
    """The file is of a known format but cannot be read: ``message`` for people, ``detail`` for operators."""

    def __init__(self, message, detail=""):
        super().__init__(message)
        self.message = str(message)
        self.detail = detail or self.message


@dataclass
class Section:
    heading: str
    paragraphs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Chunk:
    heading: str
    text: str


# --- What the file is -------------------------------------------------------------

_MD_SIGNS = re.compile(r"^(#{1,6} \S|```|~~~|\s*[-*] \[[ x]\] )", re.M)
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body|h[1-6]|p|div|table|article)[\s>]", re.I | re.S)


def decode_text(data: bytes) -> str | None:
    """The text of ``data`` if it is text: UTF-8 (with or without BOM), UTF-16 with BOM, or Big5 (cp950)."""
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    for encoding in ("utf-8-sig", "utf-16") if data.startswith((b"\xff\xfe", b"\xfe\xff")) else ("utf-8-sig", "cp950"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for c in text[:8192] if ord(c) < 32 and c not in "\t\n\r\f")
        if controls <= len(text[:8192]) // 100:
            return text
    return None


def sniff(data: bytes) -> str:
    """The DocumentFormat of ``data``, or UnsupportedFile."""
    if data.startswith(b"%PDF-"):
        return DocumentFormat.PDF
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if "word/document.xml" in archive.namelist():
                    return DocumentFormat.DOCX
        except zipfile.BadZipFile:
            pass
        raise UnsupportedFile("zip")
    if _HTML_START.match(data[:4096]):
        return DocumentFormat.HTML
    text = decode_text(data)
    if text is None:
        raise UnsupportedFile("binary")
    return DocumentFormat.MARKDOWN if _MD_SIGNS.search(text[:20000]) else DocumentFormat.TEXT


# --- Sections of each format ------------------------------------------------------


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def sections_from_text(text: str) -> list[Section]:
    return [Section("", _paragraphs(text))]


_ATX = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def sections_from_markdown(text: str) -> list[Section]:
    """One section per ATX heading, its path of parent headings joined by ' › '."""
    sections, path = [Section("")], []
    lines, fenced = [], False

    def flush():
        if lines:
            sections[-1].paragraphs.extend(_paragraphs("\n".join(lines)))
            lines.clear()

    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        heading = None if fenced else _ATX.match(line)
        if heading:
            flush()
            level, title = len(heading.group(1)), heading.group(2)
            path[:] = [*path[: level - 1], title][:level]
            sections.append(Section(" › ".join(p for p in path if p)))
        else:
            lines.append(line)
    flush()
    return [s for s in sections if s.paragraphs or s.heading]


class _HTMLSections(html.parser.HTMLParser):
    BLOCKS = {"p", "div", "li", "br", "tr", "pre", "blockquote", "section", "article", "dd", "dt", "table"}
    SKIP = {"script", "style", "noscript", "template", "head"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sections = [Section("")]
        self.path: list[str] = []
        self.buffer: list[str] = []
        self.heading_level = 0
        self.heading_text: list[str] = []
        self.skipping = 0
        self.cells: list[str] | None = None

    def _flush(self):
        text = re.sub(r"[ \t\r\f\v]+", " ", "".join(self.buffer)).strip()
        if text:
            self.sections[-1].paragraphs.append(text)
        self.buffer = []

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self.heading_level, self.heading_text = int(tag[1]), []
        elif tag == "tr":
            self._flush()
            self.cells = []
        elif tag in ("td", "th") and self.cells is not None:
            self._flush_cell()
        elif tag in self.BLOCKS:
            self._flush()

    def _flush_cell(self):
        if self.cells is not None and self.buffer:
            self.cells.append(re.sub(r"\s+", " ", "".join(self.buffer)).strip())
            self.buffer = []

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skipping = max(self.skipping - 1, 0)
        elif re.fullmatch(r"h[1-6]", tag) and self.heading_level:
            title = re.sub(r"\s+", " ", "".join(self.heading_text)).strip()
            level = self.heading_level
            self.path[:] = [*self.path[: level - 1], title][:level]
            self.sections.append(Section(" › ".join(p for p in self.path if p)))
            self.heading_level = 0
        elif tag in ("td", "th"):
            self._flush_cell()
        elif tag == "tr" and self.cells is not None:
            self._flush_cell()
            if any(self.cells):
                self.sections[-1].paragraphs.append(" | ".join(self.cells))
            self.cells = None
        elif tag in self.BLOCKS:
            self._flush()

    def handle_data(self, data):
        if self.skipping:
            return
        (self.heading_text if self.heading_level else self.buffer).append(data)


def sections_from_html(text: str) -> list[Section]:
    parser = _HTMLSections()
    parser.feed(text)
    parser.close()
    parser._flush()
    return [s for s in parser.sections if s.paragraphs or s.heading]


def _docx_heading_level(paragraph) -> int:
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    match = re.match(r"(?:Heading|標題)\s*(\d)", style, re.I)
    if match:
        return int(match.group(1))
    return 1 if style.lower() == "title" else 0


def sections_from_docx(data: bytes) -> list[Section]:
    """Paragraphs and tables in document order; Heading styles start sections; a table row is one line."""
    import docx  # python-docx; imported here only because it is slow to import and most files are not .docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - any failure of a corrupt package is the same for people
        raise ParseError(_("This Word document could not be opened; it may be damaged."), repr(exc)) from exc
    sections, path = [Section("")], []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            text = block.text.strip()
            if not text:
                continue
            level = _docx_heading_level(block)
            if level:
                path[:] = [*path[: level - 1], text][:level]
                sections.append(Section(" › ".join(p for p in path if p)))
            else:
                sections[-1].paragraphs.append(text)
        elif isinstance(block, Table):
            rows = []
            for row in block.rows:
                cells = []
                for cell in row.cells:
                    value = re.sub(r"\s+", " ", cell.text).strip()
                    # A merged cell is repeated by python-docx for each grid column it spans.
                    if not cells or cells[-1] != value:
                        cells.append(value)
                if any(cells):
                    rows.append(" | ".join(cells))
            if rows:
                sections[-1].paragraphs.append("\n".join(rows))
    return [s for s in sections if s.paragraphs or s.heading]


def sections_from_pdf(data: bytes, *, on_page: Callable[[int, int], None] | None = None) -> list[Section]:
    """The text of each page (pypdf reads CJK through the fonts' ToUnicode maps); one section per page."""
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            # Many PDFs are "encrypted" with an empty user password only to forbid editing.
            try:
                opened = reader.decrypt("")
            except Exception as exc:  # noqa: BLE001 - an unsupported cipher is the same for people
                raise ParseError(_("This PDF is protected by a password; upload a copy without one."), repr(exc)) from exc
            if not opened:
                raise ParseError(_("This PDF is protected by a password; upload a copy without one."), "encrypted")
        pages = list(reader.pages)
    except ParseError:
        raise
    except (PdfReadError, FileNotDecryptedError, ValueError, KeyError, OSError) as exc:
        raise ParseError(_("This PDF could not be read; it may be damaged."), repr(exc)) from exc
    sections = []
    for number, page in enumerate(pages, start=1):
        try:
            text = page.extract_text() or ""
        except Exception:  # noqa: BLE001 - one unreadable page must not cost the rest
            text = ""
        sections.append(Section(_("Page %(number)s") % {"number": number}, _paragraphs(text)))
        if on_page:
            on_page(number, len(pages))
    if not any(p.strip() for s in sections for p in s.paragraphs):
        raise ParseError(
            _("This PDF has no text to read (it looks like scanned images); upload a PDF with text or run OCR first."),
            f"{len(pages)} pages, no extractable text",
        )
    return [s for s in sections if s.paragraphs]


def sections_of(data: bytes, file_format: str, *, on_page=None) -> list[Section]:
    if file_format == DocumentFormat.PDF:
        return sections_from_pdf(data, on_page=on_page)
    if file_format == DocumentFormat.DOCX:
        return sections_from_docx(data)
    text = decode_text(data)
    if text is None:
        raise ParseError(_("This file is not text in a known encoding."), "undecodable")
    if file_format == DocumentFormat.HTML:
        return sections_from_html(text)
    if file_format == DocumentFormat.MARKDOWN:
        return sections_from_markdown(text)
    return sections_from_text(text)


# --- Chunks -------------------------------------------------------------------------

# A sentence ends after CJK end punctuation (with any closing quote), or after .!? and a space.
# A line ends one too (a pasted log has no punctuation), unless the next line goes on in CJK:
# a PDF wraps a Chinese sentence across lines, and that sentence must stay whole.
# Every split is zero-width, so the newline stays with the line it ends.
_SENTENCE_END = re.compile(
    r"(?<=[。！？；!?][」』）)\"'])|(?<=[。！？；])(?![」』）)\"'])|(?<=[.!?])(?=\s)"
    rf"|(?<=\n)(?![{CJK}])"
)


def sentences(paragraph: str) -> list[str]:
    """The sentences of ``paragraph``, whitespace and line breaks kept: joined, they give it back."""
    parts = []
    for part in _SENTENCE_END.split(paragraph):
        if parts:
            # The space or line break after a sentence belongs to it, so that a sentence starts with a word.
            body = part.lstrip()
            parts[-1] += part[: len(part) - len(body)]
            part = body
        if part:
            parts.append(part)
    return parts or [paragraph]


def _hard_cut(sentence: str) -> list[str]:
    """Only for one sentence longer than the hard limit: cut at whitespace, else at the limit."""
    pieces = []
    while len(sentence) > CHUNK_HARD_LIMIT_CHARS:
        cut = sentence.rfind(" ", 0, CHUNK_HARD_LIMIT_CHARS)
        cut = cut if cut > CHUNK_HARD_LIMIT_CHARS // 2 else CHUNK_HARD_LIMIT_CHARS
        pieces.append(sentence[:cut])
        sentence = sentence[cut:]
    pieces.append(sentence)
    return pieces


def _pieces(paragraph: str) -> list[str]:
    if len(paragraph) <= CHUNK_TARGET_CHARS:
        return [paragraph]
    out = []
    for sentence in sentences(paragraph):
        out.extend(_hard_cut(sentence) if len(sentence) > CHUNK_HARD_LIMIT_CHARS else [sentence])
    return out


def chunk_sections(sections: list[Section], *, target: int = CHUNK_TARGET_CHARS) -> list[Chunk]:
    """Chunks of about ``target`` characters, each within one section and starting with its heading.

    Pieces are whole paragraphs, or whole sentences of a long paragraph: a chunk ends only
    between two of them. Paragraphs are joined by a blank line; the sentences of one paragraph
    are joined as they are, since each keeps the space or line break that followed it.
    """
    chunks = []
    for section in sections:
        text, size = "", 0
        for paragraph in section.paragraphs:
            for index, piece in enumerate(_pieces(paragraph)):
                if text and size + len(piece) > target:
                    chunks.append(Chunk(section.heading, text.strip()))
                    text, size = "", 0
                elif text and index == 0:
                    text += "\n\n"
                text += piece
                size += len(piece)
        if text.strip():
            chunks.append(Chunk(section.heading, text.strip()))
    return chunks
