"""Image decoding has a memory bound: eight concurrent uploads of a 7000 x 7000 RGBA PNG.

A 190 KB PNG that decodes to 196 MB of pixels, uploaded eight times at once to
the real web process (uvicorn). The web process's RSS is sampled every 20 ms
from /proc while the uploads run; the claim (issue 12) is a peak under 600 MB,
with every upload succeeding or refused with a clear 4xx. The worker's RSS is
sampled too: it makes each upload's report-ready image after the upload commits.

Bare baseline in the same run: Pillow alone in a fresh process making the same eight
thumbnails (open, load, ``thumbnail``), one at a time (what Warroom's pool of one decoding
thread does) and two at once (the issue measured 2.84 GB for eight at once without the
pool; eight are not repeated here, the machine is shared); its peak RSS growth beside Warroom's.
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


BARE = """
import io, resource, sys, threading
from PIL import Image
Image.MAX_IMAGE_PIXELS = None
data = sys.stdin.buffer.read()
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
def thumb():
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        image.thumbnail((480, 320))
base = rss()
if sys.argv[1] == "parallel":
    for _ in range(4):
        threads = [threading.Thread(target=thumb) for _ in range(2)]
        [t.start() for t in threads]
        [t.join() for t in threads]
else:
    for _ in range(8):
        thumb()
print(round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base, 1))
"""


def _bare_growth(data, mode):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", BARE, mode], input=data, capture_output=True, check=True).stdout
    return float(out.decode().strip().splitlines()[-1])


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
    worker_pid = stack.processes["worker"].pid
    worker_baseline = _rss_mb(worker_pid)
    worker_peak = [worker_baseline]
    baseline = _rss_mb(pid)
    peak = [baseline]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _rss_mb(pid))
            worker_peak[0] = max(worker_peak[0], _rss_mb(worker_pid))
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
    # The worker makes the report-ready images after the uploads commit: wait for them.
    from incidents.models import RoomFile

    deadline = time.monotonic() + 120
    while RoomFile.objects.filter(room=room, report_image="").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    done.set()
    sampler.join()
    prepared = RoomFile.objects.filter(room=room).exclude(report_image="").count()
    statuses = [status for status, _ in answers]
    return {
        "scenario": "image_memory",
        "uploads": UPLOADS,
        "png_bytes": len(data),
        "pixels": SIDE * SIDE,
        "web_rss_baseline_mb": round(baseline, 1),
        "web_rss_peak_mb": round(peak[0], 1),
        "web_rss_growth_mb": round(peak[0] - baseline, 1),
        "worker_rss_baseline_mb": round(worker_baseline, 1),
        "worker_rss_peak_mb": round(worker_peak[0], 1),
        "report_images_made": prepared,
        "bare_pillow_growth_2_at_once_mb": _bare_growth(data, "parallel"),
        "bare_pillow_growth_one_at_a_time_mb": _bare_growth(data, "serial"),
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
         f"{result['web_rss_baseline_mb']} / {result['web_rss_peak_mb']} (budget {result['budget_mb']}); growth "
         f"{result.get('web_rss_growth_mb')} vs bare Pillow {result.get('bare_pillow_growth_2_at_once_mb')} (2 at once) / "
         f"{result.get('bare_pillow_growth_one_at_a_time_mb')} (one at a time)"),
        ("image memory: worker RSS baseline / peak while it makes the report images (MB)",
         f"{result.get('worker_rss_baseline_mb')} / {result.get('worker_rss_peak_mb')} "
         f"({result.get('report_images_made')} made)"),
        ("image memory: answers, total / slowest (s)",
         f"{sorted(set(result['statuses']))} · {result['total_s']} / {result['slowest_upload_s']}"),
    ]
