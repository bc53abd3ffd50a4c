"""Time to first progress: POST generate -> the first report.progress on a real WebSocket client.

50 runs, one room each (one report in flight per room); the AI answers at once here, and
each run waits for its report to end before the next POST: on this 2-core machine the
worker writing the previous report (collect, the .docx, storage) would otherwise share the
cores with the request being timed, which a deployment with workers on their own machines
does not do, and which the floor beside it does not pay either. The socket is read while the
POST is in flight, so the figure is when the browser hears the progress (published at the
commit, before the response is written), not when the POST returns; the POST's own time
is reported beside it. The floor in the same run: an event published with
``realtime.events.publish`` from this process (as a worker does) to the same kind of
socket, i.e. channels-redis and uvicorn alone, with no request in front. 3 runs of 50.
"""

import asyncio
import json
import time

from bench.harness import fmt_spread, spread, summary_ms

RUNS = 50
ROUNDS = 3
WARMUP = 3


def run(stack):
    from bench import seed
    from realtime import events as realtime
    from reports import events as report_events
    from reports.models import Report
    from tests.factories import PASSWORD
    from tests.services import cookie_header, login_client

    commander = seed.user("bench-ttfp", "首次進度 TTFP")
    client = login_client(stack.url, commander.username, PASSWORD)
    headers = {"X-CSRFToken": client.cookies.get("csrftoken"), "Referer": stack.url + "/"}
    cookie = cookie_header(client)
    stack.set_ai_latency(0)

    async def first_event(ws, kind):
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if event["type"] == kind:
                return time.perf_counter()

    async def one(room):
        import websockets

        url = f"ws://127.0.0.1:{stack.port}/ws/rooms/{room.id}/"
        async with websockets.connect(url, additional_headers={"Cookie": cookie}, origin=stack.url) as ws:
            heard = asyncio.create_task(first_event(ws, "report.progress"))
            started = time.perf_counter()
            response = await asyncio.to_thread(client.post, f"/api/rooms/{room.id}/reports/generate", json={},
                                               headers=headers)
            answered = time.perf_counter()
            assert response.status_code == 202, response.text
            arrived = await heard
            return arrived - started, answered - started, response.json()["report_id"]

    async def floor(room, report):
        import websockets

        url = f"ws://127.0.0.1:{stack.port}/ws/rooms/{room.id}/"
        async with websockets.connect(url, additional_headers={"Cookie": cookie}, origin=stack.url) as ws:
            await asyncio.sleep(0.05)  # the consumer has joined the group
            heard = asyncio.create_task(first_event(ws, "report.progress"))
            started = time.perf_counter()
            await asyncio.to_thread(realtime.publish, room.id, report_events.report_progress(report))
            return await heard - started

    rounds, ids = [], []
    for round_index in range(ROUNDS):
        rooms = [seed.room(stack, commander=commander, title=f"TTFP room {round_index}-{i}", messages=20)
                 for i in range(RUNS + WARMUP)]
        heard, posts, floors = [], [], []
        for index, room in enumerate(rooms):
            elapsed, post, report_id = asyncio.run(one(room))
            ids.append(report_id)
            seed.wait_reports_ended([report_id])
            if index >= WARMUP:
                heard.append(elapsed)
                posts.append(post)
        seed.wait_reports_ended(ids)
        report = Report.objects.get(id=ids[-1])
        for room in rooms[:RUNS]:
            floors.append(asyncio.run(floor(room, report)))
        rounds.append({"post_to_first_progress": summary_ms(heard), "post_response": summary_ms(posts),
                       "publish_to_socket": summary_ms(floors)})
    stack.set_ai_latency(stack.ai_latency)
    return {
        "scenario": "first_progress", "runs": RUNS, "rounds": rounds, "goal_p95_ms": 30,
        "p95_ms": spread([r["post_to_first_progress"]["p95_ms"] for r in rounds], 1),
        "p50_ms": spread([r["post_to_first_progress"]["p50_ms"] for r in rounds], 1),
        "post_response_p95_ms": spread([r["post_response"]["p95_ms"] for r in rounds], 1),
        "floor_p95_ms": spread([r["publish_to_socket"]["p95_ms"] for r in rounds], 1),
        "ratio_p95_to_floor": spread([r["post_to_first_progress"]["p95_ms"] / r["publish_to_socket"]["p95_ms"]
                                      for r in rounds], 2),
    }


def table(result):
    return [("first progress: POST generate -> WS report.progress p95 (ms)",
             f"{fmt_spread(result['p95_ms'])}  (p50 {result['p50_ms']['median']}; POST answered p95 "
             f"{result['post_response_p95_ms']['median']}; floor publish -> socket p95 {result['floor_p95_ms']['median']}, "
             f"ratio {result['ratio_p95_to_floor']['median']}x)")]
