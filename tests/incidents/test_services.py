from datetime import timedelta

import pytest
from django.utils import timezone

from config.errors import Conflict, PermissionDenied, ServiceError
from incidents import services
from incidents.models import MemberRole, Message, MessageKind, RoomStatus
from incidents.signals import room_resolved
from tests.factories import add_member, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]  # compares English wording


def timeline(room):
    return list(Message.objects.filter(room=room).order_by("created_at", "id").values_list("body", flat=True))


def test_creator_becomes_commander_and_the_timeline_says_so(commander):
    room = services.room_create(created_by=commander, title="  DNS 失敗  ", severity="sev2", category="Network")
    assert room.title == "DNS 失敗"
    assert room.members.get().role == MemberRole.COMMANDER
    assert timeline(room) == ["陳指揮 Commander Chen opened the room"]


def test_severity_change_is_written_with_display_names(room, member):
    services.room_update(room=room, by=member, severity="sev2")
    assert timeline(room)[-1] == "王小明 Member Wang changed severity from SEV3 to SEV2"


def test_update_without_a_change_writes_nothing(room, member):
    services.room_update(room=room, by=member, severity=room.severity)
    assert timeline(room) == []


def test_member_join_and_role_change_are_on_the_timeline(room, commander):
    alice = make_user(username="alice", display_name="Alice")
    services.member_add(room=room, user=alice, role=MemberRole.SCRIBE, by=commander)
    services.member_add(room=room, user=alice, role=MemberRole.LIAISON, by=commander)
    assert timeline(room)[-2:] == ["Alice joined as Scribe", "Alice is now Liaison (was Scribe)"]


def test_only_commander_or_operator_manages_members(room, member, operator):
    alice = make_user(username="alice")
    with pytest.raises(PermissionDenied):
        services.member_add(room=room, user=alice, role="responder", by=member)
    services.member_add(room=room, user=alice, role="responder", by=operator)


def test_the_last_commander_cannot_be_removed(room, commander):
    with pytest.raises(Conflict):
        services.member_remove(room=room, user=commander, by=commander)


def test_resolve_records_duration_and_sends_the_signal_after_commit(room, commander, django_capture_on_commit_callbacks, published):
    room.created_at = timezone.now() - timedelta(minutes=47, seconds=5)
    room.save()
    received = []
    room_resolved.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="test-resolve")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.room_resolve(room=room, by=commander, summary="重啟資料庫 restarted the DB")
    finally:
        room_resolved.disconnect(dispatch_uid="test-resolve")
    room.refresh_from_db()
    assert room.status == RoomStatus.RESOLVED
    assert room.resolution_summary == "重啟資料庫 restarted the DB"
    assert "陳指揮 Commander Chen resolved the room after 47 min" in timeline(room)
    assert len(received) == 1
    assert received[0]["room"] == room and received[0]["first_resolution"] is True
    assert ("room.status" in [event for _, event, _ in published])


def test_reopen_then_resolve_is_not_a_first_resolution(room, commander, django_capture_on_commit_callbacks):
    received = []
    room_resolved.connect(lambda **kw: received.append(kw["first_resolution"]), weak=False, dispatch_uid="test-again")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.room_resolve(room=room, by=commander, summary="done")
        with django_capture_on_commit_callbacks(execute=True):
            services.room_reopen(room=room, by=commander)
        with django_capture_on_commit_callbacks(execute=True):
            services.room_resolve(room=room, by=commander, summary="done again")
    finally:
        room_resolved.disconnect(dispatch_uid="test-again")
    assert received == [True, False]


def test_resolving_twice_is_a_conflict(room, commander):
    services.room_resolve(room=room, by=commander, summary="done")
    with pytest.raises(Conflict):
        services.room_resolve(room=room, by=commander, summary="again")


def test_archive_needs_a_resolved_room(room, commander):
    with pytest.raises(Conflict):
        services.room_archive(room=room, by=commander)
    services.room_resolve(room=room, by=commander, summary="done")
    assert services.room_archive(room=room, by=commander).status == RoomStatus.ARCHIVED
    with pytest.raises(Conflict):
        services.message_post(room=room, sender=commander, body="late note")


def test_observers_read_but_do_not_write(room):
    observer = make_user(username="obs")
    add_member(room, observer, MemberRole.OBSERVER)
    with pytest.raises(PermissionDenied):
        services.message_post(room=room, sender=observer, body="hello")


@pytest.mark.parametrize(
    "raw, stored",
    [
        ("null\x00byte", "nullbyte"),
        ("bell\x07 and esc\x1b[31m", "bell and esc[31m"),
        ("emoji 🔥🚒 and 中文", "emoji 🔥🚒 and 中文"),
        ("lone \ud800 surrogate", "lone \ufffd surrogate"),
        ("non\ufffecharacter\uffff", "noncharacter"),
        ("tabs\tand\nnewlines kept", "tabs\tand\nnewlines kept"),
    ],
)
def test_messages_are_stored_safely(room, member, raw, stored):
    message = services.message_post(room=room, sender=member, body=raw)
    message.refresh_from_db()
    assert message.body == stored
    assert message.kind == MessageKind.TEXT


def test_a_message_over_the_limit_is_refused_with_a_clear_error(room, member, settings):
    with pytest.raises(ServiceError) as error:
        services.message_post(room=room, sender=member, body="x" * (settings.MESSAGE_MAX_CHARS + 1))
    assert "limited to" in error.value.message
    assert not Message.objects.filter(room=room).exists()
