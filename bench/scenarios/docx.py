"""Document assembly for 200 and 5,000 timeline rows with 20 images: seconds and memory, beside bare python-docx.

Each build runs in a fresh Python process (so its memory is its own), 3 times per
case, Warroom's and the bare baseline's alternating: Warroom's builder
(``reports.pipeline.docx_builder.build_docx``) on a document whose timeline has one
row per message and 20 different report-ready screenshots (as the assemble stage gets
them since they are prepared at upload), beside bare python-docx doing the same work
(a table filled by copying a template row then ``cell.text``, the same 20 images
added with ``add_picture``; PERFORMANCE.md's tuned baseline). The images' preparation
(once per upload, in the worker) is its own pair: ``incidents.files.report_image``
beside bare Pillow (open, LANCZOS resize, PNG at ``compress_level=1``).
"""

import json
import subprocess
import sys

from bench.harness import ROOT, fmt_spread, spread

CASES = [200, 5000]
IMAGES = 20
RUNS = 3


def probe(kind, messages, images=IMAGES):
    output = subprocess.run([sys.executable, "-m", "bench.docx_probe", kind, str(messages), str(images)],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def _pair(warroom_kind, bare_kind, messages):
    warroom, bare = [], []
    for _ in range(RUNS):
        warroom.append(probe(warroom_kind, messages))
        bare.append(probe(bare_kind, messages))
    return {
        "warroom_s": spread([r["seconds"] for r in warroom]), "bare_s": spread([r["seconds"] for r in bare]),
        "ratio": spread([w["seconds"] / b["seconds"] for w, b in zip(warroom, bare)], 2),
        "warroom_peak_growth_mb": spread([r["peak_mb"] for r in warroom], 1),
        "bare_peak_growth_mb": spread([r["peak_mb"] for r in bare], 1),
        "warroom_rss_peak_mb": spread([r["rss_peak_mb"] for r in warroom], 1),
        "bare_rss_peak_mb": spread([r["rss_peak_mb"] for r in bare], 1),
        "size_mb": warroom[0]["size_mb"],
    }


def run(stack):
    cases = {str(n): {"messages": n, "images": IMAGES, **_pair("warroom", "bare", n)} for n in CASES}
    images = {"images": IMAGES, **_pair("warroom-images", "bare-images", 0)}
    return {"scenario": "docx", "goal_ratio_5000": 1.3, "cases": cases, "image_preparation": images}


def table(result):
    rows = [(f"docx: {int(n):,} rows + 20 images, Warroom ÷ bare python-docx",
             f"{fmt_spread(r['ratio'], 'x')}  ({r['warroom_s']['median']} s vs {r['bare_s']['median']} s; peak growth "
             f"{r['warroom_peak_growth_mb']['median']} vs {r['bare_peak_growth_mb']['median']} MB, process peak "
             f"{r['warroom_rss_peak_mb']['median']} vs {r['bare_rss_peak_mb']['median']} MB)")
            for n, r in result["cases"].items()]
    i = result["image_preparation"]
    rows.append(("docx: preparing 20 report images (at upload) ÷ bare Pillow",
                 f"{fmt_spread(i['ratio'], 'x')}  ({i['warroom_s']['median']} s vs {i['bare_s']['median']} s)"))
    return rows
