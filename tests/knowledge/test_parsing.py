"""Every format reaches the index with the right chunks; broken files fail with a message people understand."""

import pytest

from knowledge import parsing
from knowledge.models import DocumentFormat, DocumentStatus
from tests.knowledge.documents import docx_bytes, encrypted_pdf_bytes, pdf_bytes

pytestmark = pytest.mark.django_db

RUNBOOK_MD = """# 光模塊更換 Optic replacement

## 步驟 Steps

1. 在交換器上關閉連接埠 `shutdown`。
2. 拔出故障的光模塊，插入新的。
3. 開啟連接埠並確認 link up。

## 驗證 Verify

確認錯誤計數不再增加。
"""


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"%PDF-1.7\n...", DocumentFormat.PDF),
        (docx_bytes(paragraphs=["x"]), DocumentFormat.DOCX),
        (b"<!DOCTYPE html><html><body><p>x</p></body></html>", DocumentFormat.HTML),
        ("# 標題\n內容".encode(), DocumentFormat.MARKDOWN),
        ("純文字內容，沒有標題。".encode("cp950"), DocumentFormat.TEXT),
    ],
)
def test_format_is_sniffed_from_the_bytes(data, expected):
    assert parsing.sniff(data) == expected


@pytest.mark.parametrize("data", [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"PK\x03\x04notadocx", bytes(range(256)) * 4])
def test_images_zips_and_binaries_are_not_documents(data):
    with pytest.raises(parsing.UnsupportedFile):
        parsing.sniff(data)


def test_markdown_runbook_keeps_its_steps_with_their_heading(upload):
    document = upload(RUNBOOK_MD.encode(), "optics.txt")  # the name says text; the bytes say Markdown
    assert (document.status, document.format, document.progress) == (DocumentStatus.INDEXED, DocumentFormat.MARKDOWN, 100)
    chunks = list(document.chunks.order_by("ordinal"))
    assert [c.heading for c in chunks] == ["光模塊更換 Optic replacement › 步驟 Steps", "光模塊更換 Optic replacement › 驗證 Verify"]
    assert "1. 在交換器上" in chunks[0].text and "3. 開啟連接埠" in chunks[0].text
    assert document.chunk_count == 2


def test_traditional_chinese_pdf_is_indexed_page_by_page(upload):
    data = pdf_bytes([["憑證更新程序", "第一步：備份舊的憑證。"], ["第二步：重新載入服務。"]])
    document = upload(data, "cert.pdf", title="憑證更新")
    assert document.status == DocumentStatus.INDEXED, document.error_detail
    chunks = list(document.chunks.order_by("ordinal"))
    assert [c.heading for c in chunks] == ["第 1 頁", "第 2 頁"]
    assert "備份舊的憑證" in chunks[0].text and "重新載入服務" in chunks[1].text


def test_docx_with_a_table_keeps_the_table_rows(upload):
    data = docx_bytes(
        heading="交換器清單", paragraphs=["機房的核心交換器如下。"],
        table=[["名稱", "位置", "負責人"], ["core-sw-01", "A 棟 3F", "王小明"]],
    )
    document = upload(data, "switches.docx")
    assert document.status == DocumentStatus.INDEXED
    [chunk] = document.chunks.all()
    assert chunk.heading == "交換器清單"
    assert "名稱 | 位置 | 負責人" in chunk.text and "core-sw-01 | A 棟 3F | 王小明" in chunk.text


def test_html_drops_scripts_and_keeps_headings(upload):
    page = b"<!doctype html><html><head><script>alert(1)</script></head><body><h1>DNS</h1><p>Flush the resolver cache.</p></body></html>"
    document = upload(page, "dns.html")
    [chunk] = document.chunks.all()
    assert (chunk.heading, chunk.text) == ("DNS", "Flush the resolver cache.")


def test_plain_text_in_big5_is_read(upload):
    document = upload("資料庫連線逾時時，先檢查連線池。".encode("cp950"), "db.txt")
    assert document.format == DocumentFormat.TEXT
    assert document.chunks.get().text == "資料庫連線逾時時，先檢查連線池。"


def test_encrypted_pdf_fails_with_a_message_about_the_password(upload):
    document = upload(encrypted_pdf_bytes(), "locked.pdf")
    assert document.status == DocumentStatus.FAILED
    assert "密碼" in document.error_message
    assert document.chunk_count == 0 and not document.chunks.exists()


def test_image_only_pdf_fails_and_says_it_has_no_text(upload):
    document = upload(pdf_bytes([[], []]), "scan.pdf")
    assert document.status == DocumentStatus.FAILED
    assert "OCR" in document.error_message
    assert "2 pages" in document.error_detail


def test_damaged_pdf_fails_with_a_message(upload):
    document = upload(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage", "broken.pdf")
    assert document.status == DocumentStatus.FAILED
    assert document.error_message


def test_a_long_cjk_paragraph_is_cut_only_at_sentence_ends():
    sentence = "這是一個關於光模塊故障處理的完整句子，內容很長而且沒有任何句號直到最後" * 3 + "。"
    chunks = parsing.chunk_sections([parsing.Section("h", [sentence * 40])])
    assert len(chunks) > 1
    assert all(chunk.text.endswith("。") for chunk in chunks)
    assert "".join(c.text for c in chunks) == sentence * 40


def test_a_huge_line_without_punctuation_is_still_cut():
    chunks = parsing.chunk_sections([parsing.Section("", ["x" * 10000])])
    assert max(len(c.text) for c in chunks) <= parsing.CHUNK_HARD_LIMIT_CHARS


def _pasted_log(lines=60):
    rows = [f"2026-03-05 10:{n:02d}:00 db-01 postgres[812]: checkpoint took {n * 7} ms" for n in range(lines)]
    # One line ends with a word found nowhere else: the chunker must not glue it to the next line's date.
    rows[31] = "2026-03-05 10:31:00 db-01 kernel: write failed ENOSPC"
    return "\n".join(rows)


def test_a_long_pasted_log_keeps_its_line_breaks_in_the_chunks():
    log = _pasted_log()
    chunks = parsing.chunk_sections([parsing.Section("", [log])])
    assert len(chunks) > 1 and len(log) > parsing.CHUNK_TARGET_CHARS
    assert not any("db-012026" in c.text or "ENOSPC2026" in c.text for c in chunks)
    assert any("write failed ENOSPC\n2026-03-05 10:32:00" in c.text for c in chunks)
    # Cut only between lines, and nothing lost but the break where one chunk ends and the next begins.
    assert all(c.text.startswith("2026-03-05") for c in chunks)
    assert "\n".join(c.text for c in chunks) == log


def test_the_last_word_of_a_line_in_a_pasted_log_is_found(upload):
    document = upload(_pasted_log().encode(), "postgres.log")
    assert document.status == DocumentStatus.INDEXED and document.chunk_count > 1
    from knowledge import search

    [hit] = search.search("ENOSPC").hits
    assert hit.chunk.document_id == document.id and "<mark>ENOSPC</mark>" in hit.snippet


def test_sentences_give_back_their_paragraph_whitespace_and_line_breaks_included():
    paragraph = "First line ends here.\nSecond one has no stop\nthird: 光模塊壞了。再試一次！ Done."
    parts = parsing.sentences(paragraph)
    assert "".join(parts) == paragraph
    assert parts == ["First line ends here.\n", "Second one has no stop\n", "third: 光模塊壞了。", "再試一次！ ",
                     "Done."]


def test_a_cjk_sentence_wrapped_across_lines_is_not_cut():
    # As pypdf gives a page: the sentence goes on after the line break.
    paragraph = "更換光模塊之前，先在交換器上關閉連接埠，\n確認沒有流量之後再拔出故障的模組。\n第二步：插入新的模組。"
    assert parsing.sentences(paragraph) == [
        "更換光模塊之前，先在交換器上關閉連接埠，\n確認沒有流量之後再拔出故障的模組。\n", "第二步：插入新的模組。",
    ]
    wrapped = ("更換光模塊之前，先在交換器上關閉連接埠，\n確認沒有流量之後再拔出故障的模組，\n" * 3 + "最後確認 link up。") * 20
    chunks = parsing.chunk_sections([parsing.Section("", [wrapped])])
    assert len(chunks) > 1 and all(c.text.endswith("。") for c in chunks)
