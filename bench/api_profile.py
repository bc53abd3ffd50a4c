"""Where an API request's time goes: ``python -m bench.api_profile [path ...]`` (after ``python -m bench api``).

Runs the Warroom requests of the ``api`` scenario in this process (Django's test client
through every middleware, session login as ``bench-api``) against the benchmark database
it left, under cProfile; prints the queries of one request and the functions that took
the most time. Uses BENCH_DATABASE_URL and BENCH_REDIS_URL like the benchmarks.
"""

import cProfile
import io
import os
import pstats
import sys
import time

REQUESTS = 200


def main(argv):
    os.environ.update({
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", "postgres://warroom:warroom@127.0.0.1:5432/warroom_bench"),
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"),
        "DJANGO_SETTINGS_MODULE": "config.settings", "API_THROTTLE_USER": "1000000/min", "LOG_LEVEL": "WARNING",
        "WARROOM_EMBEDDED_WORKER": "false",
    })
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from incidents.models import IncidentRoom

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(username="bench-api"))
    paths = argv or ["/api/rooms/",
                     f"/api/rooms/{IncidentRoom.objects.get(title='API room 0').id}/messages/"]
    for path in paths:
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


if __name__ == "__main__":
    main(sys.argv[1:])
