"""Ticket notes: time to the first token over the room WebSocket and over SSE,
minus the AI server's own time to its first token, measured side by side.

The fake DIFY server streams the answer in pieces after ``FIRST_TOKEN_S``; its
own time to first token is measured with a direct streaming request in the same
run, so the figure is what Warroom adds (queueing, the worker, the channel layer,
the web process).
"""

import asyncio
import json
import statistics
import time

import httpx

from bench.harness import fmt_spread, spread, summary_ms

RUNS = 12
WARMUP = 2
ROUNDS = 3
FIRST_TOKEN_S = 0.5


def _ai_first_token(stack) -> float:
    """One direct streaming call to the AI server: seconds to its first answer piece."""
    body = {"inputs": {}, "query": "notes", "user": "bench", "response_mode": "streaming"}
    started = time.perf_counter()
    with httpx.stream("POST", f"{stack.ai.base_url}/chat-messages", json=body, timeout=30,
                      headers={"Authorization": "Bearer app-bench"}) as response:
        for line in response.iter_lines():
            if line.startswith("data:") and json.loads(line[5:]).get("event") == "message":
                return time.perf_counter() - started
    raise RuntimeError("the AI server sent no answer piece")


def _wait_notes_done(report_id, timeout=60):
    from reports.models import IN_FLIGHT_STATUSES, Report

    deadline = time.monotonic() + timeout
    while Report.objects.filter(id=report_id, status__in=IN_FLIGHT_STATUSES).exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"notes {report_id} still running after {timeout} s")
        time.sleep(0.05)


def run(stack):
    from tests.factories import PASSWORD
    from tests.fakes.ai_server import Reply
    from tests.services import cookie_header, login_client

    from bench import seed

    commander = seed.user("bench-notes", "工單 Notes")
    room = seed.room(stack, commander=commander, title="Notes room", messages=60)
    client = login_client(stack.url, commander.username, PASSWORD)
    headers = {"X-CSRFToken": client.cookies.get("csrftoken"), "Referer": stack.url + "/"}
    cookie = cookie_header(client)
    previous = stack.ai.default
    stack.ai.default = Reply(headers_delay=FIRST_TOKEN_S, chunks=10, chunk_delay=0.05)
    try:
        async def over_websocket():
            import websockets

            url = f"ws://127.0.0.1:{stack.port}/ws/rooms/{room.id}/"
            async with websockets.connect(url, additional_headers={"Cookie": cookie}, origin=stack.url) as ws:
                started = time.perf_counter()
                response = await asyncio.to_thread(client.post, f"/api/rooms/{room.id}/notes", json={}, headers=headers)
                assert response.status_code == 202, response.text
                report_id = response.json()["id"]
                while True:
                    event = json.loads(await asyncio.wait_for(ws.recv(), 30))
                    if event["type"] == "notes.delta" and event["report_id"] == report_id:
                        return time.perf_counter() - started, report_id

        def over_sse():
            # A GET of the stream only listens: the notes are started by a POST, then followed.
            started = time.perf_counter()
            posted = client.post(f"/api/rooms/{room.id}/notes", json={}, headers=headers)
            assert posted.status_code == 202, posted.text
            report_id = posted.json()["id"]
            with client.stream("GET", f"/api/rooms/{room.id}/notes/stream?report={report_id}", timeout=60) as response:
                assert response.status_code == 200, response.read()
                first = None
                for line in response.iter_lines():
                    if first is None and line.startswith("data: ") and not line.startswith("data: [DONE]"):
                        first = time.perf_counter() - started
                    if line.startswith(("data: [DONE]", "data: [ERROR]")):
                        break
            return first, report_id

        rounds = []
        for _round in range(ROUNDS):
            ai_own = [_ai_first_token(stack) for _ in range(RUNS)]
            websocket_times, sse_times = [], []
            for index in range(RUNS + WARMUP):
                elapsed, report_id = asyncio.run(over_websocket())
                _wait_notes_done(report_id)
                if index >= WARMUP:
                    websocket_times.append(elapsed)
                elapsed, report_id = over_sse()
                _wait_notes_done(report_id)
                if index >= WARMUP and elapsed is not None:
                    sse_times.append(elapsed)
            rounds.append((ai_own, websocket_times, sse_times))
    finally:
        stack.ai.default = previous

    def added(times, ai_own):
        return (statistics.median(times) - statistics.median(ai_own)) * 1000

    ai_own, websocket_times, sse_times = rounds[-1]
    return {
        "scenario": "notes",
        "runs": RUNS,
        "goal_websocket_added_ms": 15, "goal_sse_added_ms": 20,
        "ai_first_token": summary_ms(ai_own),
        "websocket_first_token": summary_ms(websocket_times),
        "sse_first_token": summary_ms(sse_times),
        "websocket_added_p50_ms": spread([added(w, a) for a, w, _ in rounds], 1),
        "sse_added_p50_ms": spread([added(s, a) for a, _, s in rounds], 1),
    }


def table(result):
    return [
        ("notes: first token minus the AI's own first token, WebSocket p50 (ms)",
         f"+{fmt_spread(result['websocket_added_p50_ms'])}  (AI alone {result['ai_first_token']['p50_ms']} ms)"),
        ("notes: first token minus the AI's own first token, SSE p50 (ms)", f"+{fmt_spread(result['sse_added_p50_ms'])}"),
    ]
