import io
import re
import threading
from datetime import date, datetime
from datetime import timezone as dt_timezone

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from docx import Document

from reports import kpis
from reports.daily import producer as daily
from reports.daily import schedule as daily_schedule
from reports.models import Report, ReportKind, ReportStatus
from tests import factories
from tests.reports.http_stub import stub_server  # noqa: F401 - fixture
from tests.reports.kpi_dataset import DAY, TAIPEI, seed_known_day

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_channels(settings):
    settings.DELIVERY_EMAIL_TO = []
    settings.TELEGRAM_BOT_TOKEN = settings.TELEGRAM_CHAT_ID = ""
    settings.WEBHOOK_URL = ""
    settings.DELIVERY_BACKOFF_SECONDS = 0
    return settings


def docx_text(report):
    with report.document.open("rb") as handle:
        document = Document(io.BytesIO(handle.read()))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return document, "\n".join(p.text for p in document.paragraphs), cells


# --- The beat entry ------------------------------------------------------------------


def test_migrate_created_the_0800_taipei_beat_entry_for_operators():
    task = PeriodicTask.objects.get(name=daily_schedule.SCHEDULE_NAME)
    assert task.task == "reports.daily_report"
    assert task.enabled
    assert (task.crontab.minute, task.crontab.hour, str(task.crontab.timezone)) == ("0", "8", "Asia/Taipei")


def test_the_beat_entry_resolves_to_0800_taipei_which_is_0000_utc():
    schedule = PeriodicTask.objects.get(name=daily_schedule.SCHEDULE_NAME).crontab.schedule
    now = datetime(2026, 3, 10, 10, 0, tzinfo=TAIPEI)  # after today's run
    schedule.nowfun = lambda: now
    last_run = datetime(2026, 3, 10, 8, 0, tzinfo=TAIPEI)

    next_run = now + schedule.remaining_estimate(last_run)

    assert next_run == datetime(2026, 3, 11, 8, 0, tzinfo=TAIPEI)
    assert next_run == datetime(2026, 3, 11, 0, 0, tzinfo=dt_timezone.utc)
    assert schedule.is_due(last_run).is_due is False


def test_a_beat_that_was_down_at_0800_runs_the_missed_report_when_it_comes_back():
    schedule = PeriodicTask.objects.get(name=daily_schedule.SCHEDULE_NAME).crontab.schedule
    schedule.nowfun = lambda: datetime(2026, 3, 11, 9, 30, tzinfo=TAIPEI)

    assert schedule.is_due(datetime(2026, 3, 10, 8, 0, tzinfo=TAIPEI)).is_due is True


def test_setup_schedules_recreates_a_deleted_entry_and_leaves_an_edited_one_alone():
    PeriodicTask.objects.filter(name=daily_schedule.SCHEDULE_NAME).delete()
    out = io.StringIO()
    call_command("setup_schedules", stdout=out)
    assert "Created" in out.getvalue()
    task = PeriodicTask.objects.get(name=daily_schedule.SCHEDULE_NAME)

    task.enabled = False
    task.crontab.hour = "7"
    task.crontab.save()
    task.save()
    assert daily_schedule.ensure_daily_schedule() == (task, False)
    task.refresh_from_db()
    assert (task.enabled, task.crontab.hour) == (False, "7")
    assert PeriodicTask.objects.filter(task="reports.daily_report").count() == 1


# --- Producing a day --------------------------------------------------------------------


def test_the_daily_report_holds_the_kpis_and_a_docx_with_tables_and_two_charts():
    seed_known_day()

    run = daily.daily_report_produce(day=DAY)

    report = run.report
    assert run.produced
    assert (report.kind, report.status, report.period_date) == (ReportKind.DAILY, ReportStatus.COMPLETED, DAY)
    assert report.document.name == "reports/daily/2026-03-10.docx"
    assert report.document_size == report.document.size
    assert report.content["kpis"] == kpis.collect_kpis(kpis.day_window(DAY))
    assert report.content["health"]["label"] == "attention"
    assert report.content["period"]["start"] == "2026-03-10T00:00:00+08:00"

    document, text, cells = docx_text(report)
    assert "每日營運報告 · 2026-03-10" in text
    assert "健康狀態：注意  開啟 5 · 解決 4 · 未結案 3" in text
    assert "1 件 SEV1" in text
    assert ["開啟", "5", "解決", "4"] == cells[2:6]
    assert "MTTR p90" in cells and "240 分鐘" in cells
    assert "Email" in cells and "Network" in cells and "F 事件 incident" in cells
    assert "dify" in cells and "1,500" in cells
    assert len(document.inline_shapes) == 2
    # Written in the report's language only: no English twin beside the Chinese.
    assert "Daily report" not in text and "Health" not in text and "Opened" not in cells


def test_an_english_daily_report_is_written_in_english_only(settings):
    settings.REPORT_LANGUAGE = "en"
    seed_known_day()
    report = daily.daily_report_produce(day=DAY).report
    _, text, cells = docx_text(report)
    assert report.language == "en"
    assert "Daily report · 2026-03-10" in text and "Health: Attention  opened 5 · resolved 4 · still open 3" in text
    assert ["Opened", "5", "Resolved", "4"] == cells[2:6]
    # Room titles are the rooms' own words; everything else is English.
    assert not re.search("[\u4e00-\u9fff]", re.sub(r"\w 事件 incident", "", text))


def test_running_a_day_again_returns_the_same_report_and_force_rewrites_it_in_place():
    first = daily.daily_report_produce(day=DAY)
    again = daily.daily_report_produce(day=DAY)
    assert (again.produced, again.reason, again.report.pk) == (False, "already produced", first.report.pk)

    factories.make_room(created_at=datetime(2026, 3, 10, 12, 0, tzinfo=TAIPEI))
    forced = daily.daily_report_produce(day=DAY, force=True)

    assert forced.produced and forced.report.pk == first.report.pk
    assert forced.report.content["kpis"]["rooms"]["opened"] == 1
    assert forced.report.document.name == "reports/daily/2026-03-10.docx"
    assert Report.objects.filter(kind=ReportKind.DAILY).count() == 1


def test_a_failing_source_leaves_the_report_complete_with_that_part_marked_unavailable(monkeypatch):
    seed_known_day()

    def broken(window):
        raise TimeoutError("statement timeout")

    monkeypatch.setitem(kpis.SOURCES, "tokens", broken)
    report = daily.daily_report_produce(day=DAY).report

    assert report.status == ReportStatus.COMPLETED
    assert report.content["kpis"]["tokens"] == {"unavailable": True, "reason": "TimeoutError: statement timeout"}
    _, text, cells = docx_text(report)
    assert "資料無法取得：TimeoutError: statement timeout" in text
    assert "F 事件 incident" in cells


def test_a_failed_run_is_recorded_and_the_next_run_writes_the_day(monkeypatch):
    def broken(content):
        raise RuntimeError("disk full")

    monkeypatch.setattr(daily, "build_daily_docx", broken)
    with pytest.raises(RuntimeError):
        daily.daily_report_produce(day=DAY)
    report = Report.objects.get(kind=ReportKind.DAILY, period_date=DAY)
    assert report.status == ReportStatus.FAILED
    assert "disk full" in report.error_detail
    assert report.error_message == "無法產生每日報告，下次執行時會再試一次。"

    monkeypatch.undo()
    assert daily.daily_report_produce(day=DAY).produced
    report.refresh_from_db()
    assert (report.status, report.error_detail) == (ReportStatus.COMPLETED, "")


def test_delivery_that_always_fails_never_fails_the_report(stub_server, settings):
    settings.WEBHOOK_URL = f"{stub_server.url}/hook"
    settings.WEBHOOK_SECRET = "s"
    stub_server.respond(then=500)

    report = daily.daily_report_produce(day=DAY).report

    report.refresh_from_db()
    assert report.status == ReportStatus.COMPLETED
    assert report.delivery["webhook"]["status"] == "failed"
    assert report.delivery["webhook"]["fallback"]["status"] == "failed"
    assert len(stub_server.requests) == 4
    body = stub_server.requests[0].json()
    assert (body["event"], body["date"], body["health"]) == ("report.daily", "2026-03-10", "good")
    assert body["download_url"] == "http://127.0.0.1:8000/reports/daily/2026-03-10/download/"


def test_telegram_gets_the_summary_and_the_docx_of_the_day(stub_server, settings):
    settings.TELEGRAM_BOT_TOKEN, settings.TELEGRAM_CHAT_ID = "1:t", "42"
    settings.TELEGRAM_API_BASE = stub_server.url
    stub_server.respond(500, 500, 200)
    seed_known_day()

    report = daily.daily_report_produce(day=DAY).report

    report.refresh_from_db()
    assert report.delivery["telegram"]["status"] == "delivered"
    assert report.delivery["telegram"]["attempts"] == 3
    message = stub_server.requests[2].json()
    assert message["parse_mode"] == "HTML"
    assert message["text"].startswith("<b>每日營運報告 2026-03-10</b>\n健康狀態：注意")
    with report.document.open("rb") as handle:
        assert handle.read() in stub_server.requests[3].body


# --- Exactly once -----------------------------------------------------------------------


def _race(monkeypatch, *, bypass_cache_lock):
    """Two workers produce the same day at once; the winner waits inside the work until the loser gave up."""
    calls = []
    loser_done = threading.Event()
    real_collect = kpis.collect_kpis

    def slow_collect(window):
        calls.append(window.day)
        loser_done.wait(timeout=10)
        return real_collect(window)

    monkeypatch.setattr(kpis, "collect_kpis", slow_collect)
    if bypass_cache_lock:
        monkeypatch.setattr(daily, "_take_lock", lambda key, token: True)
    start = threading.Barrier(2)
    runs, errors = [], []

    def worker():
        try:
            start.wait(timeout=10)
            run = daily.daily_report_produce(day=DAY)
            runs.append(run)
            if not run.produced:
                loser_done.set()
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    return calls, runs


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_for_a_day_make_one_report_and_do_the_work_once(monkeypatch):
    calls, runs = _race(monkeypatch, bypass_cache_lock=False)

    assert calls == [DAY]
    assert sorted(run.produced for run in runs) == [False, True]
    assert [run.reason for run in runs if not run.produced] == ["another worker is producing this day"]
    assert Report.objects.filter(kind=ReportKind.DAILY, period_date=DAY).count() == 1
    assert Report.objects.get(kind=ReportKind.DAILY).status == ReportStatus.COMPLETED


@pytest.mark.django_db(transaction=True)
def test_without_a_shared_cache_the_database_claim_still_does_the_work_once(monkeypatch):
    calls, runs = _race(monkeypatch, bypass_cache_lock=True)

    assert calls == [DAY]
    assert sorted(run.produced for run in runs) == [False, True]
    assert Report.objects.filter(kind=ReportKind.DAILY, period_date=DAY).count() == 1


# --- The task and its catch-up ----------------------------------------------------------


@pytest.fixture
def at_0800_on_the_11th(monkeypatch):
    moment = datetime(2026, 3, 11, 8, 0, 5, tzinfo=TAIPEI)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    return moment


def test_the_scheduled_task_reports_on_yesterday(at_0800_on_the_11th):
    result = daily.daily_report.delay().get()

    assert result == [{"date": "2026-03-10", "produced": True, "reason": ""}]
    assert list(Report.objects.filter(kind=ReportKind.DAILY).values_list("period_date", flat=True)) == [DAY]


def test_the_scheduled_task_also_produces_the_days_a_stopped_beat_missed(at_0800_on_the_11th, settings):
    settings.DAILY_REPORT_CATCHUP_DAYS = 3
    daily.daily_report_produce(day=date(2026, 3, 6))  # the last run before beat stopped
    daily.daily_report_produce(day=date(2026, 3, 8))

    result = daily.daily_report.delay().get()

    assert [(row["date"], row["produced"]) for row in result] == [
        ("2026-03-10", True), ("2026-03-07", True), ("2026-03-09", True),
    ]
    days = set(Report.objects.filter(kind=ReportKind.DAILY, status="completed").values_list("period_date", flat=True))
    assert days == {date(2026, 3, day) for day in range(6, 11)}
    # A retried or second beat run makes nothing new.
    assert daily.daily_report.delay().get() == [{"date": "2026-03-10", "produced": False, "reason": "already produced"}]
    assert Report.objects.filter(kind=ReportKind.DAILY).count() == 5


def test_a_given_day_is_produced_alone(at_0800_on_the_11th):
    daily.daily_report_produce(day=date(2026, 3, 8))

    assert daily.daily_report.delay(day="2026-03-05").get() == [
        {"date": "2026-03-05", "produced": True, "reason": ""},
    ]
    assert Report.objects.filter(kind=ReportKind.DAILY).count() == 2


# --- The command --------------------------------------------------------------------------


def test_the_command_backfills_a_day_and_does_not_write_it_twice():
    out = io.StringIO()
    call_command("daily_report", "--date", "2026-03-10", stdout=out)
    assert "Daily report 2026-03-10 written: reports/daily/2026-03-10.docx (good)" in out.getvalue()
    assert "No delivery channel is configured." in out.getvalue()

    call_command("daily_report", "--date", "2026-03-10", stdout=out)
    assert "not written again: already produced" in out.getvalue()

    with pytest.raises(CommandError, match="--date must look like"):
        call_command("daily_report", "--date", "10/03/2026")


def test_the_command_delivers_in_the_foreground_and_prints_the_outcome(stub_server, settings):
    settings.WEBHOOK_URL, settings.WEBHOOK_SECRET = f"{stub_server.url}/hook", "s"
    out = io.StringIO()

    call_command("daily_report", "--date", "2026-03-10", stdout=out)

    assert "  webhook: delivered after 1 tries" in out.getvalue()
    assert len(stub_server.requests) == 1


# --- Pages and admin --------------------------------------------------------------------------


@pytest.fixture
def produced_day(db):
    seed_known_day()
    report = daily.daily_report_produce(day=DAY).report
    Report.objects.filter(pk=report.pk).update(delivery={
        "webhook": {"status": "failed", "attempts": 3, "errors": ["webhook answered HTTP 500"]},
    })
    return report


def test_operators_see_the_daily_reports_with_download_links(client, operator, produced_day):
    client.force_login(operator)
    response = client.get("/reports/daily/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "2026-03-10" in page
    # The health in the page's language only, coloured by its state.
    assert 'class="badge health-attention">注意<' in page and "Attention" not in page
    assert 'href="/reports/daily/2026-03-10/download/"' in page
    assert "webhook: failed" in page


def test_operators_download_the_docx(client, operator, produced_day):
    client.force_login(operator)
    response = client.get("/reports/daily/2026-03-10/download/")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="warroom-daily-2026-03-10.docx"'
    with produced_day.document.open("rb") as handle:
        assert b"".join(response.streaming_content) == handle.read()


def test_responders_cannot_see_or_download_daily_reports(client, member, produced_day):
    client.force_login(member)
    assert client.get("/reports/daily/").status_code == 403
    assert client.get("/reports/daily/2026-03-10/download/").status_code == 403


def test_anonymous_people_are_sent_to_login_and_unknown_days_are_404(client, operator, produced_day):
    assert client.get("/reports/daily/2026-03-10/download/").status_code == 302
    client.force_login(operator)
    assert client.get("/reports/daily/2026-03-09/download/").status_code == 404
    assert client.get("/reports/daily/not-a-day/download/").status_code == 404


def test_the_admin_shows_the_delivery_outcome_per_channel(client, produced_day):
    admin = factories.make_user(username="root", staff=True, is_superuser=True)
    client.force_login(admin)
    response = client.get(f"/admin/reports/report/{produced_day.pk}/change/")
    assert response.status_code == 200
    assert "<b>webhook</b>: ✘ failed <small>(3 tries; last error: webhook answered HTTP 500)</small>" in (
        response.content.decode()
    )
    listing = client.get("/admin/reports/report/?kind__exact=daily").content.decode()
    assert "每日營運報告 2026-03-10" in listing

