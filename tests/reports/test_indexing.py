"""A completed report is indexed into the knowledge base and found from another room; a new version replaces it."""

import pytest

from knowledge import search
from knowledge.models import DocumentKind, DocumentStatus, KnowledgeDocument
from reports import review
from tests import factories
from tests.reports.helpers import generate

pytestmark = pytest.mark.django_db


def test_a_completed_report_is_found_from_another_room_and_a_new_version_replaces_it(
        incident, commander, member, django_capture_on_commit_callbacks):
    report = generate(incident, commander, django_capture_on_commit_callbacks)
    document = KnowledgeDocument.objects.get(room=incident, kind=DocumentKind.INCIDENT_REPORT)
    assert document.status == DocumentStatus.INDEXED and document.source_report_id == report.id
    other = factories.make_room(commander=factories.make_user(username="elsewhere"), title="另一個事件室")
    hits = search.search("連線池", k=5, exclude_room_id=other.id).hits
    assert any(hit.chunk.document_id == document.id for hit in hits)

    with django_capture_on_commit_callbacks(execute=True):
        review.report_edit(report=report, by=member, base_version=1, sections={"summary": "光纖模組更換後恢復。"})
    document.refresh_from_db()
    assert KnowledgeDocument.objects.filter(room=incident, kind=DocumentKind.INCIDENT_REPORT).count() == 1
    assert any(hit.chunk.document_id == document.id for hit in search.search("光纖", k=5).hits)
