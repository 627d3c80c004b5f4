"""Latency tails of the scoring service under sustained load, measured with wrk.

Two servers on the same workspace, in the same run: ours as shipped, and the same service
with BentoML's stock timeout middleware (``RADAR_BENTOML_TIMEOUT=stock``), the peer that
shows what the fix in ``serving/api/bentoml_fixes.py`` is worth. For each, ``--seconds`` per
phase:

  0. ``/events`` of one new contact per request from one connection (a durable write);
  1. ``/livez`` from one keep-alive connection (the HTTP layer alone);
  2. ``/score`` of one customer, by id, as of now, with three reasons, from one
     connection: each request a random customer of the snapshot (features evaluated on
     the online state for that moment, not looked up);
  3. the same from 8 connections (throughput);
  4. ``/score`` of one posted history: the whole history of a typical customer (the median
     number of contacts), then of the customer with the most contacts in the last 30 days;
  5. ``/livez`` from one connection while ``--load-connections`` post batches of
     ``--batch`` ids with reasons (does heavy scoring starve the event loop?).

wrk's latency percentiles account for coordinated omission (a stall delays every request
a steady client would have sent meanwhile), so a 300 ms pause every few thousand requests
shows up in p99, as a CRM calling at a steady rate would feel it.

Usage (after ``make demo``; needs Debian's wrk):
    .venv/bin/python benchmarks/http_tail.py [--workspace workspace] [--seconds 60]
        [--batch 1000] [--append]

Traffic stays on 127.0.0.1; every phase is bounded by ``--seconds``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.load_setup import require_wrk, workspace_copy  # noqa: E402
from benchmarks.results import append_result  # noqa: E402
from radar.process import free_port, service_env, start_service, stop  # noqa: E402
from serving.api.bentoml_fixes import STOCK_TIMEOUT_ENV  # noqa: E402
from serving.api.histories import history_payload  # noqa: E402
from serving.publication import load_snapshot  # noqa: E402

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
# A new contact on every request (a counter in the id), so each one is a durable write.
EVENT_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
counter = 0
request = function()
    counter = counter + 1
    local body = string.format([[{{"contacts": [{{"contact_id": "BENCH-%d-%d", "customer_id": "{customer}",
        "started_at": "{started}", "channel": "phone", "reason": "billing"}}]}}]], os.time(), counter)
    return wrk.format(nil, nil, nil, body)
end
"""
# One random customer per request, scored by id as of now.
RANDOM_ID_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
ids = {{{ids}}}
math.randomseed(7)
request = function()
    local body = string.format('{{"customer_ids": ["%s"], "top_reasons": 3}}', ids[math.random(#ids)])
    return wrk.format(nil, nil, nil, body)
end
"""
POST_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[{body}]]
"""


def parse_wrk(text: str) -> dict[str, float]:
    """p50, p99 and max latency (ms) and requests/s from ``wrk --latency`` output."""

    def ms(value: str) -> float:
        number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
        return float(number) * UNITS[unit]

    found = {
        f"p{q}_ms": ms(v) for q, v in re.findall(r"^\s+(50|99)(?:\.000)?%\s+(\S+)", text, re.M)
    }
    found["max_ms"] = ms(re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", text).group(1))
    found["req_per_s"] = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    return found


def wrk(url: str, seconds: int, connections: int, script: Path | None = None) -> subprocess.Popen:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if script is not None:
        cmd += ["-s", str(script)]
    return subprocess.Popen([*cmd, url], stdout=subprocess.PIPE, text=True)


def serve(config, port: int, log: Path, stock: bool) -> subprocess.Popen:
    env = service_env(config)
    if stock:
        env[STOCK_TIMEOUT_ENV] = "stock"
    return start_service(config, port, log, env)


def phases(
    base: str,
    args: argparse.Namespace,
    one: Path,
    batch: Path,
    events: Path,
    histories: dict[str, Path],
) -> dict[str, dict]:
    def run(path: str, connections: int, script: Path | None = None) -> subprocess.Popen:
        return wrk(f"{base}{path}", args.seconds, connections, script)

    result = {
        "events_1": parse_wrk(run("/events", 1, events).communicate()[0]),
        "livez": parse_wrk(run("/livez", 1).communicate()[0]),
        "score_1": parse_wrk(run("/score", 1, one).communicate()[0]),
        "score_8": parse_wrk(run("/score", 8, one).communicate()[0]),
        **{
            f"history_{name}": parse_wrk(run("/score", 1, script).communicate()[0])
            for name, script in histories.items()
        },
    }
    load = run("/score", args.load_connections, batch)
    result["livez_loaded"] = parse_wrk(run("/livez", 1).communicate()[0])
    result["batches"] = parse_wrk(load.communicate()[0])
    return result


def table(results: dict[str, dict], args: argparse.Namespace) -> str:
    rows = [
        ("/events of one new contact (a durable write), 1 connection", "events_1"),
        ("/livez, 1 connection", "livez"),
        ("/score 1 random customer by id as of now + 3 reasons, 1 connection", "score_1"),
        ("/score 1 random customer by id as of now + 3 reasons, 8 connections", "score_8"),
        ("/score 1 posted history (median customer) + 3 reasons, 1 connection", "history_median"),
        ("/score 1 posted history (busiest customer) + 3 reasons, 1 connection", "history_busiest"),
        (
            f"/livez while {args.load_connections} connections post {args.batch}-id batches",
            "livez_loaded",
        ),
    ]
    lines = [
        "| phase | server | p50 ms | p99 ms | max ms | req/s | p99 stock / ours |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, key in rows:
        ours, stock = results["ours"][key], results["stock"][key]
        for name, r in (("ours", ours), ("stock BentoML timeout", stock)):
            ratio = f"{stock['p99_ms'] / ours['p99_ms']:.1f}x" if name == "ours" else ""
            lines.append(
                f"| {label} | {name} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
                f"{r['max_ms']:.1f} | {r['req_per_s']:.0f} | {ratio} |"
            )
    lines.append("")
    for name in ("ours", "stock"):
        b = results[name]["batches"]
        lines.append(
            f"{name}: {b['req_per_s']:.1f} batches/s during the last phase (p50 {b['p50_ms']:.0f} ms)  "
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=Path("workspace"))
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--load-connections", type=int, default=2)
    parser.add_argument("--append", action="store_true", help="add the table to RESULTS.md")
    args = parser.parse_args()
    require_wrk()
    snapshot = load_snapshot(args.workspace / "risk_lists")
    ids = snapshot.features.loc[snapshot.features["eligible"], "customer_id"].tolist()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        config = workspace_copy(args.workspace, Path(tmp))  # posted contacts land there
        one, batch = Path(tmp) / "one.lua", Path(tmp) / "batch.lua"
        one.write_text(RANDOM_ID_SCRIPT.format(ids=", ".join(f'"{i}"' for i in ids[1:])))
        body = json.dumps({"customer_ids": ids[1 : args.batch + 1], "top_reasons": 3})
        batch.write_text(POST_SCRIPT.format(body=body))
        published = snapshot.history()
        contacts = published.contacts["customer_id"].value_counts()
        chosen = {
            "median": contacts.index[len(contacts) // 2],
            "busiest": snapshot.features.sort_values("contacts_30d").index[-1],
        }
        histories = {}
        for name, customer in chosen.items():
            payload = history_payload(published, customer, snapshot.cutoff_at)
            body = {"histories": [payload], "as_of": snapshot.cutoff_at.isoformat()}
            histories[name] = Path(tmp) / f"history_{name}.lua"
            histories[name].write_text(POST_SCRIPT.format(body=json.dumps(body)))
        events = Path(tmp) / "events.lua"
        started = snapshot.cutoff_at.isoformat().replace("+00:00", "Z")
        # Posted for the first customer only: the scoring phases ask for the others.
        events.write_text(EVENT_SCRIPT.format(customer=ids[0], started=started))
        for name in ("ours", "stock"):
            port = free_port(0)
            proc = serve(config, port, Path(tmp) / f"{name}.log", stock=name == "stock")
            try:
                results[name] = phases(
                    f"http://127.0.0.1:{port}", args, one, batch, events, histories
                )
            finally:
                stop(proc)
            print(f"{name}: {json.dumps(results[name])}", flush=True)
    text = table(results, args)
    print(text)
    if args.append:
        append_result(
            f"HTTP tails under sustained load, {len(snapshot.features)} customers in the snapshot",
            text,
            f"wrk -t1, {args.seconds} s per phase",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
