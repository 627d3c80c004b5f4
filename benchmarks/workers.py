"""Throughput of the scoring service with one worker and with several, in the same run.

For each worker count (``--workers``, default 1 and 2): ``radar serve --workers N`` on a copy
of the workspace's registry and lists, every worker ready, then wrk posts ``/score`` of one
random customer by id as of now (three reasons) from ``--connections`` keep-alive connections
for ``--seconds``. Reported per count: requests/s, p50/p99/max latency (wrk accounts for
coordinated omission) and the CPU seconds each worker process used during the run, which
shows whether the connections were actually spread; then the throughput ratio to one worker.

Usage (after ``make demo``; needs Debian's wrk):
    .venv/bin/python benchmarks/workers.py [--workspace workspace] [--seconds 60] [--append]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.http_tail import RANDOM_ID_SCRIPT, parse_wrk, wrk  # noqa: E402
from benchmarks.load_setup import require_wrk, workspace_copy  # noqa: E402
from benchmarks.results import append_result  # noqa: E402
from radar.process import free_port, start_service, stop  # noqa: E402
from serving.publication import load_snapshot  # noqa: E402


def worker_processes(server: psutil.Process) -> list[psutil.Process]:
    """The processes that answer requests: BentoML's workers under the arbiter."""
    return [
        p
        for p in server.children(recursive=True)
        if "_bentoml_impl.worker" in " ".join(p.cmdline())
    ]


def cpu_seconds(processes: list[psutil.Process]) -> list[float]:
    return [sum(p.cpu_times()[:2]) for p in processes]


def measure(config, workers: int, script: Path, args: argparse.Namespace, log: Path) -> dict:
    port = free_port(0)
    proc = start_service(config, port, log, workers=workers)
    try:
        url = f"http://127.0.0.1:{port}/score"
        wrk(url, 5, args.connections, script).communicate()  # warm caches on every worker
        answering = worker_processes(psutil.Process(proc.pid))
        before, started = cpu_seconds(answering), time.monotonic()
        result = parse_wrk(wrk(url, args.seconds, args.connections, script).communicate()[0])
        elapsed = time.monotonic() - started
        used = [round(a - b, 1) for a, b in zip(cpu_seconds(answering), before, strict=True)]
        return {**result, "worker_cpu_s": used, "worker_cores": round(sum(used) / elapsed, 2)}
    finally:
        stop(proc)


def table(results: dict[int, dict], args: argparse.Namespace) -> str:
    base = results[min(results)]["req_per_s"]
    lines = [
        "| workers | requests/s | ratio to 1 | p50 ms | p99 ms | max ms | CPU s per worker |",
        "|---|---|---|---|---|---|---|",
    ]
    for n, r in results.items():
        lines.append(
            f"| {n} | {r['req_per_s']:.0f} | {r['req_per_s'] / base:.2f} | {r['p50_ms']:.2f} "
            f"| {r['p99_ms']:.2f} | {r['max_ms']:.1f} | {r['worker_cpu_s']} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=Path("workspace"))
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--append", action="store_true", help="add the table to RESULTS.md")
    args = parser.parse_args()
    require_wrk()
    snapshot = load_snapshot(args.workspace / "risk_lists")
    ids = snapshot.features.loc[snapshot.features["eligible"], "customer_id"].tolist()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        config = workspace_copy(args.workspace, Path(tmp))
        script = Path(tmp) / "one.lua"
        script.write_text(RANDOM_ID_SCRIPT.format(ids=", ".join(f'"{i}"' for i in ids)))
        for n in args.workers:
            results[n] = measure(config, n, script, args, Path(tmp) / f"serve-{n}.log")
            print(f"{n} worker(s): {json.dumps(results[n])}", flush=True)
    text = table(results, args)
    print(text)
    if args.append:
        append_result(
            f"Workers on one port, /score of one random customer, {len(ids)} eligible customers",
            text,
            f"wrk -t1 -c{args.connections}, {args.seconds} s per worker count, one run",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
