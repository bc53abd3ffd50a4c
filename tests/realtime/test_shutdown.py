"""At shutdown every room socket of the process is closed with 1001 "going away", and relays nothing more."""

import pytest
from channels.db import database_sync_to_async

from incidents import services
from realtime import consumers
from tests.realtime.test_consumer import bound_loop, connect  # noqa: F401 - bound_loop is a fixture

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def restore_shutdown_flag():
    # Sockets of earlier tests that never sent their disconnect are still in the process's set:
    # this test counts its own.
    consumers._open_consumers.clear()
    consumers._present.clear()
    yield
    consumers._shutting_down = False


async def test_going_away_closes_every_open_socket_with_1001(room, member, commander, bound_loop,
                                                             restore_shutdown_flag):
    first, connected_first, _ = await connect(room, user=member)
    second, connected_second, _ = await connect(room, user=commander)
    assert connected_first and connected_second

    assert await consumers.close_all_going_away() == 2
    for communicator in (first, second):
        closed = await communicator.receive_output(timeout=5)
        assert closed["type"] == "websocket.close" and closed["code"] == consumers.GOING_AWAY, closed
    # Nothing is relayed after the close.
    await database_sync_to_async(services.message_post)(room=room, sender=commander, body="after")
    assert await first.receive_nothing(timeout=0.5)
    await first.disconnect()
    await second.disconnect()
