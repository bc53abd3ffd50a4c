"""Where an API request's server time goes: ``python -m bench.api_profile [--asgi] [path ...]`` (after ``python -m bench api``).

Runs the Warroom requests of the ``api`` scenario against the benchmark database that
scenario left (BENCH_DATABASE_URL, BENCH_REDIS_URL), logged in as ``bench-api``:

- default: Django's test client in this process (every middleware, no ASGI server) under
  cProfile; prints the queries of one request and the functions with the most time;
- ``--asgi``: the real ASGI stack (uvicorn in a thread of this process, 8 concurrent
  clients) under yappi's CPU clock over every thread (``pip install yappi``): shows what
  the thread hops between the event loop and the sync middleware cost.
"""

import asyncio
import cProfile
import io
import os
import pstats
import sys
import threading
import time

REQUESTS = 200


def _setup():
    os.environ.update({
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", "postgres://warroom:warroom@127.0.0.1:5432/warroom_bench"),
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"),
        "DJANGO_SETTINGS_MODULE": "config.settings", "API_THROTTLE_USER": "1000000/min", "LOG_LEVEL": "WARNING",
        "WARROOM_EMBEDDED_WORKER": "false",
    })
    import django

    django.setup()


def _paths(argv):
    from incidents.models import IncidentRoom

    return argv or ["/api/rooms/", f"/api/rooms/{IncidentRoom.objects.get(title='API room 0').id}/messages/"]


def in_process(argv):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(username="bench-api"))
    for path in _paths(argv):
        assert client.get(path).status_code == 200
        with CaptureQueriesContext(connection) as queries:
            client.get(path)
        print(f"\n=== {path}: {len(queries)} queries")
        for query in queries.captured_queries:
            print(f"  {query['time']}s  {query['sql'][:160]}")
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        for _ in range(REQUESTS):
            client.get(path)
        profile.disable()
        print(f"  {(time.perf_counter() - started) / REQUESTS * 1000:.2f} ms per request in-process (profiled)")
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out).sort_stats("cumulative")
        stats.print_stats(45)
        # The parts the issue names: throttle, middlewares, authentication, pagination count, reverse().
        stats.print_stats(r"throttl|middleware|observability|authentication|paginator|urls/base|sessions|metrics|logs")
        print(out.getvalue())


def over_asgi(argv):
    import httpx
    import uvicorn
    import yappi
    from django.test import Client

    from accounts.models import User
    from tests.services import free_port

    session = Client(HTTP_HOST="127.0.0.1")
    session.force_login(User.objects.get(username="bench-api"))
    cookies = {name: morsel.value for name, morsel in session.cookies.items()}
    port = free_port()
    server = uvicorn.Server(uvicorn.Config("config.asgi:application", host="127.0.0.1", port=port, lifespan="on",
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)

    async def load(path, count):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", cookies=cookies, timeout=30) as client:
            async def one(n):
                for _ in range(n):
                    assert (await client.get(path)).status_code == 200
            await asyncio.gather(*(one(count // 8) for _ in range(8)))

    for path in _paths(argv):
        asyncio.run(load(path, 40))
        yappi.set_clock_type("cpu")
        yappi.clear_stats()
        yappi.start(builtins=False, profile_threads=True)
        asyncio.run(load(path, REQUESTS))
        yappi.stop()
        stats = yappi.get_func_stats()
        stats.sort("ttot", "desc")
        print(f"\n=== {path} over uvicorn: CPU seconds per function (all threads; the client's httpx frames too)")
        shown = 0
        for stat in stats:
            where = f"{stat.module}:{stat.lineno} {stat.name}"
            if "httpx" in where or "httpcore" in where or "bench/api_profile" in where:
                continue
            print(f"  {stat.ttot / REQUESTS * 1000:8.3f} ms/req  {stat.ncall:7d} calls  {where[-120:]}")
            shown += 1
            if shown == 60:
                break
    server.should_exit = True


if __name__ == "__main__":
    _setup()
    args = sys.argv[1:]
    if args[:1] == ["--asgi"]:
        over_asgi(args[1:])
    else:
        in_process(args)
