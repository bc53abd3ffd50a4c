"""Alert intake on one uvicorn process: throughput beside a bare DRF insert, and an alert storm.

Throughput: alerts stored per second for Alertmanager deliveries of 1 and of 50 new alerts,
beside ``POST /api/rooms/{id}/messages/`` (DRF, token auth, one row inserted), in the same run
with the same concurrency. Goal: alerts/s ≥ 0.5× the bare figure.

Storm: 10,000 deliveries of 200 distinct fingerprints in 3 groups, offered evenly over 60 s
(fewer if the server cannot keep up: then it takes longer, and says so): exactly 3 rooms,
200 alerts, 0 errors, and the latency percentiles of a delivery.
"""

import asyncio
import statistics
import time

CONCURRENCY = 8
# Throughput rounds, each beside its baseline (the storm runs once: it takes a minute).
ROUNDS = 3
BARE_REQUESTS = 400
SINGLE_DELIVERIES = 400
BATCH_DELIVERIES = 40
BATCH_SIZE = 50
STORM_DELIVERIES = 10_000
STORM_FINGERPRINTS = 200
STORM_GROUPS = 3
STORM_SECONDS = 60
STORM_CONCURRENCY = 64


def _alert(fingerprint, service):
    return {
        "status": "firing",
        "labels": {"alertname": "BenchAlert", "service": service, "severity": "warning", "instance": fingerprint},
        "annotations": {"summary": f"Bench {service}"},
        "startsAt": "2026-12-01T08:00:00.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.bench/graph",
        "fingerprint": fingerprint,
    }


def _payload(alerts):
    return {"version": "4", "status": "firing", "receiver": "warroom", "groupKey": "{}:{}", "truncatedAlerts": 0,
            "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am.bench",
            "alerts": alerts}


async def _blast(url, bodies, headers, concurrency):
    """POST every body with ``concurrency`` in flight; returns (seconds, latencies, failures)."""
    import httpx

    queue = list(bodies)
    latencies, failures = [], []

    async def worker(client):
        while queue:
            body = queue.pop()
            start = time.perf_counter()
            response = await client.post(url, json=body, headers=headers)
            latencies.append(time.perf_counter() - start)
            if response.status_code not in (200, 201):
                failures.append(response.status_code)

    async with httpx.AsyncClient(timeout=60) as client:
        start = time.perf_counter()
        await asyncio.gather(*[worker(client) for _ in range(concurrency)])
        return time.perf_counter() - start, latencies, failures


async def _storm(url, headers):
    import httpx

    latencies, failures = [], []
    semaphore = asyncio.Semaphore(STORM_CONCURRENCY)
    interval = STORM_SECONDS / STORM_DELIVERIES

    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=STORM_CONCURRENCY)) as client:
        async def deliver(index):
            number = index % STORM_FINGERPRINTS
            body = _payload([_alert(f"storm{number:04d}", f"svc-{number % STORM_GROUPS}")])
            async with semaphore:
                start = time.perf_counter()
                try:
                    response = await client.post(url, json=body, headers=headers)
                    if response.status_code != 200:
                        failures.append(response.status_code)
                except httpx.HTTPError as exc:  # a transport error: the delivery was not stored
                    failures.append(type(exc).__name__)
                latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        tasks = []
        for index in range(STORM_DELIVERIES):
            delay = start + index * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(deliver(index)))
        await asyncio.gather(*tasks)
        return time.perf_counter() - start, latencies, failures


def run(stack):
    from accounts.services import api_token_create
    from alerts.models import Alert, AlertGroup, SourceKind
    from alerts.services import alert_source_create
    from bench import seed
    from bench.harness import percentile, summary_ms

    commander = seed.user("bench-alerts", "告警 Bench")
    room = seed.room(stack, commander=commander, title="Bare insert room", messages=1, resolved=False)
    _, key = api_token_create(user=commander, name="bench-alerts")
    source, token = alert_source_create(name="bench-throughput", kind=SourceKind.ALERTMANAGER)
    url, auth = f"{stack.url}/api/alerts/alertmanager", {"Authorization": f"Bearer {token}"}
    # Three rounds, each with the baseline beside it (new fingerprints every round): min/median/max.
    rounds = []
    for r in range(ROUNDS):
        bare_seconds, bare_latencies, bare_failures = asyncio.run(_blast(
            f"{stack.url}/api/rooms/{room.id}/messages/", [{"body": f"bench {r}-{i}"} for i in range(BARE_REQUESTS)],
            {"Authorization": f"Token {key}"}, CONCURRENCY))
        single_seconds, single_latencies, single_failures = asyncio.run(_blast(
            url, [_payload([_alert(f"r{r}single{i:05d}", "svc-single")]) for i in range(SINGLE_DELIVERIES)], auth,
            CONCURRENCY))
        batch_seconds, batch_latencies, batch_failures = asyncio.run(_blast(
            url, [_payload([_alert(f"r{r}batch{d:03d}-{i:02d}", f"svc-batch-{d % 5}") for i in range(BATCH_SIZE)])
                  for d in range(BATCH_DELIVERIES)], auth, CONCURRENCY))
        bare_rate = BARE_REQUESTS / bare_seconds
        rounds.append({
            "bare_insert_per_s": round(bare_rate, 1),
            "batch1_alerts_per_s": round(SINGLE_DELIVERIES / single_seconds, 1),
            "batch50_alerts_per_s": round(BATCH_DELIVERIES * BATCH_SIZE / batch_seconds, 1),
            "batch1_ratio": round(SINGLE_DELIVERIES / single_seconds / bare_rate, 2),
            "batch50_ratio": round(BATCH_DELIVERIES * BATCH_SIZE / batch_seconds / bare_rate, 2),
            "bare_latency": summary_ms(bare_latencies), "batch1_latency": summary_ms(single_latencies),
            "batch50_latency": summary_ms(batch_latencies),
            "errors": len(bare_failures) + len(single_failures) + len(batch_failures),
        })

    storm_source, storm_token = alert_source_create(name="bench-storm", kind=SourceKind.ALERTMANAGER)
    storm_seconds, storm_latencies, storm_failures = asyncio.run(_storm(url, {"Authorization": f"Bearer {storm_token}"}))

    def spread(key):
        values = [r[key] for r in rounds]
        return {"min": min(values), "median": statistics.median(values), "max": max(values)}

    return {
        "scenario": "alerts",
        "concurrency": CONCURRENCY,
        "rounds": rounds,
        "bare_insert_per_s": spread("bare_insert_per_s"),
        "batch1_alerts_per_s": spread("batch1_alerts_per_s"),
        "batch50_alerts_per_s": spread("batch50_alerts_per_s"),
        "batch1_ratio": spread("batch1_ratio"),
        "batch50_ratio": spread("batch50_ratio"),
        "throughput_errors": sum(r["errors"] for r in rounds),
        "storm": {
            "deliveries": STORM_DELIVERIES,
            "offered_over_s": STORM_SECONDS,
            "took_s": round(storm_seconds, 1),
            "errors": len(storm_failures),
            "error_kinds": {str(kind): storm_failures.count(kind) for kind in set(storm_failures)},
            "rooms": AlertGroup.objects.filter(source=storm_source).count(),
            "alerts": Alert.objects.filter(source=storm_source).count(),
            "occurrences": sum(Alert.objects.filter(source=storm_source).values_list("occurrences", flat=True)),
            "latency": {**summary_ms(storm_latencies), "p99_ms": round(percentile(storm_latencies, 0.99) * 1000, 2)},
        },
    }


def table(result):
    storm = result["storm"]
    return [
        ("alerts: bare DRF insert / AM batch 1 / batch 50 (per s, median of 3; ratio min–max)",
         f"{result['bare_insert_per_s']['median']} / {result['batch1_alerts_per_s']['median']} "
         f"({result['batch1_ratio']['median']}×, {result['batch1_ratio']['min']}–{result['batch1_ratio']['max']}) / "
         f"{result['batch50_alerts_per_s']['median']} ({result['batch50_ratio']['median']}×, "
         f"{result['batch50_ratio']['min']}–{result['batch50_ratio']['max']})"),
        ("alerts: storm 10,000 deliveries, rooms / alerts / errors",
         f"{storm['rooms']} / {storm['alerts']} / {storm['errors']} in {storm['took_s']} s"),
        ("alerts: storm latency p50 / p99 (ms)", f"{storm['latency']['p50_ms']} / {storm['latency'].get('p99_ms')}"),
    ]
