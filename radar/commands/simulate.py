"""``radar simulate``: a synthetic contact-history world."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from radar.commands.common import config_of

NAME = "simulate"
HELP = "generate a synthetic contact-history world"


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--customers", type=int)
    p.add_argument("--days", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--truth-paths", type=int, help="Monte Carlo paths for the true risk")
    p.add_argument(
        "--channel-shift-day",
        type=int,
        help="inject a drift: from this day on, 80 % of contacts move to the app channel "
        "(see data/README.md)",
    )
    p.add_argument(
        "--no-truth",
        action="store_true",
        help="skip the Monte Carlo true risk (most of the cost; for scale work)",
    )


def run(args: argparse.Namespace) -> int:
    from data.simulator import simulate_world
    from data.simulator.params import WorldParams

    sim = config_of(args).simulation
    manifest = simulate_world(
        args.out,
        customers=args.customers or sim.customers,
        days=args.days or sim.days,
        seed=sim.seed if args.seed is None else args.seed,
        start=str(sim.start),
        truth_paths=0 if args.no_truth else args.truth_paths or sim.truth_paths,
        truth_days=sim.truth_days,
        params=WorldParams(channel_shift_day=args.channel_shift_day),
    )
    summary = {"out": str(args.out), "observed_until": manifest["observed_until"]}
    print(json.dumps({**summary, "rows": manifest["rows"]}, indent=2))
    return 0
