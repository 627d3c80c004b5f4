"""Would learning from what the calls did beat learning from the complaints that followed?
A team notes an outcome for every call that reaches a customer (``issue_resolved``, ...):
tens of times as many as the complaints a loop's randomised rows hold. On the outreach loops
of ``benchmarks/uplift_loop.py`` (same setting and seeds, so the same worlds and lists), each
reached call is given the code an agent would note, read from what the call truly did to the
customer's hidden frustration (the loop's ``true_call_share``, never shown to a model) in
four bands (made things worse, changed nothing, calmed, resolved) with a share of the codes
mis-noted at random (``--agent-errors``); a LightGBM classifier learns each customer's
chances of each code from the first two thirds of the days' reached calls, and every
customer of the judged days is ranked by risk x the expected value of their code (the
values a team would state, ``--values``). Judged as ``uplift_loop.py`` judges: each judged
day's calls from the top, the complaints they truly prevent summed from the simulator's
individual effects, over those of the ranking by risk. Beside it: the same with each code
valued at its calls' true mean share (not knowable), a booster fitted to the exact share
of every reached call (a flawless note), every customer's true share (the ceiling of
ranking by risk x share) and the true effect.

How informative a simulated agent's note is, is this benchmark's choice (the bands, the
error): the figures say what a team's notes would be worth if they are that good.

Usage:
    .venv/bin/python benchmarks/uplift_call_records.py [--seeds 7 8 9 10] [--jobs 2]
        [--agent-errors 0 0.1 0.2 0.3] [--values -1 0 0.5 1] [--append]
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import lightgbm as lgb
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import append_result  # noqa: E402
from benchmarks.uplift_loop import (  # noqa: E402
    booster_matrix,
    loop_arguments,
    run_loop,
    t_interval,
    truly_prevented,
)
from radar.outreach_loop import NOTED_CODES, noted_codes  # noqa: E402

SKIP = ("customer_id", "date", "assignment")
PARAMS = {"learning_rate": 0.05, "num_leaves": 7, "min_child_samples": 50, "seed": 0,
          "deterministic": True, "verbose": -1, "num_threads": 1}  # fmt: skip


def one_loop(seed: int, args: argparse.Namespace) -> dict:
    _, result, rows, scored = run_loop(seed, args)
    scored = scored.merge(
        result.truth[["date", "customer_id", "true_effect", "true_call_share", "reached"]],
        on=["date", "customer_id"],
        validate="1:1",
    )
    days = sorted(rows["date"].unique())
    split = days[len(days) * 2 // 3]  # as uplift_loop.py splits: learn, then judge
    calls = scored[(scored["date"] < split) & scored["reached"]]
    whole = scored[scored["date"] >= split].reset_index(drop=True)
    names = [c for c in scored.columns if c not in SKIP and c not in result.truth.columns]
    matrix = booster_matrix(calls, names)
    learn, judge = matrix(calls), matrix(whole)
    share = calls["true_call_share"].to_numpy()
    risk = whole["probability"].to_numpy()
    stated = np.asarray(args.values)
    rng = np.random.default_rng([seed, 28])
    found = {("risk", None): truly_prevented(whole, risk)}
    for error in args.agent_errors:
        code = noted_codes(share, error, rng)
        booster = lgb.train(
            {**PARAMS, "objective": "multiclass", "num_class": len(NOTED_CODES)},
            lgb.Dataset(learn, code),
            200,
        )
        chances = booster.predict(judge)
        means = np.array([share[code == k].mean() if (code == k).any() else 0.0
                          for k in range(len(NOTED_CODES))])  # fmt: skip
        found["expected code, values as stated", error] = truly_prevented(
            whole, risk * (chances @ stated)
        )
        found["expected code, valued at its calls' true mean share", error] = truly_prevented(
            whole, risk * (chances @ means)
        )
    flawless = lgb.train({**PARAMS, "objective": "regression"}, lgb.Dataset(learn, share), 200)
    found["a booster on each call's exact share (a flawless note)", None] = truly_prevented(
        whole, risk * flawless.predict(judge)
    )
    found["every customer's true share (no learning)", None] = truly_prevented(
        whole, risk * whole["true_call_share"].to_numpy()
    )
    found["the true effect (in place of risk x share)", None] = truly_prevented(
        whole, -whole["true_effect"].to_numpy()
    )
    return {
        "seed": seed,
        "calls": len(calls),
        "complaints": int(rows.loc[rows["date"] < split, "complained"].sum()),
        "x_risk": {key: value / found["risk", None] for key, value in found.items()},
    }


def summary(loops: list[dict], args: argparse.Namespace) -> str:
    keys = [key for key in loops[0]["x_risk"] if key != ("risk", None)]
    lines = [
        f"{len(loops)} loops (seeds {[loop['seed'] for loop in loops]}); learnt on "
        f"{np.mean([loop['calls'] for loop in loops]):,.0f} reached calls a loop (the "
        f"complaint learners: {np.mean([loop['complaints'] for loop in loops]):,.0f} "
        f"complaints); codes {', '.join(NOTED_CODES)} stated as {list(args.values)}",
        "",
        "| ranking (risk x ...) | agent error | x risk per loop | mean [95 % t] |",
        "|---|---|---|---|",
    ]
    for what, error in keys:
        values = np.array([loop["x_risk"][what, error] for loop in loops])
        mean, low, high = t_interval(values)
        lines.append(
            f"| {what} | {'-' if error is None else f'{error:.0%}'} | "
            f"{', '.join(f'{v:.2f}' for v in values)} | {mean:.2f} [{low:.2f}, {high:.2f}] |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    loop_arguments(parser, seeds=[7, 8, 9, 10])
    parser.add_argument(
        "--agent-errors", type=float, nargs="+", default=[0.0, 0.1, 0.2, 0.3],
        help="shares of the notes mis-noted at random",
    )  # fmt: skip
    parser.add_argument(
        "--values", type=float, nargs=len(NOTED_CODES), default=[-1.0, 0.0, 0.5, 1.0],
        help=f"what a team states each code is worth, in the order {' '.join(NOTED_CODES)}",
    )  # fmt: skip
    parser.add_argument("--append", action="store_true", help="add the table to RESULTS.md")
    args = parser.parse_args()
    with ProcessPoolExecutor(args.jobs) as pool:
        loops = list(pool.map(partial(one_loop, args=args), args.seeds))
    text = summary(loops, args)
    print(text)
    if args.append:
        append_result(
            f"Learning from the calls' notes, {args.customers} customers",
            text,
            f"explore {args.explore}, capacity {args.capacity_fraction}, {args.days} loop days",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
