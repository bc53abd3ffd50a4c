"""Bad input is a 400 (or 404) with the uniform error body, never a 500; and a property test so the next one is found here."""

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidents.models import MemberRole
from tests.factories import add_member, make_user

pytestmark = pytest.mark.django_db


def assert_error_shape(response, status=400):
    assert response.status_code == status, response.content[:300]
    body = response.json()["error"]
    assert body["code"] and body["message"] and isinstance(body["details"], dict)
    return body


@pytest.mark.parametrize("since", ["2026-13-45T25:61:61", "2026-11-21T10:00:00+99:00", "2026-11-21T10:00:00%2B99:00", "yesterday"])
def test_an_impossible_since_is_a_400(as_user, room, member, since):
    response = as_user(member).get(f"/api/rooms/{room.id}/messages/?since={since}")
    assert_error_shape(response)["details"]["since"]


@pytest.mark.parametrize("position", ["p=2026", "p=not a time", "o=5&p=2026-13-45", "o=-1"])
def test_a_forged_cursor_is_a_400(as_user, room, member, position):
    cursor = base64.b64encode(position.encode()).decode()
    response = as_user(member).get(f"/api/rooms/{room.id}/messages/", {"cursor": cursor})
    assert assert_error_shape(response)["code"] == "invalid_cursor"


def test_a_real_cursor_still_pages(as_user, room, member, commander):
    from tests.factories import add_messages

    add_messages(room, commander, 5)
    client = as_user(member)
    first = client.get(f"/api/rooms/{room.id}/messages/?page_size=2").json()
    second = client.get(first["next"]).json()
    assert second["results"] and second["results"][0]["id"] != first["results"][0]["id"]


@pytest.mark.parametrize("path", ["/api/rooms/", "/api/rooms/{room}/messages/", "/api/rooms/{room}/members/",
                                  "/api/rooms/{room}/action-items/", "/api/rooms/{room}/reports/generate"])
def test_json_nested_ten_thousand_deep_is_a_400(as_user, room, commander, path):
    body = "[" * 10_000 + "]" * 10_000
    response = as_user(commander).post(path.format(room=room.id), body, content_type="application/json")
    assert_error_shape(response)


@pytest.mark.parametrize("value", ["²", "١٢", "99999999999999999999999"])
def test_a_member_user_that_only_looks_like_a_number_is_a_400(as_user, room, commander, value):
    response = as_user(commander).post(f"/api/rooms/{room.id}/members/", {"user": value, "role": "responder"}, format="json")
    assert_error_shape(response)["details"]["user"]


@pytest.mark.parametrize("method,path", [
    ("delete", "/api/rooms/{room}/members/99999999999999999999999/"),
    ("patch", "/api/rooms/{room}/action-items/99999999999999999999999/"),
    ("delete", "/api/rooms/{room}/members/9223372036854775808/"),
])
def test_a_path_id_too_big_for_the_database_is_a_404(as_user, room, commander, method, path):
    response = getattr(as_user(commander), method)(path.format(room=room.id), {}, format="json")
    assert_error_shape(response, 404)


# --- Property test -------------------------------------------------------------------------------

# Text shaped like the values people and scripts send: times, numbers, base64, unicode digits, junk.
_times = st.builds(
    "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}{}".format,
    st.integers(0, 9999), st.integers(0, 99), st.integers(0, 99), st.integers(0, 99), st.integers(0, 99),
    st.integers(0, 99), st.sampled_from(["", "Z", "+08:00", "+99:00", "-24:00", "+08", ".123456", " 08:00"]),
)
_numbers = st.one_of(st.integers(-(2**70), 2**70).map(str), st.sampled_from(["²", "١", "0x10", "1e9", "-0", "NaN"]))
_cursors = st.builds(
    lambda o, r, p: base64.b64encode(f"o={o}&r={r}&p={p}".encode()).decode(),
    st.one_of(st.integers(-5, 10**6).map(str), st.text(max_size=5)), st.sampled_from(["0", "1", "x"]),
    st.one_of(_times, st.text(max_size=20)),
)
_values = st.one_of(_times, _numbers, _cursors, st.text(max_size=40))
_params = st.dictionaries(
    st.sampled_from(["since", "cursor", "page_size", "page", "status", "severity", "created_after",
                     "created_before", "search", "category"]),
    _values, max_size=4,
)
_ids = st.one_of(st.integers(10**6, 2**80).map(str), _numbers.filter(str.isascii))


@pytest.fixture
def fuzz(as_user, room, commander):
    observer = make_user(username="fuzz-observer")
    add_member(room, observer, MemberRole.OBSERVER)
    return as_user(commander), room


PROPERTY = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _no_server_error(response):
    assert response.status_code < 500, response.content[:500]
    if response.status_code >= 400 and response.get("Content-Type", "").startswith("application/json"):
        assert set(json.loads(response.content)) == {"error"}


@PROPERTY
@given(params=_params)
def test_no_query_string_makes_a_server_error(fuzz, params):
    client, room = fuzz
    for path in ("/api/rooms/", f"/api/rooms/{room.id}/messages/", f"/api/rooms/{room.id}/reports",
                 f"/api/rooms/{room.id}/notes", "/api/stats/"):
        _no_server_error(client.get(path, params))


@PROPERTY
@given(user_id=_ids, item_id=_ids, member=_values)
def test_no_path_id_or_member_value_makes_a_server_error(fuzz, user_id, item_id, member):
    client, room = fuzz
    _no_server_error(client.get(f"/api/rooms/{room.id}/members/{user_id}/"))
    _no_server_error(client.delete(f"/api/rooms/{room.id}/members/{user_id}/"))
    _no_server_error(client.patch(f"/api/rooms/{room.id}/action-items/{item_id}/", {"title": "x"}, format="json"))
    _no_server_error(client.post(f"/api/rooms/{room.id}/members/", {"user": member, "role": "observer"}, format="json"))
