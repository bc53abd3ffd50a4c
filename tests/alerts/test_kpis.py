"""The alert figures of the daily report, and the .docx that shows them."""

import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from docx import Document

from alerts.models import Alert, AlertGroup, AlertSnooze
from alerts.services import alert_acknowledge, alerts_auto_resolve_due
from incidents.models import IncidentRoom
from reports import kpis
from reports.daily import producer as daily
from tests.alerts.payloads import am_alert

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 20)
TAIPEI = ZoneInfo("Asia/Taipei")


def at(hour, minute=0):
    return datetime(2026, 11, 20, hour, minute, tzinfo=TAIPEI)


@pytest.fixture
def alert_day(ingest, am_source, member, settings):
    """Two rooms from alerts: one converged and acknowledged after 5 min, one auto-resolved; one snoozed alert."""
    settings.ALERT_AUTO_RESOLVE_AFTER = 300
    ingest(am_alert(fingerprint="a1", instance="SW-01"), now=at(10))
    ingest(am_alert(fingerprint="a2", instance="SW-02"), now=at(10, 1))
    ingest(am_alert(fingerprint="a1", instance="SW-01"), now=at(10, 2))  # a repeat
    alert_acknowledge(alert=Alert.objects.get(fingerprint="a2"), by=member, now=at(10, 6))
    ingest(am_alert("DiskFull", fingerprint="b1", service="billing", category="Storage"), now=at(11))
    ingest(am_alert("DiskFull", fingerprint="b1", service="billing", category="Storage", status="resolved"), now=at(11, 1))
    assert alerts_auto_resolve_due(now=at(11, 7)) == 1
    AlertSnooze.objects.create(source=am_source, matchers={"alertname": "Flappy"}, until=at(23))
    ingest(am_alert("Flappy", fingerprint="c1", service="edge"), now=at(12))
    # The day after: not counted.
    ingest(am_alert(fingerprint="z1", instance="SW-09"), now=at(10) + timedelta(days=1))
    # Rooms take their times from the clock, the alerts from ``now``: put the rooms on the same day.
    for group in AlertGroup.objects.select_related("room"):
        IncidentRoom.objects.filter(pk=group.room_id).update(
            created_at=group.opened_at, resolved_at=group.auto_resolved_at or group.room.resolved_at)


def test_alert_kpis_of_the_day(alert_day, am_source):
    figures = kpis.collect_kpis(kpis.day_window(DAY))["alerts"]
    assert figures == {
        "received": 6,
        "duplicates": 1,
        "unique": 4,
        "converged": 1,
        "suppressed": 1,
        "rooms_opened": 2,
        "handled_by_person": 1,
        "auto_resolved": 1,
        "alert_rooms_resolved": 1,
        "auto_resolve_rate": 1.0,
        "acknowledged": 1,
        "mtta_minutes": 5.0,
        "categories": [{"category": "CoreSwitchBGPDown", "count": 2}, {"category": "Flappy", "count": 1},
                       {"category": "Storage", "count": 1}],
        "noisiest_sources": [{"source": "prometheus", "count": 6}],
        "noisiest_alertnames": [{"alertname": "CoreSwitchBGPDown", "count": 3}, {"alertname": "DiskFull", "count": 1},
                                {"alertname": "Flappy", "count": 1}],
    }


def test_a_failing_alert_query_marks_only_that_part_unavailable(alert_day, monkeypatch):
    def broken(window):
        raise RuntimeError("relation alerts_alert does not exist")

    monkeypatch.setitem(kpis.SOURCES, "alerts", broken)
    figures = kpis.collect_kpis(kpis.day_window(DAY))
    assert figures["alerts"]["unavailable"] and figures["rooms"]["opened"] == 2


def docx_cells(report):
    with report.document.open("rb") as handle:
        document = Document(io.BytesIO(handle.read()))
    return [cell.text for table in document.tables for row in table.rows for cell in row.cells]


def test_the_daily_docx_shows_the_alert_kpis_in_english(alert_day, settings):
    settings.REPORT_LANGUAGE = "en"
    cells = docx_cells(daily.daily_report_produce(day=DAY, deliver=False).report)
    pairs = dict(zip(cells[::2], cells[1::2]))
    assert pairs["Alerts received"] == "6" and pairs["Unique alerts"] == "4"
    assert pairs["Duplicate deliveries suppressed"] == "1" and pairs["Rooms opened from alerts"] == "2"
    assert pairs["Rooms resolved automatically"] == "1" and pairs["Auto-resolve rate"] == "100%"
    assert pairs["MTTA (time to acknowledge)"] == "5 min" and pairs["Storage"] == "1"
    assert pairs["Source: prometheus"] == "6"


def test_the_daily_docx_shows_the_alert_kpis_in_chinese(alert_day, settings):
    settings.REPORT_LANGUAGE = "zh-hant"
    cells = docx_cells(daily.daily_report_produce(day=DAY, deliver=False).report)
    pairs = dict(zip(cells[::2], cells[1::2]))
    assert pairs["收到的告警"] == "6" and pairs["平均確認時間（MTTA）"] == "5 分鐘"
    assert "Alerts received" not in cells
