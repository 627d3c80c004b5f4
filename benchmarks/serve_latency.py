"""Scoring latency and throughput on loopback, against peers in the same run.

Peers, all on the same registered model version and the same customers:
  - ours, with reasons (exact TreeSHAP grouped into reason codes; top 3),
  - ours, reasons turned off (``top_reasons: 0``),
  - ``mlflow models serve`` of the registered version (probability only, no reasons).

Usage (after ``make demo``, which leaves a trained workspace):
    .venv/bin/python benchmarks/serve_latency.py [--workspace workspace] [--requests 500]

Prints a Markdown table with ratios to the MLflow server and, with --append, adds it to
benchmarks/RESULTS.md with the command that produced it. Traffic stays on 127.0.0.1 and
every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data.load import load_history  # noqa: E402
from experiments.config import load_config  # noqa: E402
from radar.process import free_port, service_env, stop, wait_ready  # noqa: E402
from serving.api.histories import history_payload  # noqa: E402
from serving.publication import load_snapshot  # noqa: E402
from training import registry  # noqa: E402

CONCURRENT_CLIENTS = 8
THROUGHPUT_SECONDS = 5.0
BATCH = 1000
HISTORIES = 100  # the service's limit of posted histories per request


def start(
    cmd: list[str], env: dict[str, str], url: str, ready_path: str, log: Path
) -> subprocess.Popen:
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_ready(url + ready_path, proc, log)
    except Exception:
        proc.kill()
        raise
    return proc


def sequential(url: str, bodies: list[dict], n: int) -> dict[str, float]:
    with httpx.Client() as client:
        for body in bodies[:20]:  # warm-up
            client.post(url, json=body).raise_for_status()
        latencies = []
        for i in range(n):
            t = time.perf_counter()
            client.post(url, json=bodies[i % len(bodies)]).raise_for_status()
            latencies.append((time.perf_counter() - t) * 1000)
    latencies.sort()
    return {
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))],
    }


def throughput(url: str, bodies: list[dict], workdir: Path) -> float:
    """Requests per second with CONCURRENT_CLIENTS closed-loop clients for THROUGHPUT_SECONDS.

    Uses wrk (C, light) when installed, so the load generator does not compete with the
    server for the GIL-bound Python CPU; otherwise Python threads (an underestimate).
    """
    if shutil.which("wrk"):
        return _wrk(url, bodies, workdir)
    counts = [0] * CONCURRENT_CLIENTS
    stop = time.monotonic() + THROUGHPUT_SECONDS

    def worker(k: int) -> None:
        with httpx.Client() as client:
            i = k
            while time.monotonic() < stop:
                client.post(url, json=bodies[i % len(bodies)]).raise_for_status()
                counts[k] += 1
                i += CONCURRENT_CLIENTS

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(CONCURRENT_CLIENTS)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - started)


def _wrk(url: str, bodies: list[dict], workdir: Path) -> float:
    script = workdir / "bodies.lua"
    encoded = ",\n".join(json.dumps(json.dumps(b)) for b in bodies[:200])
    script.write_text(
        "local bodies = {\n" + encoded + "\n}\nlocal i = 0\n"
        "request = function()\n  i = i + 1\n"
        '  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, bodies[(i % #bodies) + 1])\nend\n'
    )
    duration = f"{int(THROUGHPUT_SECONDS)}s"
    done = subprocess.run(
        ["wrk", "-t2", f"-c{CONCURRENT_CLIENTS}", f"-d{duration}", "-s", str(script), url],
        capture_output=True,
        text=True,
        timeout=THROUGHPUT_SECONDS + 60,
        check=True,
    )
    if "Non-2xx" in done.stdout:
        raise RuntimeError(f"wrk saw errors:\n{done.stdout}")
    return float(
        next(
            line.split()[1] for line in done.stdout.splitlines() if line.startswith("Requests/sec")
        )
    )


def batch_ms(url: str, body: dict, repeats: int = 5) -> float:
    with httpx.Client(timeout=60) as client:
        client.post(url, json=body).raise_for_status()
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            client.post(url, json=body).raise_for_status()
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workspace", type=Path, default=ROOT / "workspace")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument(
        "--data", type=Path, help="contract tables for posted histories (default: WORKSPACE/world)"
    )
    parser.add_argument(
        "--append", action="store_true", help="append the table to benchmarks/RESULTS.md"
    )
    args = parser.parse_args()

    config = load_config(workspace={"root": str(args.workspace)})
    version = registry.resolve_version(registry.connect(config), config.registry.model_name, None)
    snapshot = load_snapshot(config.workspace.risk_lists_dir)
    eligible = snapshot.features[snapshot.features["eligible"]]
    risk_model = registry.load_version(config, version)
    logs = args.workspace / "bench"
    logs.mkdir(parents=True, exist_ok=True)

    ours_port, mlflow_port = free_port(0), free_port(0)
    env = service_env(config)
    env["RADAR_API_TOKEN"] = ""  # measure the open service
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"  # mlflow runs `uvicorn`
    ours_cmd = [sys.executable, "-m", "radar.cli", "--workspace", str(args.workspace),
                "serve", "--port", str(ours_port)]  # fmt: skip
    mlflow_cmd = [
        str(Path(sys.executable).parent / "mlflow"), "models", "serve",
        "-m", f"models:/{config.registry.model_name}/{version}",
        "--env-manager", "local", "--host", "127.0.0.1", "-p", str(mlflow_port), "--workers", "1",
    ]  # fmt: skip
    procs: list[subprocess.Popen] = []
    try:
        ours = f"http://127.0.0.1:{ours_port}"
        procs.append(start(ours_cmd, env, ours, "/readyz", logs / "ours.log"))
        peer = f"http://127.0.0.1:{mlflow_port}"
        procs.append(start(mlflow_cmd, env, peer, "/ping", logs / "mlflow.log"))
        history, _ = load_history(args.data or config.workspace.world_dir)
        peers = _peers(
            f"{ours}/score", f"{peer}/invocations", eligible, history, risk_model.feature_names
        )
        rows = []
        for name, (url, bodies, batch) in peers.items():
            rows.append(
                {
                    "server": name,
                    **sequential(url, bodies, args.requests),
                    "rps_8_clients": throughput(url, bodies, logs),
                    f"batch_{BATCH}_ms": batch_ms(url, batch),
                }
            )
    finally:
        for proc in procs:
            stop(proc)

    shape = ", ".join(f"{k} {v}" for k, v in risk_model.describe().items())
    title = (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, model {config.registry.model_name} "
        f"v{version} ({shape}), {len(eligible)} eligible customers"
    )
    command = (
        f".venv/bin/python benchmarks/serve_latency.py --workspace {args.workspace} "
        f"--requests {args.requests}" + (f" --data {args.data}" if args.data else "")
    )
    table = pd.DataFrame(rows).set_index("server")
    report = _report(table, title, command)
    print(report)
    print(json.dumps(table.round(3).to_dict(orient="index"), indent=2))
    if args.append:
        with (ROOT / "benchmarks" / "RESULTS.md").open("a") as fh:
            fh.write("\n" + report)
    return 0


def _peers(
    ours: str, peer: str, eligible: pd.DataFrame, history, feature_names: list[str]
) -> dict[str, tuple[str, list[dict], dict]]:
    """Each peer's URL, single-customer request bodies and one batch body."""
    ids = eligible["customer_id"].tolist()

    def mlflow_body(rows: pd.DataFrame) -> dict:
        frame = rows[feature_names].astype(object).where(rows[feature_names].notna(), None)
        return {"dataframe_split": {"columns": feature_names, "data": frame.to_numpy().tolist()}}

    # Posted histories: each customer's own history up to the snapshot's cutoff.
    cutoff = eligible["cutoff_at"].iloc[0]
    posted = [history_payload(history, c, cutoff) for c in ids[:HISTORIES]]
    as_of = cutoff.isoformat()
    return {
        "ours, 3 reasons": (
            ours,
            [{"customer_ids": [c]} for c in ids],
            {"customer_ids": ids[:BATCH]},
        ),
        "ours, no reasons": (
            ours,
            [{"customer_ids": [c], "top_reasons": 0} for c in ids],
            {"customer_ids": ids[:BATCH], "top_reasons": 0},
        ),
        "ours, posted history, 3 reasons": (
            ours,
            [{"histories": [h], "as_of": as_of} for h in posted],
            {"histories": posted, "as_of": as_of},
        ),
        "mlflow models serve": (
            peer,
            [mlflow_body(eligible.iloc[[i]]) for i in range(min(len(ids), 500))],
            mlflow_body(eligible.head(BATCH)),
        ),
    }


def _report(table: pd.DataFrame, title: str, command: str) -> str:
    """The Markdown table with ratios to the MLflow server, headed by its command."""
    base = table.loc["mlflow models serve"]
    generator = (
        "wrk -t2 -c8 -d5s" if shutil.which("wrk") else "8 Python threads (wrk not installed)"
    )
    lines = [
        f"### {title}",
        "",
        f"Command: `{command}`",
        f"Load generator for req/s: {generator}; latency: one sequential Python client.",
        "",
        f"| server | p50 ms | p99 ms | req/s (8 clients) | batch ms ({BATCH} ids; {HISTORIES} "
        "posted histories) | p50 vs MLflow | req/s vs MLflow |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in table.iterrows():
        lines.append(
            f"| {name} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.rps_8_clients:.0f} | "
            f"{r[f'batch_{BATCH}_ms']:.1f} | {r.p50_ms / base.p50_ms:.2f}x | "
            f"{r.rps_8_clients / base.rps_8_clients:.2f}x |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
