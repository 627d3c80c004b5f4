"""Is the outreach loop's interval calibrated? Many short loops, one per seed, each with its
measured effect, 95 % interval and the truth for the same estimand (see
``radar/outreach_loop.py``); reported: the share of intervals that cover the truth (with its
own 95 % Wilson interval: 20 loops cannot tell 95 % from 85 %), the mean error of the
estimate against the truth (bias) beside its mean standard error, and the time per loop.

Each loop is a world of its own (``simulation.seed`` = the loop's seed), a model trained on
it, ``--days`` lists with assignments and calls, and ``radar monitor`` once the last list's
labels matured: a few minutes per loop on 2 cores at the defaults.

``--effect heterogeneous`` runs the loops on the world where a call helps some customers
and annoys others (``loop.effect``): the estimand is the same average, over customers whose
effects now differ.

Usage:
    .venv/bin/python benchmarks/loop_coverage.py [--loops 20] [--customers 1500] [--days 5]
        [--effect uniform|heterogeneous] [--jobs 1] [--append]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import append_result  # noqa: E402
from experiments.config import load_config  # noqa: E402
from radar.outreach_loop import covers, run_outreach_loop  # noqa: E402
from serving.monitoring.monitor import wilson  # noqa: E402


def one_loop(seed: int, args: argparse.Namespace, root: Path) -> dict:
    # A short world (as the tests' loop): short periods, a small booster.
    base = load_config(
        args.config,
        split={"warmup_days": 14, "validation_days": 14, "test_days": 14, "gap_hours": 48},
        model={"n_estimators": 150, "early_stopping_rounds": 30, "min_child_samples": 40},
        evaluation={"bootstrap_samples": 20},
    )
    config = base.model_copy(
        update={
            "workspace": base.workspace.model_copy(update={"root": root / f"seed-{seed}"}),
            "simulation": base.simulation.model_copy(
                update={"seed": seed, "days": args.world_days, "truth_paths": 0}
            ),
            "loop": base.loop.model_copy(
                update={"customers": args.customers, "days": args.days, "effect": args.effect}
            ),
        }
    )
    started = time.perf_counter()
    result = run_outreach_loop(config)
    low, high = result.measured["interval"]
    return {
        "seed": seed,
        "measured": result.measured["difference"],
        "interval": [low, high],
        "truth": result.true_effect,
        "covered": covers(result),
        "seconds": time.perf_counter() - started,
    }


def summary(loops: list[dict]) -> str:
    covered = sum(r["covered"] for r in loops)
    low, high = wilson(covered, len(loops))
    errors = np.array([r["measured"] - r["truth"] for r in loops])
    se = np.array([(r["interval"][1] - r["interval"][0]) / (2 * 1.96) for r in loops])
    lines = [
        "| seed | measured | 95 % interval | truth | covered |",
        "|---|---|---|---|---|",
        *(
            f"| {r['seed']} | {r['measured']:+.4f} | [{r['interval'][0]:+.4f}, "
            f"{r['interval'][1]:+.4f}] | {r['truth']:+.4f} | {'yes' if r['covered'] else 'NO'} |"
            for r in loops
        ),
        "",
        f"covered: {covered} of {len(loops)} ({covered / len(loops):.0%}; 95 % interval of the "
        f"coverage [{low:.0%}, {high:.0%}]; nominal 95 %)",
        f"mean error (measured - truth): {errors.mean():+.4f} ± {errors.std(ddof=1) / np.sqrt(len(errors)):.4f} "
        f"(standard error of the mean); mean standard error of one estimate {se.mean():.4f}; "
        f"spread of the errors {errors.std(ddof=1):.4f}",
        f"time per loop: {np.mean([r['seconds'] for r in loops]):.0f} s",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--customers", type=int, default=1500)
    parser.add_argument("--days", type=int, default=5, help="loop days (lists) per loop")
    parser.add_argument("--world-days", type=int, default=80, help="history before the loop")
    parser.add_argument("--effect", choices=["uniform", "heterogeneous"], default="uniform")
    parser.add_argument("--jobs", type=int, default=1, help="loops run side by side")
    parser.add_argument("--config", type=Path, default=ROOT / "experiments" / "default.yaml")
    parser.add_argument("--append", action="store_true", help="add the table to RESULTS.md")
    args = parser.parse_args()
    seeds = range(args.first_seed, args.first_seed + args.loops)
    with tempfile.TemporaryDirectory() as tmp, ProcessPoolExecutor(args.jobs) as pool:
        loops = []
        for loop in pool.map(partial(one_loop, args=args, root=Path(tmp)), seeds):
            loops.append(loop)
            print(json.dumps(loop), flush=True)
    text = summary(loops)
    print(text)
    if args.append:
        append_result(
            f"Outreach loop coverage, {args.effect} effect, {args.loops} loops of "
            f"{args.days} days, {args.customers} customers",
            text,
            f"each loop its own world, model and monitor; {args.jobs} side by side",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
