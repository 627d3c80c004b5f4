"""Memory of the service's online feature state as the number of customers grows.

For each world (a data folder, e.g. made by ``benchmarks/scale.py``), two processes under
``/usr/bin/time -v``: the peer loads the validated history only; the other loads it and
builds the online state (:class:`serving.online.OnlineFeatures`, as the service does on a
snapshot), then answers a few hundred single-customer questions as of the data's end.
The difference of their peak RSS, per customer, is what the state costs beyond the
history; the total peak is what a service process holds.

Usage:
    .venv/bin/python benchmarks/online_state.py workspace/scale/c30000/world \
        workspace/scale/c100000/world workspace/scale/c300000/world [--append]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import append_result  # noqa: E402
from benchmarks.scale import timed  # noqa: E402

CHILD = """
import json, sys, time
import numpy as np
from data.load import load_history
history, _ = load_history(sys.argv[1])
out = {"customers": len(history.customers), "contacts": len(history.contacts),
       "events": len(history.events), "complaints": len(history.complaints)}
if sys.argv[2] == "state":
    from serving.online import OnlineFeatures
    started = time.perf_counter()
    state = OnlineFeatures(history, None, 48, True)
    out["build_seconds"] = time.perf_counter() - started
    del history
    ids = np.random.default_rng(0).choice(np.asarray(state.index), 300, replace=False)
    state.at([str(ids[0])], state.observed_until)  # first call fills lazy caches
    started = time.perf_counter()
    for cid in ids:
        state.at([str(cid)], state.observed_until)
    out["ms_per_customer"] = (time.perf_counter() - started) / len(ids) * 1000
print("RESULT " + json.dumps(out))
"""


def run(world: Path, mode: str, log: Path) -> dict:
    cmd = [sys.executable, "-c", CHILD, str(world), mode]
    measured = timed(cmd, log)
    line = next(x for x in log.read_text().splitlines() if x.startswith("RESULT "))
    return {**measured, **json.loads(line[len("RESULT ") :])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("worlds", type=Path, nargs="+", help="data folders, smallest first")
    parser.add_argument("--append", action="store_true", help="append to benchmarks/RESULTS.md")
    args = parser.parse_args()
    rows = []
    for world in args.worlds:
        started = time.perf_counter()
        peer = run(world, "history", world.parent / "online-peer.log")
        state = run(world, "state", world.parent / "online-state.log")
        extra = (state["rss_gb"] - peer["rss_gb"]) * 1024**3
        rows.append(
            f"| {state['customers']:,} | {state['contacts']:,} | {peer['rss_gb']:.2f} | "
            f"{state['rss_gb']:.2f} | {extra / state['customers']:,.0f} | "
            f"{state['rss_gb'] * 1024**3 / state['customers']:,.0f} | "
            f"{state['build_seconds']:.1f} | {state['ms_per_customer']:.2f} |"
        )
        print(rows[-1], f"({time.perf_counter() - started:.0f} s)", flush=True)
    table = "\n".join(
        [
            "| customers | contacts | history only, peak GB | history + online state, peak GB "
            "| state bytes / customer | process bytes / customer | build s | ms / customer |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    print(table)
    if args.append:
        append_result(
            "Online feature state memory",
            table,
            "peak RSS of two processes per world under /usr/bin/time -v; "
            "'ms / customer': one customer as of the data's end, in process",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
