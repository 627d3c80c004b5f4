"""``radar demo``: the whole product once, for real, on the embedded defaults.

synthetic world -> features -> candidate models -> MLflow run + registry -> daily risk list ->
BentoML service on loopback -> real HTTP calls checked against the list -> service stopped.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pandas as pd

from data.load import MANIFEST, load_history
from data.simulator import simulate_world
from experiments.config import RadarConfig
from radar.console import print_evaluation
from radar.outreach_loop import covers, loop_config, run_outreach_loop
from radar.process import free_port, start_service, stop
from serving.api.auth import load_token
from serving.api.histories import history_payload
from serving.batch.risk_list import preview, score_day
from serving.monitoring.monitor import run_monitor
from serving.scorer import Scorer
from training.train import train

log = logging.getLogger("radar.demo")

UNKNOWN_ID = "NO-SUCH-CUSTOMER"
PARITY_TOLERANCE = 1e-9
DEMO_LOOP_DAYS = 4  # earlier daily lists, all matured, for the monitor to judge


def _step(n: int, text: str) -> None:
    print(f"\n=== [{n}/6] {text}", flush=True)


def run_demo(config: RadarConfig, args: argparse.Namespace, service_env: dict[str, str]) -> int:
    started = time.perf_counter()
    world = _world(config, args)
    _step(2, "features -> candidate models (chosen on validation) -> evaluation -> MLflow registry")
    result = train(config, world)
    print_evaluation(result.evaluation)
    _step(3, "daily risk lists with today's outreach, and how the earlier ones did")
    history, _ = load_history(world, config.workspace.data_rejects_dir, config.data)
    list_dir, risk_list = _daily_lists(config, history)
    _step(4, "scoring service over HTTP")
    ok, base = _serve_and_check(config, args, history, risk_list, service_env)
    loop_ws = _outreach_loop(config)
    _step(6, f"done in {time.perf_counter() - started:.0f} s")
    ws = config.workspace
    print(f"""world (synthetic data)    {world}
MLflow store              {ws.mlflow_uri}   (browse: .venv/bin/mlflow ui --backend-store-uri {ws.mlflow_uri})
evaluation                {result.evaluation_path}
monitoring                {ws.monitoring_dir / "monitoring.html"} (and monitoring.json)
outreach loop             {loop_ws.root} (its lists, outcomes.db, monitoring/)
registered model          {config.registry.model_name} version {result.version} ({"champion" if result.promoted else "challenger"})
risk list                 {list_dir / "risk_list.html"} (and .csv, .parquet)
service                   radar serve  ->  POST {base.rsplit(":", 1)[0]}:{config.serving.port}/score
service check             {"PASSED" if ok else "FAILED"}""")
    return 0 if ok else 1


def _world(config: RadarConfig, args: argparse.Namespace) -> Path:
    """Step 1: the synthetic world, reused when its size and seed are the asked ones."""
    sim = config.simulation
    customers, days = args.customers or sim.customers, args.days or sim.days
    world = config.workspace.world_dir
    manifest_path = world / MANIFEST
    _step(1, f"synthetic world: {customers} customers x {days} days (seed {sim.seed})")
    existing = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    same = (existing.get("customers"), existing.get("days"), existing.get("seed"))
    if not args.fresh and same == (customers, days, sim.seed):
        print(f"reusing {world} (same size and seed; --fresh regenerates)")
    else:
        simulate_world(
            world,
            customers,
            days,
            sim.seed,
            str(sim.start),
            sim.truth_paths,
            horizon_hours=config.labels.horizon_hours,
            truth_days=sim.truth_days,
        )
    print(f"world: {world}")
    return world


def _daily_lists(config: RadarConfig, history) -> tuple[Path, pd.DataFrame]:
    """Step 3: a few earlier, matured lists for the monitor to judge, then today's list."""
    day = history.observed_until.date()
    scorer = Scorer.from_registry(config)

    def list_of(date):
        return score_day(
            history,
            scorer,
            date,
            config.workspace.risk_lists_dir,
            config.labels,
            config.evaluation,
            config.outreach,
        )

    # The lists of a few earlier days, as the team would have had them: their 48 h have
    # passed, so the monitor can judge them (and today's list skips whom they assigned).
    for back in range(DEMO_LOOP_DAYS + 2, 2, -1):
        earlier = day - timedelta(days=back)
        drawn = list_of(earlier)[1]["assignment"].value_counts()
        print(
            f"list of {earlier}: {drawn.get('contact', 0)} to contact, "
            f"{drawn.get('holdout', 0)} held out"
        )
    report = run_monitor(history, config)
    for matured in report["matured_days"]:
        print(
            f"  {matured['date']}: precision at capacity "
            f"{matured['realized_precision_at_capacity']:.3f} realized, "
            f"{matured['expected_precision_at_capacity']:.3f} expected"
        )
    print(
        f"monitoring: {len(report['alerts'])} alert(s), "
        f"{config.workspace.monitoring_dir / 'monitoring.html'}"
    )
    list_dir, risk_list = list_of(day)
    print(preview(risk_list, 5))
    return list_dir, risk_list


def _serve_and_check(
    config: RadarConfig,
    args: argparse.Namespace,
    history,
    risk_list: pd.DataFrame,
    service_env: dict[str, str],
) -> tuple[bool, str]:
    """Step 4: the BentoML service on loopback, asked over HTTP, its answers checked."""
    token = load_token(config)  # a misconfigured token fails here, before a server starts
    port = free_port(args.port or config.serving.port, config.serving.host)
    base = f"http://{config.serving.host}:{port}"
    service_log = config.workspace.root / "service.log"
    proc = start_service(config, port, service_log, service_env)
    first, cutoff = risk_list["customer_id"].iloc[0], risk_list["cutoff_at"].iloc[0]
    try:
        print(f"service ready at {base}")
        payload = history_payload(history, first, cutoff)
        ok = _check_service(base, risk_list, payload, cutoff.isoformat(), token)
    finally:
        stop(proc)
        print(f"service stopped (log: {service_log})")
    return ok, base


def _outreach_loop(config: RadarConfig):
    """Step 5: the closed outreach loop in its own small world; returns its workspace."""
    loop = config.loop
    _step(
        5,
        f"the outreach loop: {loop.customers} customers, {loop.days} days, a reached customer "
        f"loses {loop.outreach_effect:.0%} of their frustration",
    )
    looped = run_outreach_loop(config)
    for d in looped.days:
        print(
            f"{d['date']}: {d['contact']} to contact ({d['reached']} reached), "
            f"{d['holdout']} held out; true effect {d['true_effect']:+.4f}"
        )
    measured = looped.measured
    low, high = measured["interval"]
    print(
        f"measured effect (contact - holdout complaint rate): {measured['difference']:+.4f} "
        f"[{low:+.4f}, {high:+.4f}]; true effect {looped.true_effect:+.4f}: "
        + ("covered" if covers(looped) else "NOT covered")
    )
    loop_ws = loop_config(config).workspace
    print(f"loop monitoring: {loop_ws.monitoring_dir / 'monitoring.html'}")
    return loop_ws


def _check_service(
    base: str, risk_list, payload: dict, as_of: str, token: bytes | None = None
) -> bool:
    """Score the list's top customers by id and one by posted history; compare with the list."""
    ids = [*risk_list["customer_id"].head(3), UNKNOWN_ID]
    headers = {"Authorization": f"Bearer {token.decode()}"} if token else {}
    response = httpx.post(
        f"{base}/score",
        json={"customer_ids": ids, "histories": [payload], "as_of": as_of},
        headers=headers,
        timeout=60,
    )
    response.raise_for_status()
    body = response.json()
    print(
        f"POST /score -> {response.status_code}, model {body['model_name']} v{body['model_version']}, snapshot {body['snapshot_date']}"
    )
    listed = dict(zip(risk_list["customer_id"], risk_list["probability"], strict=True))
    checks = []
    for item in body["results"]:
        if item["status"] == "ok":
            reasons = "; ".join(r["text"] for r in item["reasons"])
            print(
                f"  {item['customer_id']:<18} {item['source']:<9} p={item['probability']:.4f} {item['risk_tier']:<6} {reasons}"
            )
            # The list rounds to 6 decimals.
            checks.append(abs(item["probability"] - listed[item["customer_id"]]) < 1e-6)
        else:
            print(f"  {item['customer_id']:<18} {item['source']:<9} error: {item['error']}")
            checks.append(item["customer_id"] == UNKNOWN_ID)
    by_source = {(r["customer_id"], r["source"]): r for r in body["results"] if r["status"] == "ok"}
    first = risk_list["customer_id"].iloc[0]
    same = (
        abs(
            by_source[(first, "online")]["probability"]
            - by_source[(first, "history")]["probability"]
        )
        < PARITY_TOLERANCE
    )
    print(
        f"  id lookup and posted history agree for {first}: {same}; all answers match the list: {all(checks)}"
    )
    return all(checks) and same
