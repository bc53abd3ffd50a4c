"""Resolve never waits on AI: POST resolve on a 1,000-message room beside a plain GET of it.

The AI server answers after ``ai_latency`` seconds; resolve starts the
postmortem (and, later, ticket notes) but must return like an ordinary request.
"""

from datetime import timedelta

from django.utils import timezone

from bench.harness import fmt_spread, spread, summary_ms, timed

MESSAGES = 1000
ROOMS = 25
WARMUP = 3
ROUNDS = 3


def seed(n_rooms):
    from incidents.models import IncidentRoom, MemberRole, Message, MessageKind, RoomMember
    from tests.factories import PASSWORD

    from bench.seed import user

    commander = user("bench-ic", "Bench 指揮官")
    rooms = []
    for index in range(n_rooms):
        opened = timezone.now() - timedelta(minutes=47)
        room = IncidentRoom.objects.create(title=f"Bench room {index}", created_by=commander, created_at=opened)
        RoomMember.objects.create(room=room, user=commander, role=MemberRole.COMMANDER)
        Message.objects.bulk_create(
            Message(room=room, sender=commander, kind=MessageKind.TEXT, body=f"訊息 {i} status update", created_at=opened + timedelta(seconds=2 * i))
            for i in range(MESSAGES)
        )
        rooms.append(room)
    return commander, PASSWORD, rooms


def _drop_follow_ups():
    """Each resolve queued ticket notes and a postmortem (the AI takes seconds each): drop that
    backlog so the next scenario does not wait behind it. Only the resolve request is measured here."""
    from config.celery import app
    from reports.models import IN_FLIGHT_STATUSES, Report

    app.control.purge()
    Report.objects.filter(status__in=IN_FLIGHT_STATUSES).update(
        status="failed", error_message="dropped by the benchmark", error_detail="bench cleanup"
    )


def _round(stack):
    from tests.services import login_client

    commander, password, rooms = seed(ROOMS + WARMUP)
    client = login_client(stack.url, commander.username, password)
    headers = {"X-CSRFToken": client.cookies.get("csrftoken"), "Referer": stack.url + "/"}
    gets, resolves = [], []
    for index, room in enumerate(rooms):
        get_time, got = timed(lambda: client.get(f"/api/rooms/{room.id}/"))
        post_time, posted = timed(lambda: client.post(f"/api/rooms/{room.id}/resolve/", json={"summary": "bench"}, headers=headers))
        assert got.status_code == 200, got.text
        assert posted.status_code == 200, posted.text
        if index >= WARMUP:
            gets.append(get_time)
            resolves.append(post_time)
    _drop_follow_ups()
    return summary_ms(gets), summary_ms(resolves)


def run(stack):
    rounds = [_round(stack) for _ in range(ROUNDS)]
    return {
        "scenario": "resolve",
        "room_messages": MESSAGES,
        "ai_latency_s": stack.ai_latency,
        "goal_ratio": 1.25,
        "rounds": [{"get_room": g, "post_resolve": p} for g, p in rounds],
        "get_room": rounds[-1][0],
        "post_resolve": rounds[-1][1],
        "ratio_p50": spread([p["p50_ms"] / g["p50_ms"] for g, p in rounds], 2),
        "ratio_p95": spread([p["p95_ms"] / g["p95_ms"] for g, p in rounds], 2),
        "ai_requests_during_run": len(stack.ai.requests),
    }


def table(result):
    return [
        ("resolve: POST resolve ÷ GET room (AI at 5 s), p50",
         f"{fmt_spread(result['ratio_p50'], 'x')}  (last round {result['post_resolve']['p50_ms']} / "
         f"{result['get_room']['p50_ms']} ms; p95 ratio {fmt_spread(result['ratio_p95'], 'x')})"),
    ]
