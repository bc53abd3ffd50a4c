"""The operator's report screens: re-run from the failed stage, resend a daily report, and the
daily reports page (write now / backfill, partial days, health)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.operators import ensure_operators_group
from reports import kpis
from reports.models import Report, ReportKind, ReportStatus, ReportStep, StepStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, operator):
    operator.groups.add(ensure_operators_group())
    client.force_login(operator)
    return operator


def failed_after_collect(room, operator):
    report = Report.objects.create(room=room, kind=ReportKind.INCIDENT, status=ReportStatus.FAILED,
                                   requested_by=operator, error_message="AI 逾時")
    ReportStep.objects.create(report=report, key="collect_data", status=StepStatus.COMPLETED)
    ReportStep.objects.create(report=report, key="generate_content", status=StepStatus.FAILED)
    return report


def test_rerun_restarts_a_failed_report_at_the_stage_that_failed(client, staff, room, monkeypatch,
                                                                 django_capture_on_commit_callbacks):
    sent = []

    class Chain:
        def __init__(self, report_id, start):
            self.args = (str(report_id), start)

        def apply_async(self):
            sent.append(self.args)

    monkeypatch.setattr("reports.pipeline.workflow.report_workflow", lambda report_id, start="collect_data": Chain(report_id, start))
    report = failed_after_collect(room, staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:reports_report_changelist"),
                               {"action": "rerun_from_failed_stage", "_selected_action": [str(report.id)]}, follow=True)
    assert response.status_code == 200
    report.refresh_from_db()
    # Back at the status generate_content claims from, with the failure cleared.
    assert report.status == ReportStatus.COLLECTING_DATA and report.error_message == ""
    assert sent == [(str(report.id), "generate_content")]


def test_rerun_leaves_completed_reports_alone(client, staff, room, monkeypatch):
    monkeypatch.setattr("reports.pipeline.workflow.report_workflow", lambda *a, **k: pytest.fail("must not start"))
    report = Report.objects.create(room=room, kind=ReportKind.INCIDENT, status=ReportStatus.COMPLETED)
    response = client.post(reverse("admin:reports_report_changelist"),
                           {"action": "rerun_from_failed_stage", "_selected_action": [str(report.id)]}, follow=True)
    assert "未重新執行" in response.content.decode()
    report.refresh_from_db()
    assert report.status == ReportStatus.COMPLETED


def test_resend_queues_the_delivery_of_a_completed_daily_report(client, staff, monkeypatch):
    queued = []
    monkeypatch.setattr("reports.admin.deliver_daily_report.delay", lambda report_id: queued.append(report_id))
    day = kpis.report_day_for()
    report = Report.objects.create(kind=ReportKind.DAILY, status=ReportStatus.COMPLETED, period_date=day,
                                   completed_at=timezone.now())
    client.post(reverse("admin:reports_report_changelist"),
                {"action": "resend_daily_report", "_selected_action": [str(report.id)]})
    assert queued == [str(report.id)]


def test_write_now_refuses_a_day_that_has_not_ended(client, staff, monkeypatch):
    monkeypatch.setattr("reports.views.daily_report.delay", lambda day: pytest.fail("must not write"))
    today = timezone.now().astimezone(kpis.report_timezone()).date()
    response = client.post(reverse("reports:daily-write"), {"day": today.isoformat()}, follow=True)
    assert "尚未結束" in response.content.decode()


def test_write_now_backfills_a_finished_day(client, staff, monkeypatch):
    written = []
    monkeypatch.setattr("reports.views.daily_report.delay", lambda day: written.append(day))
    day = kpis.report_day_for() - timedelta(days=3)
    response = client.post(reverse("reports:daily-write"), {"day": day.isoformat()}, follow=True)
    assert written == [day.isoformat()]
    assert "正在產生" in response.content.decode()


def test_responders_cannot_write_daily_reports(client, member):
    client.force_login(member)
    assert client.post(reverse("reports:daily-write"), {"day": "2026-01-01"}).status_code == 403


def test_daily_page_labels_a_partial_day_and_colours_health_in_one_language(client, staff):
    today = timezone.now().astimezone(kpis.report_timezone()).date()
    yesterday = today - timedelta(days=1)
    content = {"health": {"label": "good"}, "kpis": {"rooms": {"opened": 2, "resolved": 1, "still_open": 1}}}
    Report.objects.create(kind=ReportKind.DAILY, status=ReportStatus.COMPLETED, period_date=today,
                          completed_at=timezone.now(), content=content)
    Report.objects.create(kind=ReportKind.DAILY, status=ReportStatus.COMPLETED, period_date=yesterday,
                          completed_at=kpis.day_window(today).start + timedelta(hours=8),
                          content={**content, "health": {"label": "attention"}})
    html = client.get(reverse("reports:daily-list"), HTTP_ACCEPT_LANGUAGE="zh-TW").content.decode()
    rows = html.split("<tr data-day=")
    today_row = next(r for r in rows if r.startswith(f'"{today.isoformat()}"'))
    yesterday_row = next(r for r in rows if r.startswith(f'"{yesterday.isoformat()}"'))
    assert "未滿一天" in today_row and "未滿一天" not in yesterday_row
    assert 'class="badge health-good">良好<' in today_row and "Good" not in today_row
    assert 'class="badge health-attention">注意<' in yesterday_row
    # "Generated" is shown in Asia/Taipei: 08:00 of the next morning.
    assert f"{today.isoformat()} 08:00" in yesterday_row
