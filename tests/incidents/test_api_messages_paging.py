"""Big rooms: the page renders only the newest messages; older ones, and a cited message far back,
come from the messages API by keyset pages (?before=, ?after=, ?around=)."""

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from incidents import views
from incidents.models import MemberRole, Message, MessageKind
from tests.factories import add_member, add_messages, make_room, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]  # compares English wording


@pytest.fixture
def long_room(room, member):
    """More messages than the page shows, the last 30 of them sharing one timestamp (alerts arrive in bursts)."""
    start = timezone.now() - timedelta(days=2)
    add_messages(room, member, views.ROOM_PAGE_MESSAGES, start=start)
    burst = start + timedelta(hours=10)
    Message.objects.bulk_create(Message(room=room, sender=member, kind=MessageKind.TEXT, body=f"burst {i}", created_at=burst)
                                for i in range(30))
    return room


def ids(page):
    return [m["id"] for m in page["results"]]


def timeline_ids(room):
    return list(Message.objects.filter(room=room).order_by("created_at", "id").values_list("id", flat=True))


def test_before_pages_walk_back_to_the_first_message_without_gaps(as_user, long_room, member):
    client = as_user(member)
    everything = timeline_ids(long_room)
    url = f"/api/rooms/{long_room.id}/messages/?before={everything[-1]}&page_size=40"
    seen = []
    while url:
        page = client.get(url).json()
        seen = ids(page) + seen
        assert page["next"]  # newer messages always follow a page before one
        url = page["previous"]
    assert seen == everything[:-1]


def test_after_pages_walk_forward_through_a_burst_of_equal_times(as_user, long_room, member):
    client = as_user(member)
    everything = timeline_ids(long_room)
    url = f"/api/rooms/{long_room.id}/messages/?after={everything[0]}&page_size=25"
    seen = []
    while url:
        page = client.get(url).json()
        seen += ids(page)
        url = page["next"]
    assert seen == everything[1:]
    assert page["previous"]


def test_around_gives_the_message_with_its_neighbours(as_user, long_room, member):
    everything = timeline_ids(long_room)
    target = everything[100]
    page = as_user(member).get(f"/api/rooms/{long_room.id}/messages/", {"around": target, "page_size": 11}).json()
    assert ids(page) == everything[95:106]
    assert page["previous"].endswith(f"before={everything[95]}&page_size=11")
    assert page["next"].endswith(f"after={everything[105]}&page_size=11")
    first = as_user(member).get(f"/api/rooms/{long_room.id}/messages/", {"around": everything[0]}).json()
    assert first["previous"] is None and ids(first)[0] == everything[0]
    last = as_user(member).get(f"/api/rooms/{long_room.id}/messages/", {"around": everything[-1]}).json()
    assert last["next"] is None and ids(last)[-1] == everything[-1]


@pytest.mark.parametrize("query, field", [
    ("around=abc", "around"),
    ("before=-3", "before"),
    ("after=%C2%B2", "after"),
    ("around=1234567890123456789012", "around"),
    ("around=", "around"),
    ("around=1&before=2", "around"),
    ("before=1&since=2026-01-01T00:00:00Z", "since"),
    ("after=1&cursor=cD0x", "cursor"),
])
def test_bad_anchors_are_400s_that_name_the_parameter(as_user, room, member, query, field):
    add_messages(room, member, 2)
    response = as_user(member).get(f"/api/rooms/{room.id}/messages/?{query}")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]


def test_a_message_of_another_room_is_not_an_anchor(as_user, room, member, outsider):
    add_messages(room, member, 2)
    other = make_room(title="Elsewhere", commander=outsider)
    add_messages(other, outsider, 1)
    foreign_id = Message.objects.get(room=other).id
    response = as_user(member).get(f"/api/rooms/{room.id}/messages/?around={foreign_id}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_message"
    assert "around" in response.json()["error"]["details"]
    # And the foreign room's own API stays closed to this member.
    assert as_user(member).get(f"/api/rooms/{other.id}/messages/?around={foreign_id}").status_code == 404


def test_a_page_far_back_costs_the_same_queries_as_the_first(as_user, long_room, member, django_assert_max_num_queries):
    target = timeline_ids(long_room)[5]
    client = as_user(member)
    with django_assert_max_num_queries(6):  # session, user, room, anchor, before, after
        assert client.get(f"/api/rooms/{long_room.id}/messages/?around={target}").status_code == 200


def test_the_room_page_renders_only_the_newest_messages(client, long_room, member):
    client.force_login(member)
    html = client.get(f"/rooms/{long_room.id}/").content.decode()
    rendered = [int(i) for i in re.findall(r'<li class="msg[^"]*" data-id="(\d+)"', html)]
    assert rendered == timeline_ids(long_room)[-views.ROOM_PAGE_MESSAGES:]
    config = json.loads(re.search(r'<script id="room-config" type="application/json">(.*?)</script>', html).group(1))
    assert config["hasOlder"] is True
    assert 'id="timeline-older"' in html and 'id="timeline-older" hidden' not in html


def test_a_short_room_page_says_there_is_nothing_older(client, room, member):
    add_messages(room, member, 3)
    client.force_login(member)
    html = client.get(f"/rooms/{room.id}/").content.decode()
    assert len(re.findall(r'<li class="msg', html)) == 3
    assert 'id="timeline-older" hidden' in html


def test_the_room_list_pages_through_every_room_keeping_the_filters(client, commander):
    start = timezone.now() - timedelta(days=1)
    for i in range(views.ROOMS_PER_PAGE + 7):
        make_room(title=f"Room {i:03}", commander=commander, severity="sev2", created_at=start + timedelta(minutes=i))
    make_room(title="Other severity", commander=commander, severity="sev4")
    client.force_login(commander)
    first = client.get("/rooms/?severity=sev2").content.decode()
    assert first.count('class="room-title"') == views.ROOMS_PER_PAGE
    assert "Room 056" in first and "Room 006" not in first
    link = re.search(r'<a class="button" rel="next" href="\?([^"]+)"', first).group(1).replace("&amp;", "&")
    assert "severity=sev2" in link and "page=2" in link
    second = client.get(f"/rooms/?{link}").content.decode()
    assert second.count('class="room-title"') == 7
    assert "Room 000" in second and "Other severity" not in second
    assert 'rel="prev"' in second and 'rel="next"' not in second
    # A page number that is not one shows a page, not an error.
    assert client.get("/rooms/?page=zzz").status_code == 200
    assert client.get("/rooms/?page=99999").status_code == 200


def test_room_list_counts_every_member_of_each_listed_room(as_user, commander, member):
    room = make_room(title="Crowded", commander=commander)
    add_member(room, member, MemberRole.RESPONDER)
    add_member(room, make_user(), MemberRole.OBSERVER)
    # The member sees the room with all three of its members, not only the row that let them in.
    listed = as_user(member).get("/api/rooms/").json()["results"]
    assert [(r["title"], r["member_count"]) for r in listed] == [("Crowded", 3)]
