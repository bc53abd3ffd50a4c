"""POST/GET/DELETE /api/knowledge/documents/ and reparse; index_report from a finished report."""

import uuid

import pytest
from django.core.files.storage import default_storage

from incidents.models import MemberRole
from knowledge import search, services
from knowledge.models import DocumentStatus, KnowledgeChunk, KnowledgeDocument
from tests.factories import add_member, make_room, make_user
from tests.knowledge.documents import pdf_bytes

pytestmark = pytest.mark.django_db

URL = "/api/knowledge/documents/"


def post_file(api, data, name="runbook.md", **fields):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return api.post(URL, {"file": SimpleUploadedFile(name, data), **fields}, format="multipart")


def test_commander_uploads_a_runbook_and_it_is_indexed(api, commander, room, django_capture_on_commit_callbacks):
    api.force_login(commander)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(api, "# DNS 故障\n\n清除 resolver 快取。".encode(), title="DNS 故障處理", tags="dns, 網路")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["title"], body["kind"], body["tags"], body["format"]) == ("DNS 故障處理", "runbook", ["dns", "網路"], "markdown")
    assert "error_detail" not in body  # operators only
    detail = api.get(f"{URL}{body['id']}/").json()
    assert (detail["status"], detail["progress"], detail["chunk_count"]) == ("indexed", 100, 1)


def test_upload_refuses_what_is_not_a_document_with_a_clear_message(api, operator, english):
    api.force_login(operator)
    response = post_file(api, b"\x89PNG\r\n\x1a\n" + bytes(200), name="runbook.md")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unsupported_file"
    assert "Markdown, plain text, PDF" in response.json()["error"]["message"]


def test_upload_refuses_files_over_the_limit(api, operator, settings):
    settings.KNOWLEDGE_MAX_FILE_BYTES = 1024
    api.force_login(operator)
    response = post_file(api, b"a" * 2048, name="big.txt")
    assert response.status_code == 400 and response.json()["error"]["code"] == "too_large"


def test_upload_refuses_report_kinds(api, operator):
    api.force_login(operator)
    response = post_file(api, b"text", kind="incident_report")
    assert response.status_code == 400


def test_a_plain_member_may_not_upload(api, member, room):
    api.force_login(member)
    response = post_file(api, b"# x\n\ny")
    assert response.status_code == 403
    assert not KnowledgeDocument.objects.exists()


def test_operator_sees_the_detail_of_a_failure_and_reparse_runs_again(api, operator, django_capture_on_commit_callbacks):
    api.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        body = post_file(api, pdf_bytes([[]]), name="scan.pdf").json()
    detail = api.get(f"{URL}{body['id']}/").json()
    assert detail["status"] == "failed" and detail["error_message"] and "no extractable text" in detail["error_detail"]
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{URL}{body['id']}/reparse")
    assert response.status_code == 202
    assert api.get(f"{URL}{body['id']}/").json()["status"] == "failed"


def test_reparse_replaces_the_chunks(upload, operator, django_capture_on_commit_callbacks):
    document = upload("# A\n\n第一段。\n\n# B\n\n第二段。".encode())
    first_ids = set(document.chunks.values_list("id", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        services.document_reparse(document=document, by=operator)
    document.refresh_from_db()
    assert document.status == DocumentStatus.INDEXED and document.chunk_count == 2
    assert first_ids.isdisjoint(document.chunks.values_list("id", flat=True))


def test_delete_removes_the_chunks_and_the_stored_file(api, upload, operator, django_capture_on_commit_callbacks):
    document = upload("# A\n\n內容。".encode())
    name = document.file.name
    assert default_storage.exists(name)
    api.force_login(operator)
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"{URL}{document.id}/").status_code == 204
    assert not KnowledgeDocument.objects.filter(id=document.id).exists()
    assert not KnowledgeChunk.objects.exists()
    assert not default_storage.exists(name)
    assert api.get(f"{URL}{document.id}/").status_code == 404


def test_only_the_uploader_or_an_operator_may_delete(api, upload, commander, room):
    document = upload(b"# A\n\nx", by=commander)
    other = make_user(username="other-commander")
    add_member(make_room(commander=None), other, MemberRole.COMMANDER)
    api.force_login(other)
    assert api.delete(f"{URL}{document.id}/").status_code == 403
    api.force_login(commander)
    assert api.delete(f"{URL}{document.id}/").status_code == 204


@pytest.fixture
def eager_retries():
    """Eager tasks retry only when they do not propagate (Celery runs the retry inside apply())."""
    from config.celery import app

    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = True


def test_a_transient_storage_failure_is_retried(eager_retries, monkeypatch, operator, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.files.storage import FileSystemStorage

    real_open, calls = FileSystemStorage.open, []

    def flaky(self, name, mode="rb"):
        calls.append(name)
        if len(calls) == 1:
            raise ConnectionError("storage down")
        return real_open(self, name, mode)

    monkeypatch.setattr(FileSystemStorage, "open", flaky)
    with django_capture_on_commit_callbacks(execute=True):
        document = services.document_upload(uploaded_by=operator, uploaded=SimpleUploadedFile("a.md", b"# A\n\nretry me"))
    document.refresh_from_db()
    assert len(calls) == 2
    assert document.status == DocumentStatus.INDEXED


def test_storage_down_for_good_fails_the_document_after_the_retries(eager_retries, settings, monkeypatch, operator, django_capture_on_commit_callbacks):
    from django.core.files.storage import FileSystemStorage
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.KNOWLEDGE_PARSE_MAX_RETRIES = 2
    calls = []

    def down(self, name, mode="rb"):
        calls.append(name)
        raise ConnectionError("storage down")

    monkeypatch.setattr(FileSystemStorage, "open", down)
    with django_capture_on_commit_callbacks(execute=True):
        document = services.document_upload(uploaded_by=operator, uploaded=SimpleUploadedFile("a.md", b"# A\n\nx"))
    document.refresh_from_db()
    assert len(calls) == 3
    assert document.status == DocumentStatus.FAILED and "storage down" in document.error_detail


def test_a_completed_report_is_indexed_and_found_from_another_room(api, commander, member, room, django_capture_on_commit_callbacks):
    room.resolution_summary = "更換 core-sw-01 的光模塊後恢復。"
    room.status = "resolved"
    room.save()
    report_id = uuid.uuid4()
    with django_capture_on_commit_callbacks(execute=True):
        document = services.index_report(
            room=room, report_id=report_id, kind="incident", title="光模塊故障事件報告",
            text="# 摘要\n\ncore-sw-01 的光模塊故障導致連線中斷。\n\n# 處置\n\n更換光模塊。",
        )
    document.refresh_from_db()
    assert (document.kind, document.status, document.source_report_id, document.room_id) == ("incident_report", "indexed", report_id, room.id)

    other_room = make_room(title="光模塊又壞了", commander=member)
    found = search.search("光模", kinds=["incident_report"])
    assert found.hits[0].chunk.document.room_id == room.id
    api.force_login(member)
    related = api.get(f"/api/rooms/{other_room.id}/related").json()
    assert related["incidents"][0]["room"]["id"] == str(room.id)
    assert related["incidents"][0]["room"]["resolution_summary"] == room.resolution_summary


def test_a_newer_report_version_replaces_the_indexed_one(room, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = services.index_report(room=room, report_id=uuid.uuid4(), kind="incident_report", title="v1", text="舊版的內容。")
    newer = uuid.uuid4()
    with django_capture_on_commit_callbacks(execute=True):
        second = services.index_report(room=room, report_id=newer, kind="incident_report", title="v2", text="新版的內容。")
    assert first.id == second.id
    assert KnowledgeDocument.objects.filter(room=room).count() == 1
    second.refresh_from_db()
    assert second.source_report_id == newer and second.title == "v2"
    assert [c.text for c in second.chunks.all()] == ["新版的內容。"]
    assert search.search("舊版").hits == []


def test_indexing_a_room_document_tells_the_room(room, published_events, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.index_report(room=room, report_id=uuid.uuid4(), kind="postmortem", title="PM", text="事後檢討。")
    progress = [p for r, t, p in published_events if t == "knowledge.progress" and r == str(room.id)]
    assert progress[-1]["status"] == "indexed" and progress[-1]["percent"] == 100
    assert [p["percent"] for p in progress] == sorted(p["percent"] for p in progress)


def test_an_administrator_adds_a_document_in_the_admin_and_a_bad_file_is_refused(client, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    operator = make_user(username="admin", staff=True, is_superuser=True)
    client.force_login(operator)
    url = "/admin/knowledge/knowledgedocument/add/"
    assert client.get(url).status_code == 200
    refused = client.post(url, {"file": SimpleUploadedFile("x.md", b"\x89PNG\r\n\x1a\n" + bytes(64)), "kind": "runbook"})
    assert refused.status_code == 200 and not KnowledgeDocument.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        added = client.post(url, {"file": SimpleUploadedFile("dns.md", "# DNS\n\n清快取。".encode()), "kind": "runbook",
                                  "title": "DNS", "tags_text": "dns, 網路"})
    assert added.status_code == 302, added.content[:500]
    document = KnowledgeDocument.objects.get()
    assert (document.title, document.tags, document.status, document.uploaded_by) == ("DNS", ["dns", "網路"], "indexed", operator)
