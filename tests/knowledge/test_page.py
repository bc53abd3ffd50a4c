"""The knowledge page (/knowledge/): operators and commanders upload there; everyone else is refused."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from incidents.models import MemberRole
from knowledge.models import DocumentStatus, KnowledgeDocument
from tests.factories import add_member, make_user

pytestmark = pytest.mark.django_db

URL = "/knowledge/"
RUNBOOK = "# DNS 故障\n\n先清除 resolver 快取。".encode()


def post_upload(client, data=RUNBOOK, name="dns.md", **fields):
    return client.post(URL, {"file": SimpleUploadedFile(name, data), "kind": "runbook", **fields})


@pytest.mark.parametrize("persona", ["commander", "operator"])
def test_an_operator_or_a_commander_uploads_on_the_page_and_the_document_is_indexed(
        request, client, room, persona, english, django_capture_on_commit_callbacks):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_upload(client, title="DNS 故障處理", tags="dns，網路", kind="reference")
    assert response.status_code == 302 and response["Location"] == URL
    document = KnowledgeDocument.objects.get()
    assert (document.title, document.kind, document.tags, document.uploaded_by) == ("DNS 故障處理", "reference",
                                                                                   ["dns", "網路"], user)
    assert (document.status, document.chunk_count) == (DocumentStatus.INDEXED, 1)
    page = client.get(URL).content.decode()
    assert "“DNS 故障處理” was uploaded; it is being indexed." in page
    assert 'id="kb-upload"' in page


@pytest.mark.parametrize("role", [MemberRole.RESPONDER, MemberRole.OBSERVER, None])
def test_anyone_else_is_refused_and_nothing_is_stored(client, room, role):
    user = make_user(username="someone")
    if role:
        add_member(room, user, role)
    client.force_login(user)
    assert 'id="kb-upload"' not in client.get(URL).content.decode()  # no form to use
    response = post_upload(client)
    assert response.status_code == 403
    assert not KnowledgeDocument.objects.exists()


def test_an_anonymous_upload_is_sent_to_log_in(client):
    response = post_upload(client)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not KnowledgeDocument.objects.exists()


def test_a_file_that_is_not_a_document_is_refused_on_the_form(client, operator, english):
    client.force_login(operator)
    response = post_upload(client, data=b"\x89PNG\r\n\x1a\n" + bytes(200), name="runbook.md")
    assert response.status_code == 200
    assert "Warroom reads Markdown, plain text, PDF, Word (.docx) and HTML files" in response.content.decode()
    assert not KnowledgeDocument.objects.exists()


def test_the_page_hands_its_script_the_documents_in_flight_and_its_words(client, member):
    from django.core.files.base import ContentFile

    parsing = KnowledgeDocument(title="大型 PDF", format="pdf", status=DocumentStatus.PARSING, progress=40)
    parsing.file.save("big.pdf", ContentFile(b"%PDF-1.7"), save=True)
    done = KnowledgeDocument(title="DNS", format="markdown", status=DocumentStatus.INDEXED, progress=100, chunk_count=3)
    done.file.save("dns.md", ContentFile(b"# DNS"), save=True)
    client.force_login(member)
    page = client.get(URL, HTTP_ACCEPT_LANGUAGE="zh-hant").content.decode()
    assert f'<tr data-document-id="{parsing.id}" data-status="parsing">' in page
    assert f'<tr data-document-id="{done.id}" data-status="indexed">' in page
    assert page.count('<progress class="kb-progress" max="100" value="40"') == 1  # only the one in flight
    assert 'src="/static/js/knowledge_documents.js"' in page and "<script>" not in page  # the CSP forbids inline scripts
    # The script's words, in the page's language, with the placeholder it fills in.
    assert 'data-url="/api/knowledge/documents/"' in page
    assert 'data-i18n-indexed="「%(title)s」已建立索引，現在搜尋得到了。"' in page
    assert 'data-i18n-failed="「%(title)s」無法建立索引；原因請見該列。"' in page
    assert 'data-i18n-progress="索引進度"' in page
