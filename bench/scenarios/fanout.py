"""Fan-out: one room event to 100, 500 and 1,000 WebSocket clients, beside a bare Channels consumer in the same run.

Two servers, the same uvicorn flags and the same settings (channels-redis layer, its pool,
``capacity``, timeouts): the stack's uvicorn with Warroom's ASGI app, and a second uvicorn
with ``bench/bare_channels.py`` (join one group, forward every group event). For each size
the clients connect to one server, then two paths are measured, ``EVENTS`` events each, one
event at a time:

- **publish → every client**: Warroom: ``realtime.events.publish`` from this process (a
  process other than the server, as a Celery worker publishes), of an event declared here;
  bare: ``group_send`` to the bare group from this process, on a layer of the same settings.
- **REST write → every client**: Warroom: ``POST /api/rooms/{id}/messages/`` (DRF, token
  auth, the row inserted, ``message.created`` published on commit); bare: ``POST
  /bare/<room>/send`` to the bare uvicorn, a minimal ASGI endpoint that ``group_send``s the
  body (no auth, no database): what Channels alone costs for "a request makes an event".

Latency of a delivery = this process's clock when the client has the event, minus just
before the publish / the POST is sent (all clients are in this process). Per run: p50 and
p99 over every delivery of the run's events. ``RUNS`` runs per size, alternating which
server goes first; min / median / max of each figure, and Warroom ÷ bare of the medians.
``BENCH_FANOUT_SIZES`` (e.g. ``100,500``) runs fewer sizes.
"""

import asyncio
import json
import os
import statistics
import time
from pathlib import Path

from bench.harness import BIN, percentile

SIZES = [int(size) for size in os.environ.get("BENCH_FANOUT_SIZES", "100,500,1000").split(",")]
EVENTS = 5
RUNS = 3
IN_FLIGHT = 50
GOAL_RATIO = 1.3
PATHS = ("publish", "rest")
SERVERS = ("warroom", "bare")


_ping = None


def bench_ping():
    """A catalogue event declared in this process only (the consumer forwards any room event): ``{"marker": ...}``."""
    global _ping
    if _ping is None:
        from realtime import events

        _ping = events.event("bench.ping", "Benchmark fan-out probe (bench only).")(lambda marker: {"marker": marker})
    return _ping


def rss_mb(pid, field="VmRSS"):
    """The process's resident memory now (VmRSS), or its peak since it started (VmHWM), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


async def one_run(server, size, *, ws_url, origin, triggers, pid):
    """Connect ``size`` clients to ``server``, then time ``EVENTS`` events on each path; per path p50 / p99 (ms)."""
    import websockets

    semaphore = asyncio.Semaphore(IN_FLIGHT)

    async def connect():
        async with semaphore:
            return await websockets.connect(ws_url, additional_headers=triggers["headers"], origin=origin,
                                            open_timeout=120, max_queue=None)

    clients = await asyncio.gather(*[connect() for _ in range(size)])
    figures = {}
    try:
        for path in PATHS:
            latencies, trigger_ms, slowest = [], [], []
            for n in range(EVENTS):
                marker = f"fanout {server} {path} {size} {n} {time.time_ns()}"
                arrivals = []
                started = [None]

                async def receive(ws, marker=marker, arrivals=arrivals, started=started):
                    while True:
                        event = json.loads(await ws.recv())
                        if event.get("marker") == marker or event.get("body") == marker:
                            arrivals.append(time.perf_counter() - started[0])
                            return

                waiters = [asyncio.ensure_future(receive(ws)) for ws in clients]
                await asyncio.sleep(0.3)  # every receiver is waiting before the event leaves
                started[0] = time.perf_counter()
                await triggers[path](marker)
                trigger_ms.append((time.perf_counter() - started[0]) * 1000)
                await asyncio.wait_for(asyncio.gather(*waiters), 120)
                latencies.extend(arrivals)
                slowest.append(max(arrivals) * 1000)
            figures[path] = {"p50_ms": percentile(latencies, 0.5) * 1000, "p99_ms": percentile(latencies, 0.99) * 1000,
                             "deliveries": len(latencies), "trigger_ms": statistics.median(trigger_ms),
                             # Each event's last arrival, in order: one late event decides p99 at 100 clients.
                             "slowest_per_event_ms": [round(value, 1) for value in slowest]}
        figures["rss_mb"] = rss_mb(pid)
        # The peak includes the events just sent (and every earlier, smaller size: the server lives on).
        figures["rss_peak_mb"] = rss_mb(pid, "VmHWM")
    finally:
        await asyncio.gather(*[ws.close() for ws in clients], return_exceptions=True)
    return figures


def spread(values):
    return {"min": round(min(values), 1), "median": round(statistics.median(values), 1), "max": round(max(values), 1)}


def run(stack):
    import httpx
    from channels.layers import channel_layers

    from accounts.services import api_token_create
    from bench import seed
    from bench.bare_channels import bare_group
    from realtime import events
    from tests.factories import PASSWORD
    from tests.services import cookie_header, free_port, login_client, wait_until

    ping = bench_ping()
    commander = seed.user("bench-fanout", "扇出 Fanout")
    room = seed.room(stack, commander=commander, title="Fan-out room", messages=5, resolved=False)
    _, key = api_token_create(user=commander, name="bench-fanout")
    cookie = cookie_header(login_client(stack.url, commander.username, PASSWORD))

    port = free_port()
    bare_url = f"http://127.0.0.1:{port}"
    stack._spawn("bare-uvicorn-fanout", [str(BIN / "uvicorn"), "bench.bare_channels:application", "--host", "127.0.0.1",
                                         "--port", str(port), "--lifespan", "on", "--log-level", "warning"], stack.env)
    bare = stack.processes["bare-uvicorn-fanout"]
    wait_until(lambda: httpx.get(f"{bare_url}/").status_code == 200, timeout=60, what="bare uvicorn")
    pids = {"warroom": stack.processes["uvicorn"].pid, "bare": bare.pid}

    async def measure(server, size):
        async with httpx.AsyncClient(timeout=60) as http:
            if server == "warroom":
                async def publish(marker):
                    events.publish(room.id, ping(marker))

                async def rest(marker):
                    response = await http.post(f"{stack.url}/api/rooms/{room.id}/messages/", json={"body": marker},
                                               headers={"Authorization": f"Token {key}"})
                    response.raise_for_status()

                triggers = {"publish": publish, "rest": rest, "headers": {"Cookie": cookie}}
                ws_url = f"ws://127.0.0.1:{stack.port}/ws/rooms/{room.id}/"
            else:
                # A layer of its own on this loop, with the same settings as the servers'.
                layer = channel_layers.make_backend("default")

                async def publish(marker):
                    await layer.group_send(bare_group(room.id), {"type": "room.event", "event": "bench.ping",
                                                                 "payload": {"marker": marker}})

                async def rest(marker):
                    response = await http.post(f"{bare_url}/bare/{room.id}/send",
                                               json={"event": "message.created", "payload": {"body": marker}})
                    response.raise_for_status()

                triggers = {"publish": publish, "rest": rest, "headers": {}}
                ws_url = f"ws://127.0.0.1:{port}/ws/bare/{room.id}/"
            return await one_run(server, size, ws_url=ws_url, origin=stack.url, triggers=triggers, pid=pids[server])

    sizes = {}
    try:
        for size in SIZES:
            runs = {server: [] for server in SERVERS}
            for index in range(RUNS):
                order = SERVERS if index % 2 == 0 else SERVERS[::-1]
                for server in order:
                    runs[server].append(asyncio.run(measure(server, size)))
            entry = {"clients": size}
            for server in SERVERS:
                entry[server] = {path: {figure: spread([r[path][figure] for r in runs[server]])
                                        for figure in ("p50_ms", "p99_ms", "trigger_ms")} for path in PATHS}
                entry[server]["deliveries_per_run"] = runs[server][0][PATHS[0]]["deliveries"]
                entry[server]["rss_mb_max"] = max((r["rss_mb"] or 0) for r in runs[server])
                entry[server]["rss_peak_mb"] = max((r["rss_peak_mb"] or 0) for r in runs[server])
                entry[server]["slowest_per_event_ms"] = {path: [r[path]["slowest_per_event_ms"] for r in runs[server]]
                                                         for path in PATHS}
            entry["ratio"] = {path: {figure: round(entry["warroom"][path][figure]["median"]
                                                   / entry["bare"][path][figure]["median"], 2)
                                     for figure in ("p50_ms", "p99_ms")} for path in PATHS}
            entry["met"] = all(r <= GOAL_RATIO for path in PATHS for r in entry["ratio"][path].values())
            sizes[str(size)] = entry
            print(f"  fanout {size}: {json.dumps(entry['ratio'])}", flush=True)
    finally:
        stack._stop(bare)
    return {
        "scenario": "fanout", "events_per_path": EVENTS, "runs": RUNS, "goal_ratio": GOAL_RATIO,
        "met": all(entry["met"] for entry in sizes.values()), "sizes": sizes,
        "bare": "bench/bare_channels.py in a second uvicorn, same flags and settings; publish = group_send from this "
                "process; REST = POST /bare/<room>/send, a minimal ASGI endpoint that group_sends the body",
        "note": "one uvicorn process each; the clients run in one Python process on the same 2 cores",
    }


def table(result):
    rows = []
    for size, entry in result["sizes"].items():
        for path in PATHS:
            w, b, ratio = entry["warroom"][path], entry["bare"][path], entry["ratio"][path]
            rows.append((f"fan-out {path}: {int(size):,} clients, p50 / p99 ms, median of {result['runs']} (bare)",
                         f"{w['p50_ms']['median']} / {w['p99_ms']['median']} ({b['p50_ms']['median']} / "
                         f"{b['p99_ms']['median']}), ratio {ratio['p50_ms']}x / {ratio['p99_ms']}x"))
        rows.append((f"fan-out: {int(size):,} clients, server peak RSS during the runs, MB (bare)",
                     f"{entry['warroom'].get('rss_peak_mb')} ({entry['bare'].get('rss_peak_mb')})"))
    return rows
