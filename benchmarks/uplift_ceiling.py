"""How much can any ranking by whom a call helps gain over the ranking by risk? On worlds whose
calls help by cause (``WorldParams.with_heterogeneous_outreach``) with and without each of its
mechanisms, every customer's true effect and true risk on several days (the simulator's own
forward paths, no model): the complaints prevented by calling the top share of customers by
true effect, over those prevented by calling the top share by true risk. The ceiling a learnt
uplift model can at best reach; no learner is involved.

Usage:
    .venv/bin/python benchmarks/uplift_ceiling.py [--seeds 8 9] [--customers 4000] [--append]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import append_result  # noqa: E402
from data.simulator.params import WorldParams  # noqa: E402
from data.simulator.world import World  # noqa: E402

SHARES = (0.10, 0.05, 0.01)


def worlds() -> dict[str, WorldParams]:
    shipped = replace(WorldParams(), outreach_effect=0.5).with_heterogeneous_outreach()
    cause_only = replace(
        shipped,
        outreach_calm_frustration=None,
        outreach_annoyed_share_by_age=None,
        outreach_annoyed_share=0.05,
    )
    return {
        "the cause only (5 % annoyed at random)": cause_only,
        "+ the young annoyed (40 % of 18-29s)": replace(shipped, outreach_calm_frustration=None),
        "+ the angriest past calming (shipped)": shipped,
    }


def ceiling(params: WorldParams, seed: int, customers: int, warmup: int, days: int) -> list:
    """Per share: (prevented by the top by true risk, by the top by true effect)."""
    world = World(params, customers, warmup + 2 * days, seed, pd.Timestamp("2024-01-01"), 0)
    world.begin()
    for _ in range(warmup):
        world.advance_day(progress=False)
    everyone = np.arange(customers)
    totals = np.zeros((len(SHARES), 2))
    for _ in range(days):
        before, after = world.risk_if_reached(everyone)
        effect = after - before
        for i, share in enumerate(SHARES):
            k = int(customers * share)
            by_risk = np.argsort(-before, kind="stable")[:k]
            by_effect = np.argsort(effect, kind="stable")[:k]
            totals[i] += (-effect[by_risk].sum(), -effect[by_effect].sum())
        for _ in range(2):  # days apart, so the days are not the same customers' states
            world.advance_day(progress=False)
    return totals.tolist()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[8, 9])
    parser.add_argument("--customers", type=int, default=4000)
    parser.add_argument("--warmup-days", type=int, default=60)
    parser.add_argument("--days", type=int, default=8, help="days judged (two days apart)")
    parser.add_argument("--append", action="store_true", help="add the table to RESULTS.md")
    args = parser.parse_args()
    lines = [
        "| what a call's effect depends on | seed | "
        + " | ".join(f"top {share:.0%}: by truth / by risk" for share in SHARES)
        + " |",
        "|---|---|" + "---|" * len(SHARES),
    ]
    for name, params in worlds().items():
        for seed in args.seeds:
            totals = ceiling(params, seed, args.customers, args.warmup_days, args.days)
            cells = [f"{by_effect / by_risk:.2f} x" for by_risk, by_effect in totals]
            lines.append(f"| {name} | {seed} | " + " | ".join(cells) + " |")
    text = "\n".join(lines)
    print(text)
    if args.append:
        append_result(
            f"The ceiling of ranking by whom a call helps, {args.customers} customers",
            text,
            f"{args.days} days two apart after {args.warmup_days}, every customer's true effect",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
