"""Document assembly for 200 and 5,000 messages with 20 images: seconds and peak memory.

Each case runs in a fresh Python process (so peak RSS is its own): Warroom's
builder (``reports.pipeline.docx_builder.build_docx``) on a document whose
timeline has one row per message and 20 screenshots of 1600x900, beside the
bare python-docx baseline doing the same work (a table filled by copying a
template row, the images resized with Pillow and added), as in PERFORMANCE.md.
"""

import json
import subprocess
import sys

from bench.harness import ROOT

CASES = [200, 5000]
IMAGES = 20


def probe(kind, messages):
    output = subprocess.run([sys.executable, "-m", "bench.docx_probe", kind, str(messages), str(IMAGES)],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def run(stack):
    results = {}
    for messages in CASES:
        warroom = [probe("warroom", messages) for _ in range(3)]
        bare = [probe("bare", messages) for _ in range(3)]
        median = lambda rows, key: sorted(r[key] for r in rows)[1]  # noqa: E731
        results[str(messages)] = {
            "messages": messages, "images": IMAGES,
            "warroom_s": median(warroom, "seconds"), "warroom_peak_mb": median(warroom, "peak_mb"),
            "bare_s": median(bare, "seconds"), "bare_peak_mb": median(bare, "peak_mb"),
            "ratio": round(median(warroom, "seconds") / median(bare, "seconds"), 2),
            "docx_mb": warroom[0]["size_mb"],
        }
    return {"scenario": "docx", "cases": results}


def table(result):
    return [(f"docx: {int(n):,} messages + 20 images, s / peak MB (bare python-docx)",
             f"{r['warroom_s']} s / {r['warroom_peak_mb']} MB  (bare {r['bare_s']} s / {r['bare_peak_mb']} MB, "
             f"ratio {r['ratio']}x)")
            for n, r in result["cases"].items()]
