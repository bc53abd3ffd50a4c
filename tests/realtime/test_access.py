"""Access re-checked on open sockets and notes streams: removal, room deletion, the periodic backstop, bad frames."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.test import AsyncClient

from incidents import services
from incidents.models import IncidentRoom, RoomMember
from realtime import events
from reports.models import Report, ReportKind, ReportStatus
from tests.realtime.test_consumer import connect

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def bound_loop():
    events.bind_loop(asyncio.get_running_loop())
    yield
    events.bind_loop(None)


async def closed_with(communicator, timeout=2):
    """The close code, skipping any event sent before it."""
    while True:
        output = await communicator.receive_output(timeout=timeout)
        if output["type"] == "websocket.close":
            return output.get("code")
        assert output["type"] == "websocket.send"


async def test_periodic_recheck_closes_a_socket_whose_membership_vanished_silently(room, member, settings):
    settings.REALTIME_ACCESS_RECHECK_SECONDS = 0.2
    communicator, connected, _ = await connect(room, user=member)
    assert connected
    # A bulk delete sends no message to anyone: only the backstop can notice.
    await database_sync_to_async(RoomMember.objects.filter(room=room, user=member).delete)()
    assert await closed_with(communicator) == 4403


async def test_removal_closes_the_removed_members_socket_only(room, member, commander, bound_loop):
    removed, connected, _ = await connect(room, user=member)
    stays, connected_too, _ = await connect(room, user=commander)
    assert connected and connected_too
    await database_sync_to_async(services.member_remove)(room=room, user=member, by=commander)
    assert await closed_with(removed) == 4403
    assert (await stays.receive_json_from(timeout=5))["type"] in {"message.created", "member.changed"}
    await stays.disconnect()


async def test_deleting_the_room_closes_its_sockets(room, member):
    communicator, connected, _ = await connect(room, user=member)
    assert connected
    await database_sync_to_async(IncidentRoom.objects.filter(pk=room.pk).delete)()
    assert await closed_with(communicator) == 4403


async def test_a_frame_that_is_not_json_gets_an_error_frame_and_the_socket_stays(room, member):
    communicator, connected, _ = await connect(room, user=member)
    assert connected
    await communicator.send_to(text_data="{not json")
    error = await communicator.receive_json_from(timeout=5)
    assert error["type"] == "error" and error["code"] == "bad_frame" and error["message"]
    await communicator.send_to(bytes_data=b"\x00\x01")
    assert (await communicator.receive_json_from(timeout=5))["code"] == "bad_frame"
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
    await communicator.disconnect()


async def test_the_notes_stream_ends_when_its_reader_is_removed(room, member, commander, bound_loop):
    await database_sync_to_async(Report.objects.create)(
        room=room, kind=ReportKind.NOTES, status=ReportStatus.GENERATING_CONTENT, requested_by=commander
    )
    client = AsyncClient()
    await sync_to_async(client.force_login)(member)
    response = await client.get(f"/api/rooms/{room.id}/notes/stream")
    assert response.status_code == 200
    chunks = response.streaming_content

    async def read_all():
        return [chunk async for chunk in chunks]

    reader = asyncio.create_task(read_all())
    await asyncio.sleep(0.2)
    assert not reader.done()
    await database_sync_to_async(services.member_remove)(room=room, user=member, by=commander)
    # Ended by the removal itself, well before the stream's own 2 s poll.
    assert await asyncio.wait_for(reader, 1.5) == []


def logged_in_session(user):
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


@pytest.mark.django_db
def test_sockets_checked_together_get_each_their_own_answer_in_three_queries(room, member, commander, outsider, operator,
                                                                           django_assert_max_num_queries):
    from accounts.models import User
    from realtime.access import Listener, resolve_listeners

    sessions = {user.username: logged_in_session(user) for user in (member, commander, outsider, operator)}
    changed = User.objects.get(pk=commander.pk)
    changed.set_password("a new password, so old sessions end")
    changed.save()
    listeners = [
        Listener(sessions[member.username], None, room.id),            # a member: heard as themselves
        Listener(sessions[commander.username], None, room.id),         # logged in before a password change
        Listener(sessions[outsider.username], None, room.id),          # not in the room
        Listener(sessions[operator.username], None, room.id),          # operators hear every room
        Listener("no-such-session", None, room.id),
        Listener(sessions[member.username], outsider.id, room.id),     # the session is someone else's
        Listener(None, member.id, room.id),                            # an API token's listener
        Listener(sessions[member.username], None, room.id),            # the same socket twice: read once
    ]
    with django_assert_max_num_queries(4):  # sessions, people, memberships, the operator's rooms
        answers = resolve_listeners(listeners)
    assert answers == [member.id, None, None, operator.id, None, None, member.id, member.id]
    User.objects.filter(pk=member.pk).update(is_active=False)
    assert resolve_listeners(listeners[:1] + listeners[6:7]) == [None, None]
