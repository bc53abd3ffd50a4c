"""Rules the security review found bent: archived rooms, the last commander, names in errors, bidi overrides."""

import json

import pytest

from incidents import services
from incidents.models import ActionItem, IncidentRoom, MemberRole, RoomMember, RoomStatus
from tests.factories import add_member, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def archived(room):
    IncidentRoom.objects.filter(pk=room.pk).update(status=RoomStatus.ARCHIVED)
    return room


def test_an_archived_room_refuses_action_items_member_removal_and_reports(as_user, archived, commander, member):
    item = ActionItem.objects.create(room=archived, title="follow up", created_by=commander)
    client = as_user(commander)
    base = f"/api/rooms/{archived.id}"
    answers = {
        "create item": client.post(f"{base}/action-items/", {"title": "more"}, format="json"),
        "edit item": client.patch(f"{base}/action-items/{item.id}/", {"title": "edited"}, format="json"),
        "delete item": client.delete(f"{base}/action-items/{item.id}/"),
        "remove member": client.delete(f"{base}/members/{member.id}/"),
        "generate": client.post(f"{base}/reports/generate", {}, format="json"),
        "notes": client.post(f"{base}/notes", {}, format="json"),
    }
    assert {name: r.status_code for name, r in answers.items()} == {name: 409 for name in answers}
    assert all(r.json()["error"]["code"] == "conflict" for r in answers.values())
    item.refresh_from_db()
    assert item.title == "follow up" and RoomMember.objects.filter(room=archived, user=member).exists()


def test_the_sole_commander_cannot_demote_themselves(as_user, room, commander):
    response = as_user(commander).post(f"/api/rooms/{room.id}/members/", {"user": "commander", "role": "responder"}, format="json")
    assert response.status_code == 409 and "commander" in response.json()["error"]["message"]
    assert RoomMember.objects.get(room=room, user=commander).role == MemberRole.COMMANDER


def test_a_commander_can_step_down_once_another_is_named(room, commander, member):
    services.member_add(room=room, user=member, role=MemberRole.COMMANDER, by=commander)
    services.member_add(room=room, user=commander, role=MemberRole.RESPONDER, by=member)
    assert RoomMember.objects.get(room=room, user=commander).role == MemberRole.RESPONDER


def test_assigning_to_a_non_member_does_not_reveal_their_name(as_user, room, member):
    stranger = make_user(username="hidden", display_name="祕密 Secret Person")
    response = as_user(member).post(
        f"/api/rooms/{room.id}/action-items/", {"title": "check", "assignee": stranger.id}, format="json"
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "Secret Person" not in text and "hidden" not in text and "not a member of this room" in text


def test_bidi_overrides_are_stripped_from_titles_and_messages(as_user, room, member):
    client = as_user(member)
    posted = client.post(f"/api/rooms/{room.id}/messages/", {"body": "open \u202egnp.exe\u202c now \u2067x\u2069"}, format="json")
    assert posted.status_code == 201 and posted.json()["body"] == "open gnp.exe now x"
    renamed = client.patch(f"/api/rooms/{room.id}/", {"title": "DB \u202edown"}, format="json")
    assert renamed.json()["title"] == "DB down"
    # The plain direction marks cannot reorder anything and stay.
    assert client.post(f"/api/rooms/{room.id}/messages/", {"body": "a\u200fb"}, format="json").json()["body"] == "a\u200fb"


@pytest.mark.parametrize("body", ["NUL \u0000 here", "lone \ud800 surrogate"])
def test_nul_and_lone_surrogates_are_refused_as_the_docs_say(as_user, room, member, body):
    # Escaped, as a JSON client sends them (\\u0000, \\ud800).
    raw = json.dumps({"body": body})
    response = as_user(member).post(f"/api/rooms/{room.id}/messages/", raw, content_type="application/json")
    assert response.status_code == 400 and "body" in response.json()["error"]["details"]


def test_observers_cannot_start_reports_or_notes(as_user, room):
    observer = make_user(username="watcher")
    add_member(room, observer, MemberRole.OBSERVER)
    client = as_user(observer)
    assert client.post(f"/api/rooms/{room.id}/reports/generate", {}, format="json").status_code == 403
    assert client.post(f"/api/rooms/{room.id}/notes", {}, format="json").status_code == 403
    assert client.get(f"/api/rooms/{room.id}/notes").status_code == 200  # reading stays open
