"""The room assistant (offline) and feedback on its answers."""

from datetime import timedelta

import pytest
from django.test import AsyncClient
from django.utils import timezone

from alerts.models import Alert, AlertStatus, SourceKind
from alerts.services import alert_source_create
from incidents.models import ActionItem, MemberRole
from knowledge import assistant
from knowledge.models import AssistantQuestion, Feedback
from tests.factories import add_member, add_messages, make_room, make_user

pytestmark = pytest.mark.django_db


def ask(api, room, question, capture):
    with capture(execute=True):
        return api.post(f"/api/rooms/{room.id}/assistant/questions", {"question": question}, format="json")


def test_catch_me_up_answers_from_the_room_and_cites_its_messages(api, room, member, commander, published_events,
                                                                  django_capture_on_commit_callbacks):
    messages = add_messages(room, commander, 3, body="DNS resolver 逾時 {i}")
    ActionItem.objects.create(room=room, title="換掉 resolver", created_by=commander)
    api.force_login(member)
    response = ask(api, room, "catch me up", django_capture_on_commit_callbacks)
    assert response.status_code == 202
    body = response.json()
    answer = api.get(body["url"]).json()
    assert answer["status"] == "answered" and answer["provider"] == "offline"
    assert f"[m{messages[-1].id}]" in answer["answer"]
    assert "換掉 resolver" in answer["answer"] and "陳指揮" in answer["answer"]
    assert {c["ref"] for c in answer["citations"]} >= {f"m{m.id}" for m in messages}
    # Streamed to the asker only, piece by piece, then done.
    mine = [(t, p) for r, t, p in published_events if t.startswith("assistant.")]
    assert mine[-1][0] == "assistant.done" and len(mine) > 2
    assert "".join(p["delta"] for t, p in mine if t == "assistant.delta") == answer["answer"]


def test_catch_me_up_lists_the_alerts_still_firing_and_not_the_cleared_ones(room, english):
    source, _token = alert_source_create(name="prometheus", kind=SourceKind.ALERTMANAGER)
    now = timezone.now()
    # Firing since yesterday: the line says the day too.
    Alert.objects.create(source=source, fingerprint="a1", title="DiskFull db-01", severity="sev2", room=room,
                         starts_at=now - timedelta(days=1), last_seen=now - timedelta(minutes=1), occurrences=4)
    Alert.objects.create(source=source, fingerprint="a2", title="HighLatency api-gw", room=room, last_seen=now)
    Alert.objects.create(source=source, fingerprint="a3", title="PodCrashLooping worker-7", room=room,
                         status=AlertStatus.RESOLVED, resolved_at=now)
    Alert.objects.create(source=source, fingerprint="a4", title="CertExpiring other-room",
                         room=make_room(title="another"))

    text = assistant.answer(room=room, question="catch me up").text
    firing = text.split("Alerts still firing:\n", 1)[1].splitlines()
    assert len(firing) == 2
    assert firing[0].startswith("- HighLatency api-gw (SEV3), firing since ")  # the most recently seen first
    yesterday = timezone.localtime(now - timedelta(days=1))
    assert firing[1] == f"- DiskFull db-01 (SEV2), firing since {yesterday:%m-%d %H:%M}, seen 4 times"
    assert "PodCrashLooping" not in text and "CertExpiring" not in text


def test_catch_me_up_bounds_the_firing_alerts_it_lists(room, english):
    source, _token = alert_source_create(name="prometheus", kind=SourceKind.ALERTMANAGER)
    for number in range(assistant.CATCH_UP_ALERTS + 3):
        Alert.objects.create(source=source, fingerprint=f"f{number}", title=f"Alert {number}", room=room)
    text = assistant.answer(room=room, question="進度？").text
    assert text.count("firing since") == assistant.CATCH_UP_ALERTS
    assert text.endswith("- and 3 more")


def test_a_room_without_alerts_says_nothing_of_them(room, english):
    assert "Alerts" not in assistant.answer(room=room, question="catch me up").text


def test_events_of_an_answer_are_addressed_to_the_asker(monkeypatch, api, room, member, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr("realtime.events.publish", lambda room_id, built: sent.append(built))
    api.force_login(member)
    ask(api, room, "進度如何？", django_capture_on_commit_callbacks)
    assert sent and {e.only_user_id for e in sent if e.type.startswith("assistant.")} == {member.id}


def test_another_question_gets_the_passages_and_says_no_ai_is_configured(api, room, member, upload, english,
                                                                         django_capture_on_commit_callbacks):
    upload("# DNS 故障\n\n先清除 resolver 快取，再檢查上游 DNS。".encode(), "dns.md")
    api.force_login(member)
    body = ask(api, room, "what did we try on the DNS?", django_capture_on_commit_callbacks).json()
    answer = api.get(body["url"]).json()
    assert "No AI is configured" in answer["answer"]
    [citation] = answer["citations"]
    assert citation["kind"] == "knowledge" and f"[{citation['ref']}]" in answer["answer"]


@pytest.mark.django_db(transaction=True)
async def test_the_answer_streams_as_server_sent_events_and_strangers_get_404(room, member, outsider):
    from asgiref.sync import sync_to_async

    from knowledge import answering, services

    question = await sync_to_async(services.question_ask)(room=room, asked_by=member, question="catch me up")
    await sync_to_async(answering.question_answer)(question_id=question.id)
    url = f"/api/rooms/{room.id}/assistant/questions/{question.id}/stream"
    client = AsyncClient()
    await sync_to_async(client.force_login)(member)
    response = await client.get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/event-stream")
    chunks = [c.decode() if isinstance(c, bytes) else c async for c in response.streaming_content]
    assert chunks[-1] == "data: [DONE]\n\n"
    assert room.title in "".join(chunks)
    stranger = AsyncClient()
    await sync_to_async(stranger.force_login)(outsider)
    assert (await stranger.get(url)).status_code == 404
    assert (await AsyncClient().get(url)).status_code == 401


def test_observers_read_answers_but_may_not_ask(api, room, member, django_capture_on_commit_callbacks):
    observer = make_user(username="observer")
    add_member(room, observer, MemberRole.OBSERVER)
    api.force_login(member)
    body = ask(api, room, "catch me up", django_capture_on_commit_callbacks).json()
    api.force_login(observer)
    assert ask(api, room, "catch me up", django_capture_on_commit_callbacks).status_code == 403
    assert api.get(body["url"]).status_code == 200
    assert len(api.get(f"/api/rooms/{room.id}/assistant/questions").json()) == 1


def test_asking_is_throttled(api, room, member, settings, django_capture_on_commit_callbacks):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "assistant_ask": "2/min"}}
    from rest_framework.throttling import SimpleRateThrottle

    SimpleRateThrottle.THROTTLE_RATES = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    try:
        api.force_login(member)
        codes = [ask(api, room, "catch me up", django_capture_on_commit_callbacks).status_code for _ in range(3)]
    finally:
        from rest_framework.settings import api_settings

        SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    assert codes == [202, 202, 429]
    assert AssistantQuestion.objects.count() == 2


def test_feedback_on_an_answer_is_recorded_with_its_prompt_version_and_can_be_changed(api, room, member,
                                                                                     django_capture_on_commit_callbacks):
    api.force_login(member)
    body = ask(api, room, "catch me up", django_capture_on_commit_callbacks).json()
    first = api.post("/api/feedback/", {"target": "answer", "id": body["id"], "rating": "up"}, format="json")
    assert first.status_code == 201 and first.json()["prompt_version"] == "offline-1"
    api.post("/api/feedback/", {"target": "answer", "id": body["id"], "rating": "down", "comment": "太短"}, format="json")
    [feedback] = Feedback.objects.all()
    assert (feedback.rating, feedback.comment, feedback.user, feedback.room) == ("down", "太短", member, room)


def test_feedback_on_an_answer_of_a_room_one_is_not_in_is_404(api, room, member, outsider, django_capture_on_commit_callbacks):
    api.force_login(member)
    body = ask(api, room, "catch me up", django_capture_on_commit_callbacks).json()
    api.force_login(outsider)
    response = api.post("/api/feedback/", {"target": "answer", "id": body["id"], "rating": "up"}, format="json")
    assert response.status_code == 404
    assert not Feedback.objects.exists()


def test_feedback_on_an_unknown_kind_of_output_is_refused(api, member, english):
    api.force_login(member)
    response = api.post("/api/feedback/", {"target": "daily", "id": "x", "rating": "up"}, format="json")
    assert response.status_code == 400 and "target" in response.json()["error"]["details"]
