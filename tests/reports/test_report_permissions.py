"""Every report URL, walked as an outsider, an anonymous visitor, a member and an operator; CSRF on session writes.

The rooms matrix (tests/incidents/test_permissions.py) extended to reports:
outsiders get the same 404 as for a room that does not exist, so a report's
existence never leaks; session-authenticated writes need the CSRF token,
token-authenticated ones do not. The WebSocket Origin check is in
tests/realtime/test_consumer.py (test_foreign_origin_is_refused).
"""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.services import api_token_create
from reports.models import Report, ReportStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def reports(room, commander):
    done = Report.objects.create(room=room, requested_by=commander, status=ReportStatus.COMPLETED,
                                 language="en", title="Done")
    done.document.save("report.docx", ContentFile(b"PK docx bytes"), save=True)
    failed = Report.objects.create(room=room, requested_by=commander, status=ReportStatus.FAILED,
                                   error_message="AI refused")
    return done, failed


def report_urls(room, done, failed):
    """(method, url, body, what a plain member gets)."""
    base = f"/api/rooms/{room.id}/reports"
    return [
        ("get", base, None, 200),
        ("post", f"{base}/generate", {}, 202),
        ("get", f"{base}/{done.id}", None, 200),
        ("get", f"{base}/{failed.id}", None, 200),
        ("get", f"{base}/{done.id}/download", None, 200),
        ("get", f"{base}/{failed.id}/download", None, 409),
    ]


def call(client, method, url, body):
    return getattr(client, method)(url, body, format="json") if body is not None else getattr(client, method)(url)


def test_outsider_gets_404_for_every_report_url_and_starts_nothing(api, room, reports, outsider):
    api.force_login(outsider)
    before = Report.objects.count()
    for method, url, body, _ in report_urls(room, *reports):
        response = call(api, method, url, body)
        assert response.status_code == 404, (method, url, response.status_code)
        assert response.json()["error"]["code"] == "not_found"
    assert Report.objects.count() == before


def test_outsider_cannot_reach_a_report_through_a_room_they_are_in(api, room, reports, outsider):
    """The report id alone opens nothing: it must belong to the room in the URL."""
    from tests.factories import make_room

    own_room = make_room(commander=outsider, title="Outsider's own room")  # the commander is a member
    api.force_login(outsider)
    done, _ = reports
    for suffix in ("", "/download"):
        response = api.get(f"/api/rooms/{own_room.id}/reports/{done.id}{suffix}")
        assert response.status_code == 404, suffix


def test_anonymous_visitors_get_401_for_every_report_url(api, room, reports):
    for method, url, body, _ in report_urls(room, *reports):
        response = call(api, method, url, body)
        assert response.status_code == 401, (method, url, response.status_code)
        assert response.json()["error"]["code"] == "not_authenticated"


def test_member_reaches_every_report_url(api, room, reports, member):
    api.force_login(member)
    for method, url, body, expected in report_urls(room, *reports):
        response = call(api, method, url, body)
        assert response.status_code == expected, (method, url, response.status_code)


def test_operator_reaches_reports_of_a_room_they_are_not_in(api, room, reports, operator):
    api.force_login(operator)
    done, _ = reports
    assert api.get(f"/api/rooms/{room.id}/reports").status_code == 200
    assert api.get(f"/api/rooms/{room.id}/reports/{done.id}/download").status_code == 200


def test_daily_report_pages_are_for_operators_only(client, member, operator):
    client.force_login(member)
    assert client.get(reverse("reports:daily-list")).status_code == 403
    assert client.get(reverse("reports:daily-download", args=["2026-11-20"])).status_code == 403
    client.force_login(operator)
    assert client.get(reverse("reports:daily-list")).status_code == 200


def test_session_writes_need_the_csrf_token(room, member):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(member)
    url = f"/api/rooms/{room.id}/reports/generate"
    refused = browser.post(url, {}, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]["message"]
    assert not Report.objects.filter(room=room).exists()
    assert browser.post(f"/api/rooms/{room.id}/messages/", {"body": "hi"}, format="json").status_code == 403

    browser.get(reverse("incidents:room-detail", args=[room.id]))  # the page sets the csrftoken cookie
    token = browser.cookies["csrftoken"].value
    accepted = browser.post(url, {}, format="json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 202, accepted.content


def test_token_writes_need_no_csrf_token(room, member):
    _, key = api_token_create(user=member, name="integration")
    integration = APIClient(enforce_csrf_checks=True)
    response = integration.post(f"/api/rooms/{room.id}/reports/generate", {}, format="json",
                                HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 202, response.content
