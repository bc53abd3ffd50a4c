from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.models import IncidentRoom, MemberRole
from tests.factories import add_member, add_messages, make_room, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]  # compares English wording


def test_list_has_only_my_rooms(as_user, room, member, outsider):
    make_room(title="Someone else's", commander=outsider)
    response = as_user(member).get("/api/rooms/")
    assert response.status_code == 200
    assert [r["title"] for r in response.json()["results"]] == [room.title]
    assert response.json()["results"][0]["member_count"] == 2


def test_operator_lists_every_room(as_user, room, operator, outsider):
    make_room(title="Someone else's", commander=outsider)
    assert as_user(operator).get("/api/rooms/").json()["count"] == 2


def test_list_filters_and_search(as_user, commander):
    old = make_room(title="Old VPN issue", commander=commander, created_at=timezone.now() - timedelta(days=20), category="Network")
    make_room(title="Disk full", commander=commander, severity="sev1", category="Storage")
    client = as_user(commander)
    assert [r["title"] for r in client.get("/api/rooms/?severity=sev1").json()["results"]] == ["Disk full"]
    assert [r["title"] for r in client.get("/api/rooms/?category=network").json()["results"]] == ["Old VPN issue"]
    assert [r["title"] for r in client.get("/api/rooms/?search=vpn").json()["results"]] == ["Old VPN issue"]
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert [r["title"] for r in client.get("/api/rooms/", {"created_after": since}).json()["results"]] == ["Disk full"]
    assert old.id


def test_bad_filter_value_gets_the_json_error_shape(as_user, member):
    response = as_user(member).get("/api/rooms/?status=exploded")
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "invalid" and "status" in body["details"]


def test_room_list_query_count_does_not_grow_with_rooms(as_user, commander, django_assert_max_num_queries):
    for i in range(30):
        room = make_room(title=f"Room {i}", commander=commander)
        add_member(room, make_user(), MemberRole.RESPONDER)
    client = as_user(commander)
    with django_assert_max_num_queries(6):  # session, user, count, page
        response = client.get("/api/rooms/")
    assert response.json()["count"] == 30


def test_create_makes_me_commander(as_user, member):
    response = as_user(member).post("/api/rooms/", {"title": "API 建立 created", "severity": "sev2"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["my_role"] == "commander" and body["can_manage"] is True
    assert body["members"][0]["user"]["name"] == "王小明 Member Wang"


def test_create_validates_and_explains(as_user, member):
    response = as_user(member).post("/api/rooms/", {"title": "", "severity": "sev9"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"title", "severity"}
    assert IncidentRoom.objects.count() == 0


def test_malformed_json_is_a_clear_400(as_user, member):
    response = as_user(member).generic("POST", "/api/rooms/", '{"title": "x",', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_a_body_over_the_limit_is_413_before_it_is_read(as_user, member, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = as_user(member).post("/api/rooms/", {"title": "x" * 5000}, format="json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_patch_changes_severity_and_the_timeline(as_user, room, member):
    response = as_user(member).patch(f"/api/rooms/{room.id}/", {"severity": "sev1"}, format="json")
    assert response.status_code == 200 and response.json()["severity"] == "sev1"
    assert room.messages.last().body.endswith("changed severity from SEV3 to SEV1")


def test_resolve_reopen_archive_cycle(as_user, room, commander):
    client = as_user(commander)
    resolved = client.post(f"/api/rooms/{room.id}/resolve/", {"summary": "Fixed the resolver"}, format="json")
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    again = client.post(f"/api/rooms/{room.id}/resolve/", {"summary": "again"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    assert client.post(f"/api/rooms/{room.id}/archive/").json()["status"] == "archived"
    assert client.post(f"/api/rooms/{room.id}/reopen/").json()["status"] == "active"


def test_room_detail_and_resolve_query_counts(as_user, room, commander, member, django_assert_num_queries,
                                              django_capture_on_commit_callbacks):
    client = as_user(commander)
    client.get(f"/api/rooms/{room.id}/")  # the session and user are loaded once per request either way
    with django_assert_num_queries(4):  # session, user, the room with the caller's role, its members with their people
        detail = client.get(f"/api/rooms/{room.id}/")
    assert detail.json()["can_manage"] is True and detail.json()["my_role"] == "commander"
    # + the locked row, its update, the timeline line, and the transaction's two (the commander
    # check reads the role that came with the room).
    with django_capture_on_commit_callbacks(execute=False), django_assert_num_queries(9):
        resolved = client.post(f"/api/rooms/{room.id}/resolve/", {"summary": "Fixed"}, format="json")
    assert resolved.status_code == 200 and resolved.json()["can_manage"] is True
    assert as_user(member).get(f"/api/rooms/{room.id}/").json()["can_manage"] is False


def test_resolve_requires_a_summary(as_user, room, commander):
    response = as_user(commander).post(f"/api/rooms/{room.id}/resolve/", {}, format="json")
    assert response.status_code == 400 and "summary" in response.json()["error"]["details"]


def test_member_cannot_resolve(as_user, room, member):
    response = as_user(member).post(f"/api/rooms/{room.id}/resolve/", {"summary": "x"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_members_endpoint_adds_by_username_or_email(as_user, room, commander):
    alice = make_user(username="alice", email="alice@example.com", display_name="Alice")
    client = as_user(commander)
    response = client.post(f"/api/rooms/{room.id}/members/", {"user": "ALICE@example.com", "role": "scribe"}, format="json")
    assert response.status_code == 201 and response.json()["role"] == "scribe"
    names = [m["user"]["username"] for m in client.get(f"/api/rooms/{room.id}/members/").json()]
    assert "alice" in names
    assert client.delete(f"/api/rooms/{room.id}/members/{alice.id}/").status_code == 204
    unknown = client.post(f"/api/rooms/{room.id}/members/", {"user": "nobody"}, format="json")
    assert unknown.status_code == 400 and "user" in unknown.json()["error"]["details"]


def test_messages_are_cursor_paginated_and_filter_since(as_user, room, member):
    add_messages(room, member, 150, start=timezone.now() - timedelta(hours=3))
    client = as_user(member)
    first = client.get(f"/api/rooms/{room.id}/messages/").json()
    assert len(first["results"]) == 100 and first["next"]
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 50 and second["next"] is None
    assert first["results"][0]["body"] == "訊息 message 0"
    cut = first["results"][-1]["created_at"]
    newer = client.get(f"/api/rooms/{room.id}/messages/", {"since": cut}).json()["results"]
    assert [m["body"] for m in newer][:1] == ["訊息 message 100"]


def test_timeline_query_count_is_flat(as_user, room, member, django_assert_max_num_queries):
    add_messages(room, member, 120)
    client = as_user(member)
    with django_assert_max_num_queries(5):
        client.get(f"/api/rooms/{room.id}/messages/")


def test_bad_since_is_a_400(as_user, room, member):
    response = as_user(member).get(f"/api/rooms/{room.id}/messages/?since=yesterday")
    assert response.status_code == 400 and "since" in response.json()["error"]["details"]


def test_post_a_megabyte_message_gets_a_clear_error(as_user, room, member):
    response = as_user(member).post(f"/api/rooms/{room.id}/messages/", {"body": "字" * 1_000_000}, format="json")
    assert response.status_code in (400, 413)
    assert response.json()["error"]["message"]
    assert not room.messages.exists()


def test_throttled_requests_get_429_with_retry_after(as_user, member, settings):
    from rest_framework.throttling import UserRateThrottle

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK}
    original = UserRateThrottle.THROTTLE_RATES
    UserRateThrottle.THROTTLE_RATES = {**original, "user": "3/min"}
    try:
        client = as_user(member)
        statuses = [client.get("/api/rooms/").status_code for _ in range(4)]
        response = client.get("/api/rooms/")
    finally:
        UserRateThrottle.THROTTLE_RATES = original
    assert statuses[:3] == [200, 200, 200] and statuses[3] == 429
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "throttled"


def test_schema_documents_the_room_api(client):
    response = client.get("/api/schema/?format=json")
    paths = response.json()["paths"]
    for path in ["/api/rooms/", "/api/rooms/{id}/", "/api/rooms/{id}/resolve/", "/api/rooms/{room_id}/messages/",
                 "/api/rooms/{room_id}/files/", "/api/stats/"]:
        assert path in paths, path
