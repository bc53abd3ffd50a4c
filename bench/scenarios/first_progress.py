"""Time to first progress: POST generate -> the first report.progress on a real WebSocket client.

50 runs, one room each (one report in flight per room); the AI answers at once
here so the worker keeps up, since only the first event is timed.
"""

import asyncio
import json
import time

from bench.harness import summary_ms

RUNS = 50
WARMUP = 3


def run(stack):
    from bench import seed
    from tests.factories import PASSWORD
    from tests.services import cookie_header, login_client

    commander = seed.user("bench-ttfp", "首次進度 TTFP")
    rooms = [seed.room(stack, commander=commander, title=f"TTFP room {i}", messages=20) for i in range(RUNS + WARMUP)]
    client = login_client(stack.url, commander.username, PASSWORD)
    headers = {"X-CSRFToken": client.cookies.get("csrftoken"), "Referer": stack.url + "/"}
    cookie = cookie_header(client)
    stack.set_ai_latency(0)

    async def one(room):
        import websockets

        url = f"ws://127.0.0.1:{stack.port}/ws/rooms/{room.id}/"
        async with websockets.connect(url, additional_headers={"Cookie": cookie}, origin=stack.url) as ws:
            started = time.perf_counter()
            response = await asyncio.to_thread(client.post, f"/api/rooms/{room.id}/reports/generate", json={},
                                               headers=headers)
            assert response.status_code == 202, response.text
            while True:
                event = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if event["type"] == "report.progress":
                    return time.perf_counter() - started, response.json()["report_id"]

    samples, ids = [], []
    for index, room in enumerate(rooms):
        elapsed, report_id = asyncio.run(one(room))
        ids.append(report_id)
        if index >= WARMUP:
            samples.append(elapsed)
    seed.wait_reports_ended(ids)
    stack.set_ai_latency(stack.ai_latency)
    return {"scenario": "first_progress", "runs": RUNS, "post_to_first_progress": summary_ms(samples)}


def table(result):
    s = result["post_to_first_progress"]
    return [("first progress: POST generate -> WS report.progress p50/p95 (ms)", f"{s['p50_ms']} / {s['p95_ms']}")]
