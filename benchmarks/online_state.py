"""Memory of the service's online feature state as the number of customers grows.

For each world (a data folder, e.g. made by ``benchmarks/scale.py``), two processes under
``/usr/bin/time -v``: the peer loads the validated history only; the other loads it and
builds the online state (:class:`serving.api.online.OnlineFeatures`, as the service does on a
snapshot), then answers a few hundred single-customer questions as of the data's end.
Reported: both peaks (loading validates and copies, so the peak is above what stays), the
resident set after loading and after the state is built (what a serving process holds from
then on), per customer, and the time of one customer's features as of the data's end.

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
import gc, json, re, sys, time
import numpy as np
from data.load import load_history

def rss_gb():
    gc.collect()
    text = open("/proc/self/status").read()
    return int(re.search(r"VmRSS:\\s+(\\d+) kB", text).group(1)) / 1024**2

history, _ = load_history(sys.argv[1])
out = {"customers": len(history.customers), "contacts": len(history.contacts),
       "events": len(history.events), "complaints": len(history.complaints),
       "rss_history_gb": rss_gb()}
if sys.argv[2] == "state":
    from data.load import release_freed_memory
    from serving.api.online import OnlineFeatures
    started = time.perf_counter()
    state = OnlineFeatures(history, None, 48, True)
    out["build_seconds"] = time.perf_counter() - started
    del history
    release_freed_memory()  # as the service does after each load
    out["rss_state_gb"] = rss_gb()
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
    rows, sizes = [], []
    for world in args.worlds:
        started = time.perf_counter()
        peer = run(world, "history", world.parent / "online-peer.log")
        state = run(world, "state", world.parent / "online-state.log")
        n = state["customers"]
        rows.append(
            f"| {n:,} | {state['contacts']:,} | {state['events']:,} | "
            f"{peer['rss_gb']:.2f} | {state['rss_gb']:.2f} | "
            f"{state['rss_history_gb']:.2f} | {state['rss_state_gb']:.2f} | "
            f"{state['rss_state_gb'] * 1024**3 / n:,.0f} | "
            f"{state['build_seconds']:.1f} | {state['ms_per_customer']:.2f} |"
        )
        sizes.append((n, state["rss_state_gb"]))
        print(rows[-1], f"({time.perf_counter() - started:.0f} s)", flush=True)
    table = "\n".join(
        [
            "| customers | contacts | events | peak GB, history only | peak GB, with state "
            "| resident GB after loading | resident GB, state built (history freed) "
            "| resident bytes / customer | build s | ms / customer |",
            "|---|---|---|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    if len(sizes) > 1:  # the slope between the two largest worlds, and where it leads
        (n0, gb0), (n1, gb1) = sizes[-2], sizes[-1]
        per_customer = (gb1 - gb0) * 1024**3 / (n1 - n0)
        table += (
            f"\n\nEach customer added between {n0:,} and {n1:,} costs "
            f"{per_customer:,.0f} bytes of state; at 1,000,000 customers that projects to "
            f"{gb1 + per_customer * (1_000_000 - n1) / 1024**3:.2f} GB resident."
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
