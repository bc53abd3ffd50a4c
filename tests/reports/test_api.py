"""The report API: generate, list, detail, download. Members only; 404 for everyone else."""

from urllib.parse import unquote

import pytest
from django.urls import reverse
from rest_framework.throttling import ScopedRateThrottle

from reports.models import Report, ReportStatus
from reports.services import report_create
from tests.reports.helpers import generate, read_docx

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]  # compares English wording


def urls(room, report=None):
    base = f"/api/rooms/{room.id}/reports"
    if report is None:
        return {"list": base, "generate": f"{base}/generate"}
    return {"detail": f"{base}/{report.id}", "download": f"{base}/{report.id}/download"}


def test_member_starts_a_report_and_gets_202_at_once(client, incident, member):
    client.force_login(member)
    response = client.post(urls(incident)["generate"], {"language": "en"}, content_type="application/json")
    assert response.status_code == 202
    body = response.json()
    report = Report.objects.get(id=body["report_id"])
    assert body["status"] == "pending" and body["created"] is True
    assert "warning" not in body
    assert report.language == "en" and report.requested_by == member


def test_a_second_request_while_one_is_in_flight_returns_that_report(client, incident, member, commander):
    client.force_login(member)
    first = client.post(urls(incident)["generate"]).json()
    client.force_login(commander)
    second = client.post(urls(incident)["generate"]).json()
    assert second["report_id"] == first["report_id"] and second["created"] is False
    assert Report.objects.filter(room=incident).count() == 1


def test_a_postmortem_runs_beside_an_incident_report(client, incident, member):
    client.force_login(member)
    first = client.post(urls(incident)["generate"]).json()
    second = client.post(urls(incident)["generate"], {"kind": "postmortem"}, content_type="application/json").json()
    assert first["report_id"] != second["report_id"]


def test_generating_for_an_active_room_works_with_a_warning(client, room, member):
    client.force_login(member)
    response = client.post(urls(room)["generate"])
    assert response.status_code == 202
    assert "still active" in response.json()["warning"]


def test_an_unknown_language_is_refused(client, incident, member):
    client.force_login(member)
    response = client.post(urls(incident)["generate"], {"language": "fr"}, content_type="application/json")
    assert response.status_code == 400
    assert "language" in response.json()["error"]["details"]


def test_outsider_gets_404_for_every_report_endpoint(client, incident, member, outsider):
    report, _ = report_create(room=incident, requested_by=member)
    client.force_login(outsider)
    assert client.post(urls(incident)["generate"]).status_code == 404
    for url in [urls(incident)["list"], *urls(incident, report).values()]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "not_found"
    assert not Report.objects.exclude(id=report.id).exists()


def test_anonymous_people_are_refused(client, incident):
    assert client.get(urls(incident)["list"]).status_code in (401, 403)


def test_operator_sees_any_room_reports(client, incident, member, operator):
    report_create(room=incident, requested_by=member)
    client.force_login(operator)
    assert client.get(urls(incident)["list"]).json()["count"] == 1


def test_a_report_of_another_room_is_not_found(client, incident, member, commander):
    from tests import factories

    other = factories.make_room(commander=commander, title="Other")
    report, _ = report_create(room=other, requested_by=commander)
    client.force_login(member)
    assert client.get(urls(incident, report)["detail"]).status_code == 404


def test_list_is_newest_first_in_a_fixed_number_of_queries(client, incident, member, django_assert_num_queries):
    older, _ = report_create(room=incident, requested_by=member)
    Report.objects.filter(id=older.id).update(status=ReportStatus.FAILED)
    newer, _ = report_create(room=incident, requested_by=member)
    client.force_login(member)
    # session, user, room, count, page
    with django_assert_num_queries(5):
        response = client.get(urls(incident)["list"])
    ids = [r["id"] for r in response.json()["results"]]
    assert ids == [str(newer.id), str(older.id)]
    assert response.json()["results"][0]["requested_by"]["name"] == "王小明 Member Wang"


def test_detail_shows_progress_steps_and_download_when_completed(client, incident, member,
                                                                django_capture_on_commit_callbacks):
    report = generate(incident, member, django_capture_on_commit_callbacks)
    client.force_login(member)
    body = client.get(urls(incident, report)["detail"]).json()
    assert body["status"] == "completed" and body["percent"] == 100
    assert body["provider"] == "offline"
    assert body["download_url"] == urls(incident, report)["download"]
    assert [s["key"] for s in body["steps"]] == ["collect_data", "generate_content", "assemble_document", "publish"]
    assert body["steps"][1]["children"]
    assert "prompt" not in str(body["steps"]) and "error_detail" not in body
    for field in ("prompt_tokens", "completion_tokens", "created_at", "started_at", "completed_at", "error_message"):
        assert field in body


def test_download_is_409_until_completed(client, incident, member):
    report, _ = report_create(room=incident, requested_by=member)
    client.force_login(member)
    response = client.get(urls(incident, report)["download"])
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_ready"


def test_download_has_a_readable_utf8_file_name(client, incident, member, django_capture_on_commit_callbacks):
    report = generate(incident, member, django_capture_on_commit_callbacks)
    client.force_login(member)
    response = client.get(urls(incident, report)["download"])
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument")
    disposition = response["Content-Disposition"]
    name = unquote(disposition.split("filename*=utf-8''")[1])
    day = report.completed_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Taipei")).date().isoformat()
    assert name == f"事件報告-{incident.title}-{day}.docx"
    document = read_docx(b"".join(response.streaming_content))
    assert document.paragraphs[0].text.startswith("事件報告")


def test_generate_is_throttled_per_user(client, incident, member, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {**ScopedRateThrottle.THROTTLE_RATES,
                                                               "report_generate": "2/min"})
    client.force_login(member)
    statuses = [client.post(urls(incident)["generate"]).status_code for _ in range(3)]
    assert statuses == [202, 202, 429]


def test_the_api_routes_have_their_names():
    assert reverse("reports-api:report-list", kwargs={"room_id": "00000000-0000-0000-0000-000000000000"}) \
        == "/api/rooms/00000000-0000-0000-0000-000000000000/reports"


def test_reading_a_stuck_report_changes_nothing_the_reaper_ends_it(client, incident, member, settings):
    from datetime import timedelta

    from django.utils import timezone

    from reports import tasks

    report, _ = report_create(room=incident, requested_by=member)
    Report.objects.filter(id=report.id).update(
        status=ReportStatus.COLLECTING_DATA, attempts=2,
        stage_started_at=timezone.now() - timedelta(seconds=settings.REPORT_STUCK_AFTER_SECONDS + 1),
    )
    client.force_login(member)
    # A GET never writes: looking at a stuck report leaves it as it is.
    assert client.get(urls(incident, report)["detail"]).json()["status"] == "collecting_data"
    assert tasks.reap_stuck_reports() == {"requeued": 0, "failed": 1}
    body = client.get(urls(incident, report)["detail"]).json()
    assert body["status"] == "failed" and body["error_message"] == "報告產生逾時而被中止，請重新產生。"


def test_the_embedded_worker_sends_the_reaper_on_a_timer(settings, monkeypatch):
    import threading

    from config import celery

    settings.REPORT_REAP_INTERVAL_SECONDS = 0.05
    sent = threading.Event()
    monkeypatch.setattr(celery.app, "send_task", lambda name: name == "reports.reap_stuck_reports" and sent.set())
    celery._start_reaper_timer()
    try:
        assert sent.wait(5)
    finally:
        celery._embedded_reaper.set()
