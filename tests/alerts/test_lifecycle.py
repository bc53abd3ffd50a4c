"""Deduplication, grouping into rooms, snoozes, resolution, auto-resolve and acknowledge."""

import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from alerts.models import Alert, AlertGroup, AlertSnooze, AlertStatus, Attachment
from alerts.services import alerts_auto_resolve_due
from alerts.tasks import auto_resolve
from incidents import services as room_services
from incidents.models import IncidentRoom, MemberRole, RoomStatus
from tests import factories
from tests.alerts.payloads import am_alert

pytestmark = pytest.mark.django_db


def lines(room):
    return list(room.messages.order_by("created_at", "id").values_list("body", flat=True))


def test_alerts_of_one_group_join_the_open_room_within_the_window(ingest, english):
    t0 = timezone.now()
    first = ingest(am_alert(fingerprint="f1", instance="SW-01"), now=t0)
    second = ingest(am_alert(fingerprint="f2", instance="SW-02"), now=t0 + timedelta(minutes=20))
    assert first.rooms == second.rooms and IncidentRoom.objects.count() == 1
    assert dict(Alert.objects.values_list("fingerprint", "attachment")) == {"f1": Attachment.OPENED, "f2": Attachment.GROUPED}
    room = IncidentRoom.objects.get()
    assert sum("Alert firing" in line and "instance=SW-02" in line for line in lines(room)) == 1
    # A repeat adds no line; the count rises.
    before = len(lines(room))
    ingest(am_alert(fingerprint="f2", instance="SW-02"), now=t0 + timedelta(minutes=21))
    assert len(lines(room)) == before and Alert.objects.get(fingerprint="f2").occurrences == 2


def test_an_alert_after_the_window_opens_a_new_room(ingest):
    t0 = timezone.now()
    ingest(am_alert(fingerprint="f1"), now=t0)
    ingest(am_alert(fingerprint="f2"), now=t0 + timedelta(minutes=31))
    assert IncidentRoom.objects.count() == 2
    assert set(Alert.objects.values_list("attachment", flat=True)) == {Attachment.OPENED}


def test_repeats_keep_the_group_within_its_window(ingest):
    t0 = timezone.now()
    ingest(am_alert(fingerprint="f1"), now=t0)
    ingest(am_alert(fingerprint="f1"), now=t0 + timedelta(minutes=25))
    ingest(am_alert(fingerprint="f2"), now=t0 + timedelta(minutes=50))
    assert IncidentRoom.objects.count() == 1
    assert Alert.objects.get(fingerprint="f2").attachment == Attachment.GROUPED


def test_a_delivery_mixing_a_repeat_and_a_new_alert_takes_both(ingest):
    ingest(am_alert(fingerprint="f1"))
    result = ingest(am_alert(fingerprint="f1"), am_alert(fingerprint="f2", instance="SW-02"))
    assert (result.new, result.duplicates) == (1, 1)
    assert dict(Alert.objects.values_list("fingerprint", "occurrences")) == {"f1": 2, "f2": 1}
    assert IncidentRoom.objects.count() == 1


def test_another_group_opens_its_own_room(ingest):
    ingest(am_alert(fingerprint="f1", service="core-network"))
    ingest(am_alert(fingerprint="f2", service="billing"))
    assert IncidentRoom.objects.count() == 2


def test_below_the_minimum_severity_no_room_is_opened(ingest, am_source):
    am_source.min_severity = "sev2"
    am_source.save()
    ingest(am_alert(fingerprint="f1", severity="warning"))
    alert = Alert.objects.get()
    assert alert.room is None and alert.attachment == Attachment.NONE and alert.severity == "sev3"
    assert not IncidentRoom.objects.exists()


def test_snoozed_source_and_snoozed_group_store_alerts_without_rooms(ingest, am_source):
    am_source.snoozed_until = timezone.now() + timedelta(hours=1)
    am_source.save()
    ingest(am_alert(fingerprint="f1"))
    am_source.snoozed_until = None
    am_source.save()
    AlertSnooze.objects.create(source=am_source, matchers={"alertname": "DiskFull"}, until=timezone.now() + timedelta(hours=1))
    ingest(am_alert("DiskFull", fingerprint="f2"))
    ingest(am_alert("CPUHigh", fingerprint="f3"))
    assert dict(Alert.objects.values_list("fingerprint", "attachment")) == {
        "f1": Attachment.SUPPRESSED, "f2": Attachment.SUPPRESSED, "f3": Attachment.OPENED}
    assert IncidentRoom.objects.count() == 1


def test_resolved_delivery_ends_the_alert_and_events_follow(ingest, published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ingest(am_alert(fingerprint="f1"))
        ingest(am_alert(fingerprint="f1", status="resolved"))
    alert = Alert.objects.get()
    assert alert.status == AlertStatus.RESOLVED and alert.resolved_at is not None
    changes = [payload for _room, kind, payload in published if kind == "alert.changed"]
    assert [c["status"] for c in changes] == ["firing", "resolved"] and changes[-1]["id"] == alert.id


def test_room_resolves_itself_when_alerts_clear_and_nobody_acted(ingest, settings, english):
    settings.ALERT_AUTO_RESOLVE_AFTER = 300
    t0 = timezone.now()
    ingest(am_alert(fingerprint="f1"), now=t0)
    ingest(am_alert(fingerprint="f1", status="resolved"), now=t0 + timedelta(minutes=1))
    room = IncidentRoom.objects.get()
    assert "All alerts cleared; the room resolves itself in 5 min unless someone acts in it." in lines(room)
    assert alerts_auto_resolve_due(now=t0 + timedelta(minutes=5)) == 0  # still in the grace period
    assert alerts_auto_resolve_due(now=t0 + timedelta(minutes=6, seconds=1)) == 1
    room.refresh_from_db()
    assert room.status == RoomStatus.RESOLVED and "Resolved automatically" in room.resolution_summary
    assert AlertGroup.objects.get().auto_resolved_at is not None
    assert auto_resolve.delay().get() == 0  # the beat task finds nothing more


def test_room_stays_open_when_a_person_wrote_in_it(ingest, settings, commander, english):
    settings.ALERT_AUTO_RESOLVE_AFTER = 300
    t0 = timezone.now()
    ingest(am_alert(fingerprint="f1"), now=t0)
    room = IncidentRoom.objects.get()
    room_services.message_post(room=room, sender=commander, body="看一下 looking")
    ingest(am_alert(fingerprint="f1", status="resolved"), now=t0 + timedelta(minutes=1))
    assert lines(room)[-1] == "All alerts cleared; the room stays open for its people to resolve."
    assert alerts_auto_resolve_due(now=t0 + timedelta(hours=1)) == 0
    room.refresh_from_db()
    assert room.status == RoomStatus.ACTIVE


def test_a_person_acting_during_the_grace_period_keeps_the_room_open(ingest, settings, commander, english):
    settings.ALERT_AUTO_RESOLVE_AFTER = 300
    t0 = timezone.now()
    ingest(am_alert(fingerprint="f1"), now=t0)
    ingest(am_alert(fingerprint="f1", status="resolved"), now=t0 + timedelta(minutes=1))
    room = IncidentRoom.objects.get()
    room_services.message_post(room=room, sender=commander, body="還在查 still checking")
    assert alerts_auto_resolve_due(now=t0 + timedelta(minutes=10)) == 0
    room.refresh_from_db()
    assert room.status == RoomStatus.ACTIVE and lines(room)[-1].startswith("All alerts cleared; the room stays open")


def test_zero_means_never_auto_resolve(ingest, settings):
    settings.ALERT_AUTO_RESOLVE_AFTER = 0
    t0 = timezone.now()
    ingest(am_alert(fingerprint="f1"), now=t0)
    ingest(am_alert(fingerprint="f1", status="resolved"), now=t0)
    assert alerts_auto_resolve_due(now=t0 + timedelta(days=1)) == 0
    assert IncidentRoom.objects.get().status == RoomStatus.ACTIVE


def test_a_resolved_alert_that_fires_again_rejoins_its_open_room(ingest):
    t0 = timezone.now()
    ingest(am_alert(fingerprint="f1"), now=t0)
    ingest(am_alert(fingerprint="f1", status="resolved"), now=t0 + timedelta(minutes=1))
    ingest(am_alert(fingerprint="f1"), now=t0 + timedelta(minutes=2))
    alert = Alert.objects.get()
    assert alert.status == AlertStatus.FIRING and alert.occurrences == 2 and IncidentRoom.objects.count() == 1
    assert AlertGroup.objects.get().cleared_at is None


# --- Acknowledge and the reads -----------------------------------------------------------------


@pytest.fixture
def alert_room(ingest):
    ingest(am_alert(fingerprint="f1"))
    return IncidentRoom.objects.get()


def test_member_acknowledges_once_and_the_room_hears_it(api, alert_room, member, published, django_capture_on_commit_callbacks):
    alert = Alert.objects.get()
    api.force_login(member)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/rooms/{alert_room.id}/alerts/{alert.id}/ack")
    assert response.status_code == 200, response.content
    assert response.json()["acknowledged_by"]["id"] == member.id
    first_at = response.json()["acknowledged_at"]
    again = api.post(f"/api/rooms/{alert_room.id}/alerts/{alert.id}/ack")
    assert again.json()["acknowledged_at"] == first_at
    assert any(kind == "alert.changed" and p["acknowledged_by"] for _r, kind, p in published)


def test_observer_gets_403_and_outsider_404_for_ack(api, alert_room, outsider):
    observer = factories.make_user(username="watcher")
    factories.add_member(alert_room, observer, MemberRole.OBSERVER)
    alert = Alert.objects.get()
    api.force_login(observer)
    assert api.post(f"/api/rooms/{alert_room.id}/alerts/{alert.id}/ack").status_code == 403
    assert api.get(f"/api/rooms/{alert_room.id}/alerts").status_code == 200
    api.force_login(outsider)
    assert api.post(f"/api/rooms/{alert_room.id}/alerts/{alert.id}/ack").status_code == 404
    assert api.get(f"/api/rooms/{alert_room.id}/alerts").status_code == 404
    assert Alert.objects.get().acknowledged_at is None


def test_room_alerts_for_members_in_a_fixed_number_of_queries(api, ingest, member, django_assert_num_queries):
    for n in range(5):
        ingest(am_alert(fingerprint=f"f{n}", instance=f"SW-{n}"))
    room = IncidentRoom.objects.get()
    api.force_login(member)
    with django_assert_num_queries(4):  # session, user, the room (visibility), its alerts with source and ack
        response = api.get(f"/api/rooms/{room.id}/alerts")
    assert response.status_code == 200 and len(response.json()) == 5
    assert response.json()[0]["labels"]["alertname"] == "CoreSwitchBGPDown"


def test_alert_list_is_for_operators_and_filters(api, ingest, member, operator, am_source):
    ingest(am_alert(fingerprint="f1"))
    ingest(am_alert(fingerprint="f2", service="billing"))
    ingest(am_alert(fingerprint="f2", service="billing", status="resolved"))
    api.force_login(member)
    assert api.get("/api/alerts/").status_code == 403
    api.force_login(operator)
    assert api.get("/api/alerts/").json()["count"] == 2
    assert [a["fingerprint"] for a in api.get("/api/alerts/?status=resolved").json()["results"]] == ["f2"]
    assert api.get(f"/api/alerts/?source={am_source.name}").json()["count"] == 2
    room = Alert.objects.get(fingerprint="f1").room_id
    assert [a["fingerprint"] for a in api.get(f"/api/alerts/?room={room}").json()["results"]] == ["f1"]


def test_command_creates_a_source_and_prints_its_token_last(capsys, db, post_alerts):
    call_command("alert_source_create", "prom-prod", "--kind", "alertmanager")
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("wra_")
    from tests.alerts.payloads import alertmanager

    assert post_alerts("alertmanager", alertmanager(), token).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_fifty_identical_concurrent_deliveries_make_one_alert(am_source, settings):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency needs PostgreSQL")
    from rest_framework.test import APIClient

    from tests.alerts.payloads import alertmanager

    barrier = threading.Barrier(50)
    statuses = []

    def deliver():
        client = APIClient()
        try:
            barrier.wait(timeout=30)
            response = client.post("/api/alerts/alertmanager", alertmanager(), format="json",
                                   HTTP_AUTHORIZATION=f"Bearer {am_source.token}")
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [200] * 50
    alert = Alert.objects.get()
    assert alert.occurrences == 50 and IncidentRoom.objects.count() == 1 and AlertGroup.objects.count() == 1


def test_a_report_of_a_room_opened_by_alerts_lists_them(ingest):
    """The collect stage gives the writer the room's alerts; the document's metadata counts them."""
    from reports.models import Report
    from reports.pipeline.assemble import document_model
    from reports.pipeline.collect import collect_room
    from reports.prompts import format_room

    ingest(am_alert(fingerprint="f1"))
    room = Alert.objects.get().room
    snapshot = collect_room(room, max_messages=200, language="en")
    assert [a.title for a in snapshot.alerts] == [Alert.objects.get().title]
    assert "## Alerts" in format_room(snapshot, "en") and "still firing" in format_room(snapshot, "en")
    report = Report(room=room, language="en", kind="incident")
    metadata = dict(document_model(report, snapshot).metadata)
    assert metadata["Alerts"] == "1 alerts (1 deliveries), 1 still firing"
