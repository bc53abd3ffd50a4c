"""Editing a report: PATCH one section → the new version's .docx is ready, beside the full pipeline's time.

A 200-message, 10-image room gets its report from the pipeline (AI at the stack's
latency), then 20 edits of the summary, each a PATCH that must answer with the
new version (its .docx built and stored, no AI request). The goal is p95 ≤ 1.5 s.
"""

import statistics
import time

EDITS = 20


def _percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(int(round(fraction * (len(ordered) - 1))), len(ordered) - 1)]


def run(stack):
    from bench import seed
    from tests.factories import PASSWORD
    from tests.services import login_client

    commander = seed.user("bench-edit", "編修 Editor")
    client = login_client(stack.url, commander.username, PASSWORD)
    headers = {"X-CSRFToken": client.cookies.get("csrftoken"), "Referer": stack.url + "/"}
    room = seed.room(stack, commander=commander, title="Edit room", messages=200, images=10)
    started = time.perf_counter()
    response = client.post(f"/api/rooms/{room.id}/reports/generate", json={}, headers=headers)
    assert response.status_code == 202, response.text
    report_id = response.json()["report_id"]
    (report,) = seed.wait_reports_ended([report_id])
    pipeline_s = time.perf_counter() - started
    assert report.status == "completed", (report.error_message, report.error_detail)
    ai_before = len(stack.ai.requests)
    url = f"/api/rooms/{room.id}/reports/{report_id}/content"
    seconds, version = [], 1
    for index in range(EDITS):
        began = time.perf_counter()
        answer = client.patch(url, json={"base_version": version, "sections": {"summary": f"第 {index} 次編修的摘要。"}},
                              headers=headers)
        seconds.append(time.perf_counter() - began)
        assert answer.status_code == 200, answer.text
        version = answer.json()["number"]
    assert len(stack.ai.requests) == ai_before, "an edit must not call the AI"
    return {
        "scenario": "edit", "messages": 200, "images": 10, "edits": EDITS, "pipeline_s": round(pipeline_s, 3),
        "edit_s": [round(s, 3) for s in seconds], "edit_p50_s": round(statistics.median(seconds), 3),
        "edit_p95_s": round(_percentile(seconds, 0.95), 3), "edit_min_s": round(min(seconds), 3),
        "edit_max_s": round(max(seconds), 3),
    }


def table(result):
    return [("edit → new .docx ready (200 msgs, 10 images), p50 / p95",
             f"{result['edit_p50_s']} s / {result['edit_p95_s']} s (full pipeline {result['pipeline_s']} s)")]
