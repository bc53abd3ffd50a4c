"""The knowledge page follows a document being indexed without a reload (real Chromium against uvicorn)."""

import re

import pytest

from knowledge.models import DocumentStatus, KnowledgeDocument
from tests.browser.test_room_page import browser, log_in, plain_page, shot  # noqa: F401 - the shared Chromium
from tests.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

POLL_SECONDS = 1.5


@pytest.fixture
def page(plain_page):
    return plain_page


def document(title, status, **fields):
    # Made in the database as the parse task leaves it: the page only reads the row.
    return KnowledgeDocument.objects.create(title=title, format="pdf", status=status, file=f"knowledge/{title}.pdf",
                                            **fields)


def test_the_documents_list_shows_indexing_progress_live_and_stops_asking_when_none_is_in_flight(page, asgi_server):
    make_user(username="kb-ops", staff=True)
    big = document("大型 PDF", DocumentStatus.PARSING, progress=30)
    broken = document("壞掉的 PDF", DocumentStatus.UPLOADED)
    done = document("DNS", DocumentStatus.INDEXED, progress=100, chunk_count=2)
    asked = []
    page.on("request", lambda request: asked.append(request.url) if "/api/knowledge/documents/" in request.url else None)

    log_in(page, asgi_server["url"], "kb-ops")
    page.goto(f"{asgi_server['url']}/knowledge/")
    row = {d.id: page.locator(f'#kb-documents tr[data-document-id="{d.id}"]') for d in (big, broken, done)}
    assert row[big.id].locator("progress").get_attribute("value") == "30"
    assert row[done.id].locator("progress").count() == 0

    KnowledgeDocument.objects.filter(id=big.id).update(progress=70)
    KnowledgeDocument.objects.filter(id=broken.id).update(status=DocumentStatus.PARSING, progress=10)
    row[big.id].locator(".kb-percent", has_text="70%").wait_for()
    row[broken.id].and_(page.locator('[data-status="parsing"]')).wait_for()
    assert row[broken.id].locator(".badge").inner_text() == "解析中"  # the API's label, in the page's language
    shot(page, "knowledge-docs-01-progress")

    KnowledgeDocument.objects.filter(id=big.id).update(status=DocumentStatus.INDEXED, progress=100, chunk_count=12)
    KnowledgeDocument.objects.filter(id=broken.id).update(status=DocumentStatus.FAILED, progress=0,
                                                          error_message="此 PDF 無法讀取；檔案可能已損壞。")
    row[big.id].and_(page.locator('[data-status="indexed"]')).wait_for()
    row[broken.id].and_(page.locator('[data-status="failed"]')).wait_for()
    assert row[big.id].locator(".kb-chunks").inner_text() == "12" and row[big.id].locator("progress").count() == 0
    assert "此 PDF 無法讀取" in row[broken.id].locator(".kb-status").inner_text()
    page.locator("#toasts .toast", has_text="「大型 PDF」已建立索引").wait_for()
    page.locator("#toasts .toast.error", has_text="「壞掉的 PDF」無法建立索引").wait_for()
    shot(page, "knowledge-docs-02-done")

    # Nothing is in flight now: no further requests. An absence can only be waited for, over two rounds.
    so_far = len(asked)
    page.wait_for_timeout(POLL_SECONDS * 2 * 1000 + 500)
    assert len(asked) == so_far
    assert not [url for url in asked if re.search(rf"/documents/{done.id}/$", url)]  # never in flight, never asked
