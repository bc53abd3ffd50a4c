"""System lines are data (an event code and parameters), read in each reader's language."""

import pytest
from django.urls import reverse

from incidents import services
from incidents.models import MemberRole, Message
from tests import factories


@pytest.fixture
def joined(room, commander, outsider):
    services.member_add(room=room, user=outsider, role=MemberRole.OBSERVER, by=commander)
    return Message.objects.filter(room=room, event="member.joined").get()


def test_a_system_line_is_stored_as_a_code_with_parameters(joined, outsider):
    assert joined.event == "member.joined"
    assert joined.params == {"who": str(outsider), "role": "observer"}
    # The stored text is the site's language (Traditional Chinese), for search and old readers.
    assert joined.body == f"{outsider} 以觀察者身分加入"


def test_the_api_renders_system_lines_in_the_requests_language(api, room, commander, joined, outsider):
    api.force_login(commander)
    url = f"/api/rooms/{room.id}/messages/"
    english = api.get(url, HTTP_ACCEPT_LANGUAGE="en").json()["results"]
    chinese = api.get(url, HTTP_ACCEPT_LANGUAGE="zh-hant").json()["results"]
    line_en = next(m for m in english if m["id"] == joined.id)
    line_zh = next(m for m in chinese if m["id"] == joined.id)
    assert line_en["body"] == f"{outsider} joined as Observer" and line_en["event"] == "member.joined"
    assert line_zh["body"] == f"{outsider} 以觀察者身分加入"


def test_the_room_page_in_english_shows_english_system_lines(client, room, commander, joined, outsider):
    client.force_login(commander)
    client.post(reverse("set_language"), {"language": "en"})
    page = client.get(reverse("incidents:room-detail", args=[room.id])).content.decode()
    assert f"{outsider} joined as Observer" in page and "以觀察者身分加入" not in page


def test_live_events_carry_the_line_in_every_language(room, commander, outsider, published,
                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.member_add(room=room, user=outsider, role=MemberRole.RESPONDER, by=commander)
    (payload,) = [p for _, event, p in published if event == "message.created" and p.get("event") == "member.joined"]
    assert payload["texts"]["en"] == f"{outsider} joined as Responder"
    assert payload["texts"]["zh-hant"].endswith("身分加入")


def test_an_english_report_reads_english_system_lines(room, commander, outsider):
    from reports.pipeline.collect import collect_room

    services.member_add(room=room, user=outsider, role=MemberRole.OBSERVER, by=commander)
    factories.add_messages(room, commander, 1, body="hello")
    english = collect_room(room, max_messages=200, language="en")
    assert any(m.body == f"{outsider} joined as Observer" for m in english.messages)
    chinese = collect_room(room, max_messages=200, language="zh-hant")
    assert any(m.body == f"{outsider} 以觀察者身分加入" for m in chinese.messages)


def test_a_resolve_under_a_minute_reads_under_a_minute(room, commander):
    services.room_resolve(room=room, by=commander, summary="done")
    line = Message.objects.get(room=room, event="room.resolved")
    assert line.body == f"{commander} 在 不到 1 分鐘後解決了事件"
