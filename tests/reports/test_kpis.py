from datetime import date, datetime, timezone

import pytest
from django.db import connection

from reports import kpis
from tests.reports.kpi_dataset import DAY, at, seed_known_day

pytestmark = pytest.mark.django_db


@pytest.fixture
def known_day(db):
    return seed_known_day()


def test_the_day_runs_from_taipei_midnight_to_midnight_which_is_16_00_utc():
    window = kpis.day_window(DAY)
    assert window.start == datetime(2026, 3, 9, 16, 0, tzinfo=timezone.utc)
    assert window.end == datetime(2026, 3, 10, 16, 0, tzinfo=timezone.utc)


def test_a_run_at_08_00_taipei_reports_on_the_day_before():
    assert kpis.report_day_for(datetime(2026, 3, 11, 0, 0, tzinfo=timezone.utc)) == DAY
    # 23:59 UTC on the 10th is already 07:59 on the 11th in Taipei.
    assert kpis.report_day_for(datetime(2026, 3, 10, 23, 59, tzinfo=timezone.utc)) == DAY
    assert kpis.report_day_for(datetime(2026, 3, 10, 15, 59, tzinfo=timezone.utc)) == date(2026, 3, 9)


def test_rooms_opened_resolved_and_still_open_use_taipei_day_boundaries(known_day):
    figures = kpis.collect_kpis(kpis.day_window(DAY))
    # Opened: H (00:00 sharp), B, C, D, E. Not A (the day before), not G (24:00 sharp), not J (UTC date only).
    # Resolved: A (crossed midnight in), H, B, C. Still open at 24:00: D (resolved after), E, F.
    assert figures["rooms"] == {"opened": 5, "resolved": 4, "still_open": 3}


def test_mttr_mean_and_nearest_rank_percentiles_of_the_rooms_resolved_that_day(known_day):
    figures = kpis.collect_kpis(kpis.day_window(DAY))
    # Durations 30, 60, 120, 240 minutes.
    assert figures["mttr"] == {"count": 4, "mean_minutes": 112.5, "p50_minutes": 60.0, "p90_minutes": 240.0}


def test_the_portable_percentile_query_agrees_with_postgresql(known_day, monkeypatch):
    window = kpis.day_window(DAY)
    in_sql = kpis.mttr_source(window)
    monkeypatch.setattr(connection, "vendor", "sqlite")
    assert kpis.mttr_source(window) == in_sql


def test_mttr_of_a_day_with_nothing_resolved_is_empty_not_an_error(db):
    assert kpis.mttr_source(kpis.day_window(DAY)) == {
        "count": 0, "mean_minutes": None, "p50_minutes": None, "p90_minutes": None,
    }


def test_counts_by_severity_and_category_of_the_rooms_opened(known_day):
    figures = kpis.collect_kpis(kpis.day_window(DAY))
    assert figures["severity"] == {"counts": {"sev1": 1, "sev2": 0, "sev3": 3, "sev4": 1}}
    assert figures["category"] == {
        "top": [
            {"category": "Email", "count": 2},
            {"category": "Network", "count": 2},
            {"category": kpis.UNCATEGORIZED, "count": 1},
        ],
        "others": 0,
    }


def test_only_the_top_ten_categories_are_named_and_the_rest_summed(db):
    from tests import factories

    for index in range(12):
        for _ in range(12 - index):
            factories.make_room(category=f"cat{index:02d}", created_at=at(0, 10))
    figures = kpis.category_source(kpis.day_window(DAY))
    assert [row["category"] for row in figures["top"]] == [f"cat{index:02d}" for index in range(10)]
    assert figures["others"] == 2 + 1


def test_longest_open_incidents_are_measured_at_the_end_of_the_day(known_day):
    figures = kpis.collect_kpis(kpis.day_window(DAY))
    rows = figures["longest_open"]["rooms"]
    assert [row["title"][:1] for row in rows] == ["F", "E", "D"]
    assert [row["open_minutes"] for row in rows] == [88 * 60, 16 * 60 + 1, 10]
    assert rows[0]["opened_at"] == "2026-03-07T08:00:00+08:00"


def test_reports_tokens_by_writer_and_postmortems_of_the_day(known_day):
    figures = kpis.collect_kpis(kpis.day_window(DAY))
    assert figures["reports"] == {
        "generated": 2, "failed": 1, "in_progress": 1,
        "by_kind": {
            "incident": {"generated": 1, "failed": 1, "in_progress": 0},
            "postmortem": {"generated": 1, "failed": 0, "in_progress": 0},
            "notes": {"generated": 0, "failed": 0, "in_progress": 1},
        },
    }
    assert figures["tokens"] == {
        "writers": [
            {"writer": "dify", "reports": 1, "prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500},
            {"writer": "openai", "reports": 1, "prompt_tokens": 200, "completion_tokens": 0, "total_tokens": 200},
            {"writer": "offline", "reports": 1, "prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        ],
        "total_tokens": 1700,
    }
    assert figures["postmortems"]["produced"] == 1
    assert figures["postmortems"]["reports"] == [{"room": "H 事件 incident", "status": "completed"}]


def test_seven_day_trend_counts_each_taipei_day(known_day):
    trend = kpis.collect_kpis(kpis.day_window(DAY))["trend"]["days"]
    assert [row["date"] for row in trend] == [f"2026-03-{day:02d}" for day in range(4, 11)]
    assert {row["date"]: (row["opened"], row["resolved"]) for row in trend if row["opened"] or row["resolved"]} == {
        "2026-03-07": (1, 0),  # F
        "2026-03-08": (1, 0),  # K
        "2026-03-09": (1, 1),  # A opened, K resolved
        "2026-03-10": (5, 4),
    }


def test_one_failing_source_is_marked_unavailable_and_the_rest_still_come_out(known_day, monkeypatch, caplog):
    def broken(window):
        with connection.cursor() as cursor:
            cursor.execute("SELECT no_such_column FROM incidents_incidentroom")

    monkeypatch.setitem(kpis.SOURCES, "mttr", broken)
    figures = kpis.collect_kpis(kpis.day_window(DAY))

    assert figures["mttr"]["unavailable"] is True
    assert "no_such_column" in figures["mttr"]["reason"]
    assert "the mttr figures are unavailable" in caplog.text
    assert "no_such_column" in caplog.text
    # The sources after the failed query still ran on the same connection.
    assert figures["rooms"] == {"opened": 5, "resolved": 4, "still_open": 3}
    assert figures["tokens"]["total_tokens"] == 1700
    assert kpis.health_of(figures)["reasons"][-1] == "資料無法取得：mttr"


def test_health_is_attention_for_a_sev1_and_good_under_every_threshold(known_day, settings):
    figures = kpis.collect_kpis(kpis.day_window(DAY))
    health = kpis.health_of(figures)
    assert health["label"] == "attention"
    assert "1 件 SEV1" in health["reasons"]

    settings.DAILY_HEALTH_SEV1_ATTENTION = 5
    settings.DAILY_HEALTH_OPEN_WATCH, settings.DAILY_HEALTH_OPEN_ATTENTION = 10, 20
    settings.DAILY_HEALTH_MTTR_P90_WATCH_MINUTES, settings.DAILY_HEALTH_MTTR_P90_ATTENTION_MINUTES = 300, 600
    settings.DAILY_HEALTH_FAILED_REPORTS_WATCH, settings.DAILY_HEALTH_FAILED_REPORTS_ATTENTION = 2, 3
    assert kpis.health_of(figures) == {"label": "good", "reasons": []}

    settings.DAILY_HEALTH_MTTR_P90_WATCH_MINUTES = 240
    assert kpis.health_of(figures) == {"label": "watch", "reasons": ["MTTR p90 240 分鐘"]}
