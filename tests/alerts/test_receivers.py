"""The webhook receivers: tokens, sizes, malformed bodies, and each sender's real payload."""

import itertools
import json

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from alerts.models import Alert, AlertDelivery, AlertStatus, SourceKind
from alerts.services import alert_source_create
from incidents.models import IncidentRoom, MemberRole, RoomMember
from tests.alerts.payloads import alertmanager, am_alert, generic, grafana

pytestmark = pytest.mark.django_db


def test_alertmanager_firing_alert_opens_a_room_with_the_sources_people(post_alerts, am_source, commander, member):
    response = post_alerts("alertmanager", alertmanager(), am_source.token)
    assert response.status_code == 200, response.content
    assert response.json()["new"] == 1 and len(response.json()["rooms"]) == 1
    alert = Alert.objects.get()
    assert alert.fingerprint == "a1b2c3d4e5f60718" and alert.status == AlertStatus.FIRING
    assert alert.severity == "sev1" and alert.category == "CoreSwitchBGPDown"
    assert alert.starts_at.isoformat() == "2026-12-01T08:00:00.123456+00:00" and alert.ends_at is None
    room = IncidentRoom.objects.get(id=response.json()["rooms"][0])
    assert room.title == "核心交換器 BGP 中斷 BGP down" and room.severity == "sev1" and room == alert.room
    roles = dict(RoomMember.objects.filter(room=room).values_list("user__username", "role"))
    assert roles["commander"] == MemberRole.COMMANDER and roles["member"] == MemberRole.RESPONDER
    lines = list(room.messages.values_list("body", flat=True))
    assert any("CoreSwitchBGPDown" in line and "instance=CORE-SW-01" in line for line in lines), lines


def test_grafana_payload_is_understood_with_its_panel_link(post_alerts, db):
    source, token = alert_source_create(name="grafana", kind=SourceKind.GRAFANA)
    response = post_alerts("grafana", grafana(), token)
    assert response.status_code == 200, response.content
    alert = Alert.objects.get()
    assert alert.fingerprint == "c6eadffa33fcdf37" and alert.severity == "sev3"
    assert alert.title == "記憶體使用率過高 memory high"
    assert alert.dashboard_url == "https://grafana.example/d/abc?viewPanel=1"
    assert alert.room.title == "記憶體使用率過高 memory high"


def test_generic_shape_without_fingerprint_gets_a_stable_one(post_alerts, db):
    source, token = alert_source_create(name="scripts", kind=SourceKind.GENERIC)
    first = post_alerts("generic", generic(), token)
    again = post_alerts("generic", generic(), token)
    assert first.status_code == again.status_code == 200
    alert = Alert.objects.get()
    assert alert.occurrences == 2 and alert.severity == "sev2" and alert.labels["alertname"] == "磁碟將滿 Disk almost full"
    assert again.json() == {"received": 1, "new": 0, "duplicates": 1, "rooms": [str(alert.room_id)]}


def test_missing_or_wrong_token_is_401_and_a_disabled_source_403(api, post_alerts, am_source):
    assert api.post("/api/alerts/alertmanager", alertmanager(), format="json").status_code == 401
    wrong = post_alerts("alertmanager", alertmanager(), "wra_not-a-token")
    assert wrong.status_code == 401 and wrong["WWW-Authenticate"].startswith("Bearer")
    assert wrong.json()["error"]["code"] == "not_authenticated"
    token_scheme = api.post("/api/alerts/alertmanager", alertmanager(), format="json", HTTP_AUTHORIZATION=f"Token {am_source.token}")
    assert token_scheme.status_code == 401
    assert post_alerts("grafana", grafana(), am_source.token).status_code == 403
    am_source.enabled = False
    am_source.save()
    disabled = post_alerts("alertmanager", alertmanager(), am_source.token)
    assert disabled.status_code == 403 and disabled.json()["error"]["code"] == "source_disabled"
    assert not Alert.objects.exists()


def test_body_over_one_megabyte_is_413(api, am_source):
    payload = alertmanager()
    payload["padding"] = "x" * (1024 * 1024)
    response = api.post("/api/alerts/alertmanager", json.dumps(payload), content_type="application/json",
                        HTTP_AUTHORIZATION=f"Bearer {am_source.token}")
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"
    assert not Alert.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ("{not json", None),
        ("[]", "non_field_errors"),
        ('{"version": "4"}', "alerts"),
        ('{"alerts": [{"status": "firing"}]}', "alerts[0].labels"),
        ('{"alerts": [{"status": "burning", "labels": {"alertname": "x"}}]}', "alerts[0].status"),
        ('{"alerts": ["nope"]}', "alerts[0]"),
        ('{"alerts": [{"status": "firing", "labels": ["a"]}]}', "alerts[0].labels"),
        ("[" * 100_000, None),
        ("\xff\xfe", None),
    ],
)
def test_malformed_bodies_get_400_with_the_uniform_error(api, am_source, body, field):
    response = api.post("/api/alerts/alertmanager", body, content_type="application/json",
                        HTTP_AUTHORIZATION=f"Bearer {am_source.token}")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"} and error["message"]
    if field:
        assert field in error["details"], error
    assert not Alert.objects.exists()


def test_generic_needs_a_title_and_a_status(post_alerts, db):
    source, token = alert_source_create(name="scripts", kind=SourceKind.GENERIC)
    assert "title" in post_alerts("generic", {"status": "firing"}, token).json()["error"]["details"]
    assert "status" in post_alerts("generic", {"title": "x"}, token).json()["error"]["details"]


def test_the_same_delivery_twice_changes_nothing_but_the_counters(post_alerts, am_source):
    post_alerts("alertmanager", alertmanager(), am_source.token)
    room = IncidentRoom.objects.get()
    lines = room.messages.count()
    second = post_alerts("alertmanager", alertmanager(), am_source.token)
    assert second.status_code == 200 and second.json()["duplicates"] == 1
    assert Alert.objects.count() == 1 and IncidentRoom.objects.count() == 1 and room.messages.count() == lines
    assert Alert.objects.get().occurrences == 2
    assert list(AlertDelivery.objects.order_by("id").values_list("alert_count", "new_count", "duplicate_count")) == [(1, 1, 0), (1, 0, 1)]


_fuzz_names = itertools.count()
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
alertish = st.fixed_dictionaries(
    {"alerts": st.lists(st.dictionaries(st.sampled_from(["status", "labels", "annotations", "startsAt", "endsAt",
                                                         "fingerprint", "generatorURL", "panelURL"]), json_values), max_size=3)}
)


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.one_of(json_values, alertish))
def test_no_payload_gets_a_500(api, db, payload):
    # The examples share one test transaction, so each makes its own source.
    source, token = alert_source_create(name=f"fuzz-{next(_fuzz_names)}", kind=SourceKind.GRAFANA)
    response = api.post("/api/alerts/grafana", json.dumps(payload), content_type="application/json",
                        HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code in (200, 400), (payload, response.content)
