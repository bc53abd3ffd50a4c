"""Run the benchmarks: `python -m bench [scenario ...]`; prints a table and writes bench/results/<date>.json."""

import argparse
import importlib
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

# In the order they run: the KPI scenario leaves a million rooms behind, so only edit and big_room come after it
# (big_room's room list is measured for a member of 500 rooms, which the million do not change; its operator
# figure sees them all).
SCENARIOS = ["resolve", "first_progress", "pipeline", "parallel", "notes", "api", "fanout", "ws_connect", "docx",
             "image_memory", "alerts", "knowledge", "scaleout", "kpis", "edit", "big_room"]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("scenarios", nargs="*", default=SCENARIOS, help=f"any of {', '.join(SCENARIOS)}")
    parser.add_argument("--ai-latency", type=float, default=5.0, help="seconds the fake AI server waits before answering")
    args = parser.parse_args(argv)
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")

    from bench.harness import Stack, machine_info

    results, rows = [], []
    with Stack(ai_latency=args.ai_latency) as stack:
        for name in args.scenarios:
            module = importlib.import_module(f"bench.scenarios.{name}")
            print(f"running {name} ...", file=sys.stderr, flush=True)
            try:
                result = module.run(stack)
            except Exception as exc:  # noqa: BLE001 - one broken scenario must not lose the others' figures
                import traceback

                traceback.print_exc()
                results.append({"scenario": name, "error": repr(exc)})
                rows.append((f"{name}: FAILED", repr(exc)[:100]))
                continue
            results.append(result)
            rows.extend(module.table(result))
        machine = machine_info()
    stamp = datetime.now(timezone.utc)
    out = Path(__file__).parent / "results" / f"{stamp:%Y-%m-%d}.json"
    # A run of some scenarios updates today's file instead of dropping the others' figures.
    previous = json.loads(out.read_text()) if out.exists() else {}
    ran = {result.get("scenario") for result in results}
    kept = [r for r in previous.get("results", []) if r.get("scenario") not in ran]
    out.write_text(json.dumps({"when": stamp.isoformat(), "machine": machine, "results": kept + results},
                              ensure_ascii=False, indent=2))
    width = max(len(label) for label, _ in rows)
    print(f"\nWarroom benchmarks — {machine.get('cpu_model', '?')}, {machine['cpus']} CPUs, Python {machine['python']}, Django {machine['django']}")
    for label, value in rows:
        print(f"  {label.ljust(width)}  {value}")
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
