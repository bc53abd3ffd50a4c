from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from incidents.models import IncidentRoom
from incidents.stats import room_statistics
from tests.factories import make_room

pytestmark = pytest.mark.django_db
TAIPEI = ZoneInfo("Asia/Taipei")


def resolved_room(commander, opened, minutes, **fields):
    room = make_room(commander=commander, created_at=opened, **fields)
    room.resolved_at = opened + timedelta(minutes=minutes)
    room.status = "resolved"
    room.save()
    return room


def test_statistics_answer_a_known_dataset(commander):
    now = datetime(2026, 11, 21, 12, 0, tzinfo=TAIPEI)
    # Ten resolved incidents taking 10, 20, ... 100 minutes, opened over the last days.
    for i in range(10):
        resolved_room(commander, now - timedelta(days=i % 5, hours=3), (i + 1) * 10, category="Email" if i < 6 else "Network",
                      severity="sev2" if i < 3 else "sev3")
    make_room(commander=commander, created_at=now - timedelta(hours=30), title="Stuck VPN")  # active for > 24 h
    resolved_room(commander, now - timedelta(days=20), 30, title="Outside the range")
    stats = room_statistics(rooms=IncidentRoom.objects.all(), days=7, now=now)
    assert stats["opened"] == 11 and stats["resolved"] == 10
    assert stats["resolution_rate"] == round(10 / 11, 3)
    assert stats["mttr_seconds"] == {"mean": 55 * 60.0, "p50": 50 * 60.0, "p90": 90 * 60.0}
    assert stats["by_category"][0] == {"category": "Email", "count": 6}
    assert {row["severity"]: row["count"] for row in stats["by_severity"]} == {"sev2": 3, "sev3": 8}
    assert stats["open_over_24h"]["count"] == 1 and stats["open_over_24h"]["oldest"][0]["title"] == "Stuck VPN"
    assert len(stats["daily"]) == 7 and sum(day["opened"] for day in stats["daily"]) == 11


def test_days_are_taipei_days(commander):
    now = datetime(2026, 11, 21, 12, 0, tzinfo=TAIPEI)
    # 23:30 on the 20th in Taipei is 15:30 UTC the same day; 00:30 on the 21st is 16:30 UTC on the 20th.
    make_room(commander=commander, created_at=datetime(2026, 11, 20, 23, 30, tzinfo=TAIPEI))
    make_room(commander=commander, created_at=datetime(2026, 11, 21, 0, 30, tzinfo=TAIPEI))
    daily = {day["date"]: day["opened"] for day in room_statistics(rooms=IncidentRoom.objects.all(), days=7, now=now)["daily"]}
    assert daily["2026-11-20"] == 1 and daily["2026-11-21"] == 1


def test_stats_api_is_scoped_and_validated(api, room, member, outsider):
    make_room(commander=outsider, title="not mine")
    api.force_login(member)
    assert api.get("/api/stats/?range=30d").json()["opened"] == 1
    bad = api.get("/api/stats/?range=1y")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"
