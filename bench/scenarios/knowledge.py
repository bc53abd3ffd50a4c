"""Knowledge search over 100,000 passages on PostgreSQL, beside the bare full-text statement, and PDF indexing.

Runs ``bench.knowledge_probe`` in a process of its own against a database of its own (the probe
fills it with Zipf-distributed Chinese and English passages), three times; each run reports
lexical p50/p95 of Warroom's ``search()`` (2-character CJK, 2-word English, a room-sized query),
the same queries as one plain ``to_tsquery``/``ts_rank_cd`` statement (the bare baseline), and
the index throughput of a 300-page PDF.
"""

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench.harness import _recreate_database

CHUNKS = 100_000
RUNS = 3
ROOT = Path(__file__).resolve().parents[2]


def _spread(values):
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def run(stack):
    url = stack.database_url + "_knowledge"
    runs = []
    for _ in range(RUNS):
        _recreate_database(url)
        env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
        done = subprocess.run([sys.executable, "-m", "bench.knowledge_probe", str(CHUNKS)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=1800, check=True)
        runs.append(json.loads(done.stdout))
    figures = {}
    for key in ("lexical_2char_cjk", "lexical_english", "lexical_room_query", "bare_2char_cjk", "bare_english"):
        figures[key] = {"p50_ms": _spread([r[key]["p50_ms"] for r in runs]),
                        "p95_ms": _spread([r[key]["p95_ms"] for r in runs])}
    for name, bare in (("2char_cjk", "bare_2char_cjk"), ("english", "bare_english")):
        figures[f"ratio_{name}_p95"] = _spread([round(r[f"lexical_{name}"]["p95_ms"] / max(r[bare]["p95_ms"], 0.01), 2)
                                               for r in runs])
    figures["pdf_chunks_per_s"] = _spread([r["pdf_300_pages"]["chunks_per_s"] for r in runs])
    return {"scenario": "knowledge", "chunks": runs[0]["chunks"], "runs": RUNS, "figures": figures, "raw": runs}


def table(result):
    f = result["figures"]
    rows = []
    for label, key, bare in (("2-char CJK", "lexical_2char_cjk", "bare_2char_cjk"),
                             ("English", "lexical_english", "bare_english")):
        rows.append((f"knowledge search {label}, p95 ms (min/median/max), bare", "{min}/{median}/{max}".format(**f[key]["p95_ms"])
                     + " · bare {median}".format(**f[bare]["p95_ms"])))
    rows.append(("knowledge search room-sized query, p95 ms median", str(f["lexical_room_query"]["p95_ms"]["median"])))
    rows.append(("knowledge 300-page PDF, passages/s median", str(f["pdf_chunks_per_s"]["median"])))
    return rows
