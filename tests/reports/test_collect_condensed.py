"""The collect stage on a long room: the database condenses the older part; Python sees a bounded number of rows."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import Message, MessageKind
from reports.pipeline import collect
from reports.pipeline.collect import collect_room
from tests import factories

pytestmark = pytest.mark.django_db


def test_only_the_recent_messages_and_the_kept_events_become_python_objects(room, commander, member, monkeypatch,
                                                                           django_assert_max_num_queries):
    start = room.created_at
    factories.add_messages(room, commander, 1500, start=start, step=timedelta(seconds=10), body="告警 {i}")
    # An alert storm of system lines, more of them than are kept word for word.
    Message.objects.bulk_create(
        Message(room=room, kind=MessageKind.SYSTEM, body=f"alert {i} fired", created_at=start + timedelta(seconds=10 * i + 5))
        for i in range(collect.MAX_KEPT_EVENTS + 20))
    # Quiet stretches: more gaps than are kept, the longest ones win.
    later = start + timedelta(days=1)
    for i in range(collect.MAX_KEPT_QUIET + 5):
        Message.objects.create(room=room, sender=member, body=f"gap {i}", created_at=later + timedelta(hours=i, minutes=i % 7))
    factories.add_messages(room, member, 30, start=later + timedelta(days=30), body="近期 {i}")

    made = []
    original = Message.from_db.__func__

    def counting(cls, *args, **kwargs):
        made.append(1)
        return original(cls, *args, **kwargs)

    # The knowledge context and the room's documents cost the same queries in any room: counted apart.
    with CaptureQueriesContext(connection) as context:
        collect._knowledge(room)
        collect._documents(room, "zh-hant")
    monkeypatch.setattr(Message, "from_db", classmethod(counting))
    with django_assert_max_num_queries(14 + len(context.captured_queries)):
        snapshot = collect_room(room, max_messages=25)

    total = 1500 + collect.MAX_KEPT_EVENTS + 20 + collect.MAX_KEPT_QUIET + 5 + 30
    assert snapshot.total_messages == total
    assert [m.body for m in snapshot.messages][-1] == "近期 29" and len(snapshot.messages) == 25
    older = snapshot.condensed
    assert older.message_count == total - 25
    assert len(made) <= 25 + collect.MAX_KEPT_EVENTS, len(made)
    assert [e.body for e in older.events][-1] == f"alert {collect.MAX_KEPT_EVENTS + 19} fired"
    assert len(older.events) == collect.MAX_KEPT_EVENTS
    assert dict(older.by_sender) == {"陳指揮 Commander Chen": 1500, "system": collect.MAX_KEPT_EVENTS + 20,
                                     "王小明 Member Wang": collect.MAX_KEPT_QUIET + 5 + 5}
    assert len(older.quiet_stretches) == collect.MAX_KEPT_QUIET
    assert [q.start for q in older.quiet_stretches] == sorted(q.start for q in older.quiet_stretches)
    # The gap before the last day's first message (almost a day) is among the longest kept.
    assert max(q.end - q.start for q in older.quiet_stretches) > timedelta(hours=20)
    # The five oldest of the last thirty are in the older part too.
    assert older.start == start and older.end == later + timedelta(days=30, minutes=4)
