"""Image decoding has a memory bound: eight concurrent uploads of a 7000 x 7000 RGBA PNG.

A 190 KB PNG that decodes to 196 MB of pixels, uploaded eight times at once to
the real web process (uvicorn). The web process's RSS is sampled every 20 ms
from /proc while the uploads run; the claim (issue 12) is a peak under 600 MB,
with every upload succeeding or refused with a clear 4xx.
"""

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor

UPLOADS = 8
SIDE = 7000
BUDGET_MB = 600


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGBA", (SIDE, SIDE), (12, 34, 56, 255)).save(buffer, format="PNG")
    return buffer.getvalue()


def _rss_mb(pid) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run(stack):
    from tests.factories import PASSWORD
    from tests.services import login_client

    from bench import seed

    commander = seed.user("bench-images", "Images")
    room = seed.room(stack, commander=commander, title="Image memory room", messages=5, resolved=False)
    client = login_client(stack.url, commander.username, PASSWORD)
    headers = {"X-CSRFToken": client.cookies.get("csrftoken"), "Referer": stack.url + "/"}
    data = _png()
    pid = stack.processes["uvicorn"].pid
    baseline = _rss_mb(pid)
    peak = [baseline]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _rss_mb(pid))
            time.sleep(0.02)

    def upload(index):
        started = time.perf_counter()
        response = client.post(f"/api/rooms/{room.id}/files/", files={"file": (f"big-{index}.png", data, "image/png")},
                               headers=headers, timeout=120)
        return response.status_code, time.perf_counter() - started

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(UPLOADS) as pool:
        answers = list(pool.map(upload, range(UPLOADS)))
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    statuses = [status for status, _ in answers]
    return {
        "scenario": "image_memory",
        "uploads": UPLOADS,
        "png_bytes": len(data),
        "pixels": SIDE * SIDE,
        "web_rss_baseline_mb": round(baseline, 1),
        "web_rss_peak_mb": round(peak[0], 1),
        "budget_mb": BUDGET_MB,
        "within_budget": peak[0] < BUDGET_MB,
        "statuses": statuses,
        "all_succeeded_or_clear_4xx": all(status == 201 or 400 <= status < 500 for status in statuses),
        "total_s": round(elapsed, 2),
        "slowest_upload_s": round(max(seconds for _, seconds in answers), 2),
    }


def table(result):
    return [
        (f"image memory: {result['uploads']} concurrent {SIDE}x{SIDE} RGBA uploads, web RSS baseline / peak (MB)",
         f"{result['web_rss_baseline_mb']} / {result['web_rss_peak_mb']} (budget {result['budget_mb']})"),
        ("image memory: answers, total / slowest (s)",
         f"{sorted(set(result['statuses']))} · {result['total_s']} / {result['slowest_upload_s']}"),
    ]
