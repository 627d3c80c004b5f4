"""Can the lists' randomised assignments teach whom a call helps? A long outreach loop on the
world where calls help by cause and annoy a few (``loop.effect: heterogeneous``), with a
share of the capacity explored at random; an uplift model (``training.uplift``) learnt on
the first days' randomised rows and judged on the later days', three ways:

- against the truth the simulator knows (each assigned customer's true effect, never shown
  to the model): complaints truly prevented by calling the top half of the later rows as
  ranked by expected prevention, by risk, and at random, and the correlation of the
  expected effect with the true one;
- from the randomised rows alone (what a team without a simulator sees): the same top
  half's prevented complaints estimated from its contacted and held-out groups, with a
  bootstrap interval, and the Qini curve;
- the same two for the ranking by risk, the peer.

Usage:
    .venv/bin/python benchmarks/uplift_loop.py [--days 30] [--customers 4000] [--append]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import append_result  # noqa: E402
from experiments.config import load_config  # noqa: E402
from radar.outreach_loop import loop_config, run_outreach_loop  # noqa: E402
from serving.monitoring.learning import randomised_rows, uplift_features  # noqa: E402
from serving.publication import published_days  # noqa: E402
from training.uplift import LEARNERS, UpliftModel, prevented_interval, qini_curve  # noqa: E402


def config_for(args: argparse.Namespace, root: Path):
    base = load_config(
        ROOT / "experiments" / "default.yaml",
        split={"warmup_days": 14, "validation_days": 14, "test_days": 14, "gap_hours": 48},
        model={"n_estimators": 150, "early_stopping_rounds": 30, "min_child_samples": 40},
        evaluation={"bootstrap_samples": 20},
    )
    return base.model_copy(
        update={
            "workspace": base.workspace.model_copy(update={"root": root}),
            "simulation": base.simulation.model_copy(
                update={"seed": args.seed, "days": 80, "truth_paths": 0}
            ),
            "loop": base.loop.model_copy(
                update={
                    "customers": args.customers,
                    "days": args.days,
                    "effect": "heterogeneous",
                    "capacity_fraction": args.capacity_fraction,
                    "holdout_fraction": 0.5,
                }
            ),
            "outreach": base.outreach.model_copy(update={"explore_fraction": args.explore}),
        }
    )


def judge(name: str, score: np.ndarray, test, k: int) -> dict:
    """Truly and estimated prevented complaints in the top ``k`` by ``score``."""
    order = np.argsort(-score, kind="stable")
    contacted, complained = test["contacted"].to_numpy(), test["complained"].to_numpy()
    propensity = test["propensity"].to_numpy()
    estimate, low, high = prevented_interval(score, contacted, complained, propensity, k)
    qini = qini_curve(score, contacted, complained, propensity, points=4)
    return {
        "ranking": name,
        "true_prevented": float(-test["true_effect"].to_numpy()[order[:k]].sum()),
        "estimated_prevented": estimate,
        "interval": [low, high],
        "qini": [round(v, 1) for v in qini["prevented"]],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--customers", type=int, default=4000)
    parser.add_argument("--capacity-fraction", type=float, default=0.1)
    parser.add_argument("--explore", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--append", action="store_true", help="add the table to RESULTS.md")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        config = config_for(args, Path(tmp))
        result = run_outreach_loop(config)
        lists = published_days(loop_config(config).workspace.risk_lists_dir)
        rows = randomised_rows(result.history, lists, loop_config(config))
    rows = rows.merge(result.truth, on=["date", "customer_id"], how="left")
    days = sorted(rows["date"].unique())
    split = days[len(days) * 2 // 3]
    train, test = rows[rows["date"] < split], rows[rows["date"] >= split]
    names = uplift_features(rows)
    k = len(test) // 2
    judged, corr = [], {}
    for kind in LEARNERS:
        model = UpliftModel(names, seed=0, kind=kind).fit(
            train, train["contacted"], train["complained"], train["propensity"]
        )
        expected = model.predict_effect(test)
        judged.append(judge(f"expected prevention ({kind} learner)", -expected, test, k))
        corr[kind] = round(float(np.corrcoef(expected, test["true_effect"])[0, 1]), 2)
    rng = np.random.default_rng(0)
    judged += [
        judge("risk (the list's probability)", test["probability"].to_numpy(), test, k),
        judge("random", rng.random(len(test)), test, k),
        judge("the truth (the best any ranking can do)", -test["true_effect"].to_numpy(), test, k),
    ]
    lines = [
        f"learnt on {len(train)} randomised rows ({int(train['complained'].sum())} complaints, "
        f"{len(days) * 2 // 3} days), judged on {len(test)} later rows "
        f"({int(test['complained'].sum())} complaints); top half = {k} calls",
        "",
        "| ranking | truly prevented (simulator) | per 100 calls | estimated from randomised rows [95 %] | Qini at 25/50/75/100 % |",
        "|---|---|---|---|---|",
        *(
            f"| {j['ranking']} | {j['true_prevented']:.1f} | {100 * j['true_prevented'] / k:.2f} "
            f"| {j['estimated_prevented']:.1f} "
            f"[{j['interval'][0]:.1f}, {j['interval'][1]:.1f}] | {j['qini']} |"
            for j in judged
        ),
        "",
        f"correlation of the expected effect with the true one: {corr}",
        f"mean true effect of the later rows: {test['true_effect'].mean():+.4f}; "
        f"time {time.perf_counter() - started:.0f} s",
    ]
    text = "\n".join(lines)
    print(json.dumps(judged))
    print(text)
    if args.append:
        append_result(
            f"Whom a call helps: uplift on the heterogeneous world, {args.days} loop days, "
            f"{args.customers} customers",
            text,
            f"explore {args.explore}, capacity {args.capacity_fraction}, holdout 0.5, seed {args.seed}",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
