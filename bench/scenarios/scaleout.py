"""Scale-out: two uvicorn processes and two Celery workers on the same PostgreSQL and Redis.

WebSocket clients are split evenly across the two web processes, all in one room. Messages
are posted one after another, alternately through either process (each post waits for its
201, so the database order is the order they were sent); every client must receive every
``message.created`` event, in that order, whichever process it is connected to and whichever
process the message was posted through. Then reports are requested alternately through
either process for rooms of their own; both workers consume the one queue, and every report
must end ``completed`` once (one stored file, one finished publish step).

On this machine's two cores this shows correctness across processes, not a speed-up: the
four servers, PostgreSQL, Redis and the clients share the same two cores.
"""

import asyncio
import json
import re
import time

CLIENTS = 100  # split evenly over the two web processes
MESSAGES = 200
REPORTS = 8
AI_LATENCY = 0.5


def run(stack):
    from bench import seed
    from bench.harness import percentile
    from tests.factories import PASSWORD
    from tests.services import cookie_header, login_client

    second_url, second_port = stack.start_web("uvicorn-2")
    webs = [(stack.url, stack.port), (second_url, second_port)]
    stack.stop_process("worker")
    for name in ("worker-a", "worker-b"):
        stack.start_worker(name=name, loglevel="INFO")
    previous_latency = stack.ai_latency
    stack.set_ai_latency(AI_LATENCY)

    commander = seed.user("bench-scaleout", "擴充 Scale-out")
    room = seed.room(stack, commander=commander, title="Scale-out room", messages=5, resolved=False)
    posters = []
    for url, _ in webs:
        client = login_client(url, commander.username, PASSWORD)
        client.headers.update({"X-CSRFToken": client.cookies.get("csrftoken"), "Referer": url + "/"})
        posters.append(client)
    cookies = [cookie_header(client) for client in posters]

    try:
        sockets = asyncio.run(_messages(webs, cookies, room, posters))
        reports = _reports(stack, seed, commander, posters)
    finally:
        stack.set_ai_latency(previous_latency)
        for name in ("worker-a", "worker-b"):
            stack.stop_process(name)
        stack.stop_process("uvicorn-2")
        stack.start_worker()
        for client in posters:
            client.close()

    latencies = [latency for client in sockets["clients"] for latency in client["latencies"]]
    return {
        "scenario": "scaleout",
        "web_processes": 2, "worker_processes": 2, "clients": CLIENTS, "messages": MESSAGES,
        "clients_with_every_event_in_order": sum(1 for c in sockets["clients"] if c["in_order"] and c["complete"]),
        "clients_per_process": [sum(1 for c in sockets["clients"] if c["web"] == i) for i in range(2)],
        "deliveries": len(latencies),
        "post_to_delivery_p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
        "post_to_delivery_p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "posting_seconds": round(sockets["posting_seconds"], 2),
        "posts_per_process": sockets["posts_per_process"],
        **reports,
        "note": "2 uvicorn + 2 Celery worker processes, PostgreSQL, Redis and the clients on the same 2 cores: "
                "this shows correctness across processes, not a speed-up",
    }


async def _messages(webs, cookies, room, posters):
    import websockets

    received = [[] for _ in range(CLIENTS)]  # (message id, monotonic arrival) per client
    sockets = []
    for index in range(CLIENTS):
        web = index % 2
        url, port = webs[web]
        ws = await websockets.connect(f"ws://127.0.0.1:{port}/ws/rooms/{room.id}/",
                                      additional_headers={"Cookie": cookies[web]}, origin=url,
                                      open_timeout=60, max_queue=None)
        sockets.append((web, ws))

    async def listen(index, ws):
        while len(received[index]) < MESSAGES:
            event = json.loads(await ws.recv())
            if event.get("type") == "message.created" and event.get("body", "").startswith("scale "):
                received[index].append((event["id"], time.monotonic()))

    listeners = [asyncio.ensure_future(listen(i, ws)) for i, (_, ws) in enumerate(sockets)]
    await asyncio.sleep(0.5)  # every socket has joined the room's group
    sent = []  # (message id, monotonic time the post was sent)
    started = time.monotonic()
    loop = asyncio.get_running_loop()
    for n in range(MESSAGES):
        client = posters[n % 2]
        moment = time.monotonic()
        response = await loop.run_in_executor(
            None, lambda client=client, n=n: client.post(f"/api/rooms/{room.id}/messages/", json={"body": f"scale {n}"}))
        assert response.status_code == 201, response.text
        sent.append((response.json()["id"], moment))
    posting = time.monotonic() - started
    try:
        await asyncio.wait_for(asyncio.gather(*listeners), 120)
    except asyncio.TimeoutError:
        for task in listeners:
            task.cancel()
    await asyncio.gather(*[ws.close() for _, ws in sockets], return_exceptions=True)

    order = [message_id for message_id, _ in sent]
    sent_at = dict(sent)
    clients = []
    for index, (web, _) in enumerate(sockets):
        ids = [message_id for message_id, _ in received[index]]
        clients.append({
            "web": web,
            "complete": sorted(ids) == sorted(order),
            "in_order": ids == order[: len(ids)],
            "latencies": [arrival - sent_at[message_id] for message_id, arrival in received[index] if message_id in sent_at],
        })
    return {"clients": clients, "posting_seconds": posting, "posts_per_process": [MESSAGES // 2, MESSAGES - MESSAGES // 2]}


def _reports(stack, seed, commander, posters):
    from reports.models import ReportStep, StepStatus

    rooms = [seed.room(stack, commander=commander, title=f"Scale-out report {i}", messages=30) for i in range(REPORTS)]
    started = time.monotonic()
    report_ids = []
    for index, room in enumerate(rooms):
        response = posters[index % 2].post(f"/api/rooms/{room.id}/reports/generate", json={})
        assert response.status_code == 202, response.text
        report_ids.append(response.json()["report_id"])
    ended = seed.wait_reports_ended(report_ids, timeout=300)
    elapsed = time.monotonic() - started
    keys = stack.s3().list_objects_v2(Bucket=stack.bucket, Prefix="reports/").get("Contents", [])
    stored = {}
    for item in keys:
        match = re.match(r"reports/([^/]+)/([^/]+)\.docx$", item["Key"])
        if match:
            stored[match.group(2)] = stored.get(match.group(2), 0) + 1
    once = sum(
        1 for report in ended
        if report.status == "completed" and stored.get(str(report.id)) == 1
        and ReportStep.objects.filter(report=report, key="publish", status=StepStatus.COMPLETED).count() == 1
    )
    # Which worker ran which stage: each worker's log names the tasks it finished.
    stages_by_worker = {
        name: len(re.findall(r"Task reports\.\w+\[[^\]]+\] succeeded", stack.log_of(name)))
        for name in ("worker-a", "worker-b")
    }
    return {
        "reports": REPORTS,
        "reports_completed_once": once,
        "reports_failed": sum(1 for report in ended if report.status != "completed"),
        "report_stages_by_worker": stages_by_worker,
        "reports_all_ended_s": round(elapsed, 2),
        "ai_latency_s": AI_LATENCY,
    }


def table(result):
    return [
        ("scale-out: clients with every event, in order",
         f"{result['clients_with_every_event_in_order']} / {result['clients']} "
         f"({result['clients_per_process'][0]} + {result['clients_per_process'][1]} on 2 web processes, "
         f"{result['messages']} messages posted alternately through both)"),
        ("scale-out: post -> delivery p50/p99 (ms)",
         f"{result['post_to_delivery_p50_ms']} / {result['post_to_delivery_p99_ms']}"),
        ("scale-out: reports completed once",
         f"{result['reports_completed_once']} / {result['reports']} (stages per worker: "
         f"{', '.join(f'{k} {v}' for k, v in result['report_stages_by_worker'].items())})"),
    ]
