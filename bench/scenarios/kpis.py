"""Daily KPIs on PostgreSQL with 100,000 and 1,000,000 generated rooms: seconds and query count.

Rooms are written with one INSERT ... SELECT generate_series (two years of
history, about 1,400 rooms a day at 1M), plus a report per 20 rooms; then the
KPIs of one day are collected the way the daily report does.
"""

import time
from datetime import timedelta

SIZES = [100_000, 1_000_000]
RUNS = 3

ROOMS_SQL = """
INSERT INTO incidents_incidentroom
    (id, title, description, severity, category, status, created_at, updated_at, resolved_at,
     resolution_summary, created_by_id, first_resolved_at)
SELECT gen_random_uuid(), 'generated ' || g, '', (ARRAY['sev1','sev2','sev3','sev4'])[1 + mod(g, 4)],
       (ARRAY['Network','Email','Database','Storage','Identity'])[1 + mod(g, 5)],
       CASE WHEN mod(g, 50) = 0 THEN 'active' ELSE 'resolved' END,
       %(start)s::timestamptz + (g * %(step)s) * interval '1 second',
       %(start)s::timestamptz + (g * %(step)s) * interval '1 second',
       CASE WHEN mod(g, 50) = 0 THEN NULL
            ELSE %(start)s::timestamptz + (g * %(step)s + 600 + mod(g::bigint * 7919, 86400)) * interval '1 second' END,
       '', NULL,
       CASE WHEN mod(g, 50) = 0 THEN NULL
            ELSE %(start)s::timestamptz + (g * %(step)s + 600 + mod(g::bigint * 7919, 86400)) * interval '1 second' END
FROM generate_series(%(first)s, %(last)s) AS g
"""

REPORTS_SQL = """
INSERT INTO reports_report
    (id, room_id, kind, status, language, step, percent, error_message, error_detail, provider, fallback_reason,
     llm_message_id, llm_conversation_id, prompt_tokens, completion_tokens, title, content, document, created_at,
     completed_at, attempts, delivery, ledger, state, version)
SELECT gen_random_uuid(), r.id, 'incident', CASE WHEN random() < 0.05 THEN 'failed' ELSE 'completed' END, 'zh-hant',
       '', 100, '', '', 'dify', '', '', '', 1200, 800, '', '{}', '', r.resolved_at, r.resolved_at + interval '40 seconds',
       0, '{}', '{}', 'draft', 1
FROM incidents_incidentroom r WHERE r.resolved_at IS NOT NULL AND r.title LIKE 'generated %%'
     AND ('x' || substr(md5(r.id::text), 1, 4))::bit(16)::int %% 20 = 0 AND r.created_at >= %(since)s
"""


def run(stack):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from reports.kpis import collect_kpis, day_window, report_day_for

    day = report_day_for(timezone.now()) - timedelta(days=1)
    end = timezone.now()
    span = 2 * 365 * 24 * 3600
    results, inserted = {}, 0
    for size in SIZES:
        step = span / SIZES[-1]
        start = end - timedelta(seconds=span)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(ROOMS_SQL.replace("%(step)s", f"{step:.6f}"),
                           {"start": start, "first": inserted + 1, "last": size})
            cursor.execute(REPORTS_SQL, {"since": start + timedelta(seconds=inserted * step)})
            cursor.execute("ANALYZE incidents_incidentroom")
            cursor.execute("ANALYZE reports_report")
        seeding = time.perf_counter() - started
        inserted = size
        seconds, queries = [], 0
        for _ in range(RUNS):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                kpis = collect_kpis(day_window(day))
                seconds.append(time.perf_counter() - started)
            queries = len(captured.captured_queries)
        unavailable = [k for k, v in kpis.items() if isinstance(v, dict) and v.get("unavailable")]
        results[str(size)] = {"rooms": size, "seconds_median": round(sorted(seconds)[RUNS // 2], 3),
                              "seconds": [round(s, 3) for s in seconds], "queries": queries,
                              "seed_seconds": round(seeding, 1), "unavailable_sections": unavailable}
    return {"scenario": "kpis", "day": day.isoformat(), "sizes": results}


def table(result):
    return [(f"daily KPIs: {int(size):,} rooms, seconds / queries", f"{r['seconds_median']} s / {r['queries']}")
            for size, r in result["sizes"].items()]
