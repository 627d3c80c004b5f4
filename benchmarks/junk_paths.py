"""Can junk URLs blind the metrics? 20,000 GETs of distinct made-up paths (a customer id in
each) against the running service, with the server's memory and the size of ``/metrics``
before and after, and whether an id from a URL shows up on ``/metrics``.

Usage (after ``make demo``):
    .venv/bin/python benchmarks/junk_paths.py [--workspace workspace] [--requests 20000]
        [--code DIR] [--append]

``--code`` runs the service from another checkout of the project (the same workspace), so
the code before a change can be measured in the same run as the code after it. Traffic
stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.soak import tree_rss_mb  # noqa: E402
from experiments.config import load_config  # noqa: E402
from radar.process import free_port, service_env, stop, wait_ready  # noqa: E402

MARKER = "C9JUNK"
CLIENTS = 4


def send_junk(base: str, requests: int) -> None:
    """Exactly ``requests`` GETs of distinct paths, from CLIENTS keep-alive connections (the
    load is not what is measured here: what the server keeps of it is)."""

    def client(k: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as c:
            for i in range(k, requests, CLIENTS):
                c.get(f"/junk/{i}/{MARKER}")

    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def measure(code: Path, workspace: Path, requests: int, workdir: Path) -> dict:
    """One server from ``code``: memory and /metrics size before and after the junk."""
    config = load_config(workspace={"root": str(workspace)})
    # That checkout's own default configuration (another version may know other keys).
    env = service_env(config) | {
        "PYTHONPATH": str(code),
        "RADAR_CONFIG": str(code / "experiments" / "default.yaml"),
    }
    env.pop("RADAR_API_TOKEN", None)  # the open service: the case a junk request can reach
    port = free_port(0)
    log = workdir / f"{code.name}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "radar.cli", "--workspace", str(workspace), "serve",
             "--port", str(port)],
            cwd=code, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base + "/readyz", proc, log)
        with httpx.Client(base_url=base, timeout=120) as client:
            for _ in range(200):  # warm-up: every route once, then steady memory
                client.get("/livez")
            client.get("/nothing-here")
            time.sleep(2)
            before = {
                "rss_mb": tree_rss_mb(proc.pid),
                "metrics_bytes": len(client.get("/metrics").content),
            }
            started = time.perf_counter()
            send_junk(base, requests)
            seconds = time.perf_counter() - started
            time.sleep(2)
            metrics = client.get("/metrics", timeout=300)
            after = {"rss_mb": tree_rss_mb(proc.pid), "metrics_bytes": len(metrics.content)}
            leaked = MARKER in metrics.text
    finally:
        stop(proc)
    return {"before": before, "after": after, "id_on_metrics": leaked, "seconds": seconds}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workspace", type=Path, default=ROOT / "workspace")
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--code", type=Path, action="append", help="checkout(s) to measure")
    parser.add_argument("--append", action="store_true", help="add the table to RESULTS.md")
    args = parser.parse_args()
    codes = args.code or [ROOT]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for code in codes:
            result = measure(code.resolve(), args.workspace.resolve(), args.requests, Path(tmp))
            b, a = result["before"], result["after"]
            rows.append(
                f"| {code} | {b['rss_mb']:.0f} -> {a['rss_mb']:.0f} MB "
                f"({a['rss_mb'] / b['rss_mb']:.2f}x) | {b['metrics_bytes']:,} -> "
                f"{a['metrics_bytes']:,} bytes ({a['metrics_bytes'] / b['metrics_bytes']:.2f}x) | "
                f"{'yes' if result['id_on_metrics'] else 'no'} | {result['seconds']:.0f} s |"
            )
    command = "`.venv/bin/python benchmarks/junk_paths.py --requests " + str(args.requests)
    command += "".join(f" --code {c}" for c in args.code or []) + "`"
    report = "\n".join(
        [
            f"### Junk paths against /metrics, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            "",
            f"Command: {command}; {args.requests:,} GETs of distinct paths ({CLIENTS} connections).",
            "",
            "| code | server memory before -> after | /metrics before -> after | "
            "an id from a URL on /metrics | junk sent in |",
            "|---|---|---|---|---|",
            *rows,
        ]
    )
    print(report)
    if args.append:
        with (ROOT / "benchmarks" / "RESULTS.md").open("a") as fh:
            fh.write("\n" + report + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
