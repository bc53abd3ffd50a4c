"""Pipeline overhead: total report time for a 200-message, 10-image room over the AI server's own time.

The AI server answers after ``ai_latency`` seconds. Its own time for the same
request is measured by replaying the recorded request body to it directly;
1.0 would mean the pipeline adds nothing around the AI call.
"""

import statistics
import time

import httpx

from bench.harness import fmt_spread, spread

RUNS = 3


def ai_own_seconds(stack, body):
    started = time.perf_counter()
    with httpx.stream("POST", f"{stack.ai.base_url}/chat-messages", json=body,
                      headers={"Authorization": "Bearer app-bench"}, timeout=120) as response:
        for _ in response.iter_bytes():
            pass
    return time.perf_counter() - started


def run(stack):
    from bench import seed
    from tests.factories import PASSWORD
    from tests.services import login_client

    commander = seed.user("bench-pipeline", "流程 Pipeline")
    client = login_client(stack.url, commander.username, PASSWORD)
    headers = {"X-CSRFToken": client.cookies.get("csrftoken"), "Referer": stack.url + "/"}
    totals, own, ratios, stages = [], [], [], []
    for index in range(RUNS):
        room = seed.room(stack, commander=commander, title=f"Pipeline room {index}", messages=200, images=10)
        before = len(stack.ai.requests)
        started = time.perf_counter()
        response = client.post(f"/api/rooms/{room.id}/reports/generate", json={}, headers=headers)
        assert response.status_code == 202, response.text
        (report,) = seed.wait_reports_ended([response.json()["report_id"]])
        total = time.perf_counter() - started
        assert report.status == "completed", (report.error_message, report.error_detail)
        body = stack.ai.requests[before].json
        ai = ai_own_seconds(stack, body)
        totals.append(total)
        own.append(ai)
        ratios.append(total / ai)
        stages.append({s.key: round(s.duration_seconds or 0, 3) for s in report.steps.filter(parent=None)})
    return {
        "scenario": "pipeline", "messages": 200, "images": 10, "ai_latency_s": stack.ai_latency, "goal": 1.05,
        "total_s": [round(t, 3) for t in totals], "ai_own_s": [round(t, 3) for t in own],
        "ratio": spread(ratios), "ratio_median": round(statistics.median(ratios), 3), "stage_seconds": stages,
    }


def table(result):
    return [("pipeline: report time ÷ the AI's own time (200 msgs, 10 images)",
             f"{fmt_spread(result['ratio'], 'x')}  (total {statistics.median(result['total_s'])} s, "
             f"AI {statistics.median(result['ai_own_s'])} s)")]
