"""Parallel sections: the content stage with REPORT_SECTION_MODE=parallel over the slowest single section.

The worker is restarted in parallel mode with enough threads for the six
section tasks; 1.0 would mean the sections ran fully side by side.
"""

import statistics

RUNS = 3
THREADS = 8


def run(stack):
    from django.conf import settings

    from bench import seed
    from reports.services import report_request

    stack.start_worker(concurrency=THREADS, REPORT_SECTION_MODE="parallel")
    settings.REPORT_SECTION_MODE = "parallel"  # the chain is built where the report is requested: here
    commander = seed.user("bench-parallel", "平行 Parallel")
    ratios, rows = [], []
    try:
        for index in range(RUNS):
            room = seed.room(stack, commander=commander, title=f"Parallel room {index}", messages=50)
            report, _ = report_request(room=room, requested_by=commander)
            (report,) = seed.wait_reports_ended([report.id])
            assert report.status == "completed", (report.error_message, report.error_detail)
            steps = {s.key: s.duration_seconds for s in report.steps.all()}
            content = steps["generate_content"]
            sections = {k.rsplit(".", 1)[-1]: v for k, v in steps.items()
                        if k.startswith("generate_content.section.") and k.count(".") == 2}
            slowest = max(sections.values())
            ratios.append(content / slowest)
            rows.append({"content_s": round(content, 3), "slowest_section_s": round(slowest, 3),
                         "sections_s": {k: round(v, 3) for k, v in sections.items()}})
    finally:
        settings.REPORT_SECTION_MODE = "single"
        stack.start_worker()
    return {"scenario": "parallel", "worker_threads": THREADS, "ai_latency_s": stack.ai_latency, "runs": rows,
            "ratio": {"min": round(min(ratios), 3), "median": round(statistics.median(ratios), 3),
                      "max": round(max(ratios), 3)},
            "ratio_median": round(statistics.median(ratios), 3)}


def table(result):
    run, ratio = result["runs"][0], result["ratio"]
    return [("parallel: content stage / slowest section (6 sections), median (min–max)",
             f"{ratio['median']}x ({ratio['min']}–{ratio['max']})  (first run: content {run['content_s']} s, "
             f"slowest {run['slowest_section_s']} s)")]
