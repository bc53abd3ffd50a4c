"""Fan-out: 100, 500 and 1,000 WebSocket clients in one room; p50/p99 delivery latency of one event.

The event is published the way a Celery worker does (``realtime.events.publish``
through channels-redis) from this process, stamped with its send time; every
client notes when it arrives. Five events per size, one at a time.
"""

import asyncio
import json
import time

SIZES = [100, 500, 1000]
EVENTS = 5


def run(stack):
    from bench import seed
    from bench.harness import percentile
    from realtime import events
    from tests.factories import PASSWORD
    from tests.services import cookie_header, login_client

    commander = seed.user("bench-fanout", "扇出 Fanout")
    room = seed.room(stack, commander=commander, title="Fan-out room", messages=5, resolved=False)
    cookie = cookie_header(login_client(stack.url, commander.username, PASSWORD))
    url = f"ws://127.0.0.1:{stack.port}/ws/rooms/{room.id}/"
    results = {}

    async def scenario(size):
        import websockets

        semaphore = asyncio.Semaphore(50)

        async def connect():
            async with semaphore:
                return await websockets.connect(url, additional_headers={"Cookie": cookie}, origin=stack.url,
                                                open_timeout=60, max_queue=None)

        clients = await asyncio.gather(*[connect() for _ in range(size)])
        latencies = []
        try:
            for n in range(EVENTS):
                arrivals = []

                async def receive(ws, n=n, arrivals=arrivals):
                    while True:
                        event = json.loads(await ws.recv())
                        if event["type"] == "bench.ping" and event["n"] == n:
                            arrivals.append(time.time() - event["sent"])
                            return

                waiters = [asyncio.ensure_future(receive(ws)) for ws in clients]
                await asyncio.sleep(0.2)  # every receiver is waiting before the event leaves
                events.publish(room.id, "bench.ping", {"n": n, "sent": time.time()})
                await asyncio.wait_for(asyncio.gather(*waiters), 60)
                latencies.extend(arrivals)
        finally:
            await asyncio.gather(*[ws.close() for ws in clients], return_exceptions=True)
        return latencies

    for size in SIZES:
        latencies = asyncio.run(scenario(size))
        results[str(size)] = {
            "clients": size, "deliveries": len(latencies),
            "p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        }
    return {"scenario": "fanout", "events_per_size": EVENTS, "sizes": results,
            "note": "one uvicorn process; the clients run in one Python process on the same 2 cores"}


def table(result):
    return [(f"fan-out: {size} clients, delivery p50/p99 (ms)", f"{r['p50_ms']} / {r['p99_ms']}")
            for size, r in result["sizes"].items()]
