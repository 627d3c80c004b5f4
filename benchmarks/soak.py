"""Soak: the service under steady load for minutes, watching errors and memory.

Starts ``radar serve`` on a throw-away copy of the workspace's registry and lists, warms it
up, then runs wrk for ``--minutes`` on ``/score`` (one random customer per request, by id
as of now, three reasons) from
``--connections`` connections, sampling the resident memory of the server's processes every
``--every`` seconds. Reports errors (wrk's socket errors and non-2xx answers), the latency
percentiles, and memory growth from the first sample after warm-up to the last.

Usage (after ``make demo``; needs Debian's wrk):
    .venv/bin/python benchmarks/soak.py [--workspace workspace] [--minutes 10] [--append]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.http_tail import RANDOM_ID_SCRIPT, parse_wrk  # noqa: E402
from benchmarks.load_setup import require_wrk, workspace_copy  # noqa: E402
from benchmarks.results import append_result  # noqa: E402
from radar.process import free_port, start_service, stop  # noqa: E402
from serving.publication import load_snapshot  # noqa: E402

WARM_UP_SECONDS = 30


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its children, in MB."""
    root = psutil.Process(pid)
    processes = [root, *root.children(recursive=True)]
    return sum(p.memory_info().rss for p in processes if p.is_running()) / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=Path("workspace"))
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--every", type=float, default=10)
    parser.add_argument("--append", action="store_true")
    args = parser.parse_args()
    require_wrk()
    snapshot = load_snapshot(args.workspace / "risk_lists")
    ids = snapshot.features.loc[snapshot.features["eligible"], "customer_id"].tolist()
    seconds = int(args.minutes * 60)
    with tempfile.TemporaryDirectory() as tmp:
        config = workspace_copy(args.workspace, Path(tmp))
        script = Path(tmp) / "one.lua"
        script.write_text(RANDOM_ID_SCRIPT.format(ids=", ".join(f'"{i}"' for i in ids)))
        port = free_port(0)
        proc = start_service(config, port, Path(tmp) / "service.log")
        url = f"http://127.0.0.1:{port}/score"
        try:
            subprocess.run(
                [
                    "wrk",
                    "-t1",
                    f"-c{args.connections}",
                    f"-d{WARM_UP_SECONDS}s",
                    "-s",
                    str(script),
                    url,
                ],
                capture_output=True,
                check=True,
            )
            load = subprocess.Popen(
                ["wrk", "-t1", f"-c{args.connections}", f"-d{seconds}s", "--latency",
                 "--timeout", "10s", "-s", str(script), url],
                stdout=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            samples = []
            while load.poll() is None:
                samples.append(tree_rss_mb(proc.pid))
                time.sleep(args.every)
            out = load.communicate()[0]
        finally:
            stop(proc)
    stats = parse_wrk(out)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: (.*)", out)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    growth = 100 * (samples[-1] - samples[0]) / samples[0]
    text = "\n".join(
        [
            "| minutes | connections | requests | errors | p50 ms | p99 ms | max ms | req/s | "
            "RSS first / last / max MB | RSS growth |",
            "|---|---|---|---|---|---|---|---|---|---|",
            f"| {args.minutes:g} | {args.connections} | {requests:,} | {errors}"
            f"{' (socket: ' + socket.group(1) + ')' if socket else ''} | {stats['p50_ms']:.2f} | "
            f"{stats['p99_ms']:.2f} | {stats['max_ms']:.1f} | {stats['req_per_s']:.0f} | "
            f"{samples[0]:.0f} / {samples[-1]:.0f} / {max(samples):.0f} | {growth:+.1f} % |",
        ]
    )
    print(text)
    if args.append:
        append_result(
            "Soak of /score",
            text,
            f"wrk after {WARM_UP_SECONDS} s of warm-up; RSS of the server's process tree every {args.every:g} s",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
