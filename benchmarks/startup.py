"""The service's start-up and reload, as the service does them, at several sizes.

For each workspace (trained and scored, e.g. by ``benchmarks/scale.py``; its ``risk_lists``
hold the published snapshot), two processes under ``/usr/bin/time -v``, both calling
:func:`serving.api.state.load_state`, the function the service calls:

- *start*: the first state (the registered model, the published snapshot read, every
  customer's online state built, the consistency check against the snapshot);
- *reload*: the same, then a reload to a new publication while the first state still serves
  (both states held at once, as a replica that swaps snapshots does).

Reported: wall seconds and peak RSS of each, the state's resident size once built, and the
reload's peak over the start's peak plus the state (the budget a reload must keep within).

Usage:
    .venv/bin/python benchmarks/startup.py workspace/scale/c100000/ws \
        workspace/scale/c300000/ws workspace/scale/c1000000/ws [--append]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import append_result  # noqa: E402
from benchmarks.scale import timed  # noqa: E402

CHILD = """
import dataclasses, gc, json, re, sys, time
from data.load import release_freed_memory
from experiments.config import load_config
from serving.api.state import load_state

def rss_gb():
    gc.collect()
    release_freed_memory()
    text = open("/proc/self/status").read()
    return int(re.search(r"VmRSS:\\s+(\\d+) kB", text).group(1)) / 1024**2

config = load_config(sys.argv[1], workspace={"root": sys.argv[2]})
baseline = rss_gb()
started = time.perf_counter()
state = load_state(config, None, None)
out = {"customers": len(state.online.index), "start_s": time.perf_counter() - started,
       "rss_base_gb": baseline, "rss_state_gb": rss_gb() - baseline}
if sys.argv[3] == "reload":
    started = time.perf_counter()
    moved = dataclasses.replace(state, pointer="an earlier publication")
    again = load_state(config, None, moved)
    out["reload_s"] = time.perf_counter() - started
print("RESULT " + json.dumps(out))
"""


def run(config: Path, workspace: Path, mode: str) -> dict:
    log = workspace.parent / f"startup-{mode}.log"
    cmd = [sys.executable, "-c", CHILD, str(config), str(workspace), mode]
    measured = timed(cmd, log)
    line = next(x for x in log.read_text().splitlines() if x.startswith("RESULT "))
    return {**measured, **json.loads(line[len("RESULT ") :])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workspaces", type=Path, nargs="+", help="smallest first")
    parser.add_argument("--config", type=Path, default=ROOT / "experiments" / "scale.yaml")
    parser.add_argument("--append", action="store_true", help="append to benchmarks/RESULTS.md")
    parser.add_argument(
        "--label",
        default="this code",
        help="what code ran (run from another checkout's folder "
        "to measure it: the processes import the code of the current folder)",
    )
    args = parser.parse_args()
    rows = []
    for workspace in args.workspaces:
        start = run(args.config, workspace.resolve(), "start")
        reload = run(args.config, workspace.resolve(), "reload")
        budget = start["rss_gb"] + start["rss_state_gb"]
        rows.append(
            f"| {start['customers']:,} | {start['start_s']:.1f} | {start['seconds']:.0f} "
            f"| {start['rss_gb']:.2f} | {start['rss_state_gb']:.2f} | {reload['reload_s']:.1f} "
            f"| {reload['rss_gb']:.2f} | {reload['rss_gb'] / budget:.2f} |"
        )
        print(rows[-1], flush=True)
    table = "\n".join(
        [
            "| customers | start-up s (load_state) | process s | peak GB, start-up "
            "| state GB resident | reload s | peak GB, start-up + reload "
            "| reload peak / (start peak + state) |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    print(table)
    if args.append:
        append_result(
            f"Service start-up and reload ({args.label})",
            table,
            "two processes per workspace under /usr/bin/time -v; 'process s' includes imports",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
