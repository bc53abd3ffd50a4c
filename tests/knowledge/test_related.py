"""The Related panel's query: the room's words, its alerts' titles and label values among them."""

import uuid

import pytest

from alerts.models import Alert, SourceKind
from alerts.services import alert_source_create
from knowledge import related, services
from tests.factories import add_messages, make_room

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(db):
    return alert_source_create(name="prometheus", kind=SourceKind.ALERTMANAGER)[0]


def test_the_query_holds_the_alert_titles_and_label_values_but_not_their_severity(room, source):
    Alert.objects.create(
        source=source, fingerprint="a1", title="DiskFull on db-01", room=room,
        labels={"alertname": "DiskFull", "instance": "db-01", "mountpoint": "/var/lib/pgsql", "severity": "critical"},
    )
    query = related.room_query_text(room)
    assert "DiskFull on db-01" in query and "/var/lib/pgsql" in query
    assert query.count("DiskFull") == 2  # the title, then the alertname once: repeated values are left out
    assert "critical" not in query


def test_a_storm_of_alerts_leaves_the_query_room_for_the_messages(room, source, commander):
    for number in range(40):
        Alert.objects.create(source=source, fingerprint=f"f{number}", title=f"NodeDown node-{number:02d}", room=room,
                             labels={"instance": f"10.0.{number}.1:9100", "job": "node", "rack": "r" * 50})
    add_messages(room, commander, 1, body="重開 switch 之後恢復")
    words = related.alert_words(room)
    assert len(" ".join(words)) <= related.QUERY_ALERT_CHARS
    assert sum(w.startswith("NodeDown") for w in words) <= related.QUERY_ALERTS
    assert "重開 switch 之後恢復" in related.room_query_text(room)


def test_a_past_incident_is_found_by_the_alert_it_shares(api, room, member, commander, source,
                                                         django_capture_on_commit_callbacks):
    # The past room's report shares no word with this room's title, only the alert.
    past = make_room(title="上週的事件", commander=commander, status="resolved", resolution_summary="清理 WAL 後恢復。")
    with django_capture_on_commit_callbacks(execute=True):
        services.index_report(room=past, report_id=uuid.uuid4(), kind="incident", title="上週的事件報告",
                              text="# 摘要\n\nDiskFull 告警：pgdata 磁碟滿了，清理 WAL 後恢復。")
    api.force_login(member)
    before = api.get(f"/api/rooms/{room.id}/related").json()
    assert [p["room"]["id"] for p in before["incidents"]] == []

    Alert.objects.create(source=source, fingerprint="a1", title="DiskFull", room=room, labels={"mountpoint": "pgdata"})
    after = api.get(f"/api/rooms/{room.id}/related").json()
    assert after["incidents"][0]["room"]["id"] == str(past.id)
    assert after["incidents"][0]["room"]["resolution_summary"] == "清理 WAL 後恢復。"
