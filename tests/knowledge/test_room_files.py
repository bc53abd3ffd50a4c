"""A room's document files reach the report writer as text, within a budget, each share labelled."""

import pytest

from knowledge.room_files import room_file_texts
from tests.factories import add_image, add_raw_file
from tests.knowledge.documents import docx_bytes, pdf_bytes

pytestmark = pytest.mark.django_db


def test_logs_pdfs_and_docx_are_read_and_images_skipped(room, commander):
    add_raw_file(room, commander, name="app.log", data=b"ERROR 2026-12-01 db timeout\nERROR retry failed\n")
    add_raw_file(room, commander, name="vendor.pdf", data=pdf_bytes([["原廠說明：更換光模塊。"]]))
    add_raw_file(room, commander, name="plan.docx", data=docx_bytes(heading="計畫", table=[["步驟", "負責"], ["重開", "王"]]))
    add_image(room, commander)
    texts = room_file_texts(room=room)
    assert [t.name for t in texts] == ["app.log", "vendor.pdf", "plan.docx"]
    assert "db timeout" in texts[0].text and "更換光模塊" in texts[1].text and "重開 | 王" in texts[2].text
    assert not any(t.truncated for t in texts)


def test_the_budget_is_shared_and_cut_files_are_marked(room, commander):
    add_raw_file(room, commander, name="short.txt", data=b"short file")
    add_raw_file(room, commander, name="huge.log", data=("line of log\n" * 5000).encode())
    texts = room_file_texts(room=room, budget=1000)
    assert texts[0].text == "short file" and not texts[0].truncated
    assert texts[1].truncated and len(texts[1].text) == 1000 - len("short file")
    assert sum(len(t.text) for t in texts) <= 1000
    assert texts[1].label == "huge.log（已截斷）" and texts[0].label == "short.txt"


def test_an_unreadable_file_is_listed_with_the_reason(room, commander):
    add_raw_file(room, commander, name="archive.zip", data=b"PK\x03\x04garbage")
    [text] = room_file_texts(room=room)
    assert text.text == "" and text.error
