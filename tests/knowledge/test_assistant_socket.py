"""The assistant's answer reaches the asker's socket and no one else's (through the real ASGI app)."""

import asyncio

import pytest
from channels.db import database_sync_to_async

from knowledge import answering, services
from realtime import events
from tests.realtime.test_consumer import connect

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def bound_loop():
    events.bind_loop(asyncio.get_running_loop())
    yield
    events.bind_loop(None)


async def test_the_answer_streams_to_the_asker_only(room, member, commander, bound_loop):
    asker, connected, _ = await connect(room, user=member)
    other, other_connected, _ = await connect(room, user=commander)
    assert connected and other_connected
    question = await database_sync_to_async(services.question_ask)(room=room, asked_by=member, question="catch me up")
    await database_sync_to_async(answering.question_answer)(question_id=question.id)
    seen = []
    while not seen or seen[-1]["type"] != "assistant.done":
        seen.append(await asker.receive_json_from(timeout=5))
    assert seen[0]["type"] == "assistant.delta" and seen[-1]["question_id"] == str(question.id)
    assert await other.receive_nothing(timeout=0.3)
    await asker.disconnect()
    await other.disconnect()
