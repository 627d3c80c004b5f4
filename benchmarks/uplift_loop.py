"""Does ranking by expected prevention prevent more complaints than ranking by risk? Long
outreach loops on the world where calls help by cause, calm the angriest less and annoy a
few (``loop.effect: heterogeneous``, see ``data/README.md``), each with a share of the
capacity explored at random. In each loop the uplift model is learnt as ``radar uplift``
learns it (the learner chosen on the latest third of the learning days,
``serving.monitoring.learning.choose_learner``) on the randomised rows of the first two
thirds of the matured days, and judged on the last third:

- the true counterfactual at the same capacity: on each judged day, every customer the list
  scored ranked by expected prevention, by risk and at random; the day's number of calls
  (its ``contact`` group) taken from the top of each ranking; the complaints those calls
  truly prevent summed from the simulator's individual effects (never shown to the model),
  beside the truth's own top (the best any ranking can do), a booster fitted to the true
  effects of every customer of the learning days (the most the features could say), and
  the ``modifiers`` learner fitted to the learning rows' true probabilities instead of
  their complaints (``modifiers_on_expected_outcomes``: what unlimited outcomes of the
  same rows would teach it, so what is lost to the outcomes' noise and what to the rows),
  and on ``--outcome-multiples`` times their outcomes (each complaint drawn again from the
  row's true probability): how many times a loop's complaints the learner needs;
- what a team without a simulator sees: the complaints prevented in the top half of the
  judged days' randomised rows, estimated from their contacted and held-out groups, with
  a bootstrap interval, for the chosen learner and for risk; and per 100 calls in the top
  half by the chosen learner, by risk and at random (the interval ``radar uplift``'s evidence
  line uses) beside the true effects of the same rows; and whether that truth agrees with
  what happened: each group's complaints beside the number the true probabilities expect;
- ``radar uplift``'s table of where a call helped (per group of the randomised rows, no
  model): whether each group's interval covers the group's true prevention, on the loop's
  own rows, and on the same rows randomised again ``--rerandomise`` times (the assignment
  redrawn as the lists drew it, each complaint from the row's true probability with or
  without a call), which measures the intervals' coverage over thousands of them; and
  ``radar uplift``'s gate on its own rows randomised again the same way: how often its
  paired interval covers the true difference between the two rankings, and how often it
  would have promoted the learnt one.

Over seeds: per seed the ratio prevented by the prevention ranking / by the risk ranking,
their mean with a 95 % t-interval, and the ratio of the totals; and what the list would have
been ranked by (``deployed``): the chosen learner where ``radar uplift``'s gate (the paired
interval over risk above zero on the learning days' latest third) promoted it, else risk.

Usage:
    .venv/bin/python benchmarks/uplift_loop.py [--seeds 7 8 9 10 11] [--jobs 2] [--days 30]
        [--customers 4000] [--capacity-fraction 0.1] [--rerandomise 100]
        [--outcome-multiples 4 16 64] [--append]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import append_result  # noqa: E402
from experiments.config import RadarConfig, load_config  # noqa: E402
from radar.outreach_loop import LoopResult, loop_config, run_outreach_loop  # noqa: E402
from serving.monitoring.learning import (  # noqa: E402
    choose_learner,
    effect_by_group,
    effect_groups,
    fitted_learner,
    learner_columns,
    prevented_per_100_calls,
    randomised_rows,
    rows_to_tell,
)
from serving.outreach.outcomes import call_notes  # noqa: E402
from serving.publication import (  # noqa: E402
    CONTACT,
    SNAPSHOT_FEATURES,
    published_days,
    read_list,
)
from training.uplift import (  # noqa: E402
    CALLS_MADE_WORSE,
    LEARNERS,
    RISK,
    UpliftModel,
    calls_made_worse,
    prevented_difference_interval,
    prevented_interval,
    prevention_score,
    row_weights,
)

RANKINGS = (
    "chosen",
    *LEARNERS,
    "modifiers_on_expected_outcomes",
    "risk",
    "random",
    "best_from_features",
    "truth",
)
OUTCOME_DRAWS = 3  # draws of the learning rows' outcomes again, per multiple
# What the list would have been ranked by: the chosen learner if the gate promoted it.
SHOWN = (*RANKINGS, "deployed")


def config_for(args: argparse.Namespace, seed: int, root: Path):
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
                update={"seed": seed, "days": 80, "truth_paths": 0}
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
            "outreach": base.outreach.model_copy(
                update={"explore_fraction": args.explore, "explore_depth": args.explore_depth}
            ),
        }
    )


def run_loop(
    seed: int, args: argparse.Namespace
) -> tuple[RadarConfig, LoopResult, pd.DataFrame, pd.DataFrame]:
    """One loop of ``args``' setting (in a workspace of its own, removed after): its
    configuration, the :class:`LoopResult`, its randomised rows and every customer its lists
    scored (:func:`every_scored`, with each customer's earlier calls that made things worse,
    as a list of the day would read them)."""
    with tempfile.TemporaryDirectory() as tmp:
        config = config_for(args, seed, Path(tmp))
        result = run_outreach_loop(config)
        published = published_days(loop_config(config).workspace.risk_lists_dir)
        rows = randomised_rows(result.history, published, loop_config(config))
        scored = every_scored(published)
        notes = call_notes(loop_config(config).outcomes_url())
        scored[CALLS_MADE_WORSE] = calls_made_worse(scored, notes, config.outreach.outcome_values)
        return config, result, rows, scored


def loop_arguments(parser: argparse.ArgumentParser, seeds: list[int]) -> None:
    """The loop's setting on the command line (what :func:`config_for` reads)."""
    parser.add_argument("--seeds", type=int, nargs="+", default=seeds)
    parser.add_argument("--jobs", type=int, default=2, help="loops run side by side")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--customers", type=int, default=4000)
    parser.add_argument("--capacity-fraction", type=float, default=0.1)
    parser.add_argument("--explore", type=float, default=0.5)
    parser.add_argument(
        "--explore-depth", type=int, default=None, help="explore the next N capacities only"
    )


def every_scored(published) -> pd.DataFrame:
    """Every customer each list scored: the snapshot's features, the list's probability and
    assignment (what a ranking of the whole day can be judged on)."""
    frames = []
    for day, folder in published:
        listed = read_list(folder)[["customer_id", "probability", "assignment"]]
        features = pd.read_parquet(folder / SNAPSHOT_FEATURES)
        frames.append(features.merge(listed, on="customer_id").assign(date=day))
    return pd.concat(frames, ignore_index=True)


def best_from_features(
    scored: pd.DataFrame, truth: pd.DataFrame, split, whole: pd.DataFrame
) -> np.ndarray:
    """What the columns a learner reads could at best say: a booster fitted to the true
    effect (never available to a learner) of every customer of every learning day, reading
    every numeric feature and the profile's categories, scoring the judged days' customers
    (expected prevention). Its ranking bounds what any learner on these columns can reach
    with this much history."""
    early = scored[scored["date"] < split].merge(
        truth[["date", "customer_id", "true_effect"]], on=["date", "customer_id"]
    )
    skip = ("true_effect", "customer_id", "date", "assignment")
    matrix = booster_matrix(early, [c for c in whole.columns if c in early and c not in skip])
    params = {"objective": "regression", "learning_rate": 0.05, "num_leaves": 15,
              "min_child_samples": 50, "seed": 0, "deterministic": True, "verbose": -1,
              "num_threads": 1}  # fmt: skip
    booster = lgb.train(params, lgb.Dataset(matrix(early), -early["true_effect"]), 300)
    return booster.predict(matrix(whole))


def booster_matrix(
    learnt_on: pd.DataFrame, names: list[str]
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """What gives a frame's ``names`` columns as a booster learnt on ``learnt_on`` reads
    them: each text column a category of the values ``learnt_on`` holds."""
    text = [c for c in names if not pd.api.types.is_numeric_dtype(learnt_on[c])]
    seen = {c: sorted(learnt_on[c].astype(str).unique()) for c in text}

    def matrix(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame[names].copy()
        for c in text:  # a category the learning days never saw: missing
            values = out[c].astype(str)
            out[c] = pd.Categorical(values.where(values.isin(seen[c])), categories=seen[c])
        return out

    return matrix


def one_loop(seed: int, args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    config, result, rows, scored = run_loop(seed, args)
    days = sorted(rows["date"].unique())
    split = days[len(days) * 2 // 3]
    learn, judged_rows = rows[rows["date"] < split], rows[rows["date"] >= split]
    values = config.outreach.outcome_values
    choice = choose_learner(learn, 0, values)
    models = {kind: fitted_learner(kind, learn, 0, values) for kind in LEARNERS}
    # The same learning rows with unlimited outcomes: each row's complaint replaced by its
    # true probability (held out: its true risk; contacted: with the call's true effect).
    truth = result.truth[["date", "customer_id", "true_effect", "true_risk"]]
    learn_truth = learn.merge(truth, on=["date", "customer_id"], how="left", validate="1:1")
    modifiers = learner_columns("modifiers", rows)

    def modifiers_on(frame: pd.DataFrame, complained: np.ndarray) -> UpliftModel:
        """The effect-modifiers learner on ``frame``'s rows with these outcomes."""
        model = UpliftModel(modifiers, seed=0, kind="modifiers")
        return model.fit(frame, frame["contacted"], complained, frame["chance"])

    on_expected = modifiers_on(
        learn, true_probability(learn_truth, learn_truth["contacted"].to_numpy(dtype=bool))
    )
    # The true counterfactual: every scored customer of each judged day.
    whole = scored[scored["date"].isin(judged_rows["date"].unique())].merge(
        result.truth[["date", "customer_id", "true_effect"]], on=["date", "customer_id"]
    )
    rng = np.random.default_rng(seed)
    risk = whole["probability"].to_numpy()
    scores = {
        kind: prevention_score(model.predict_effect(whole), risk) for kind, model in models.items()
    }
    scores |= {
        "chosen": scores[choice.kind],
        "modifiers_on_expected_outcomes": -on_expected.predict_effect(whole),
        "risk": whole["probability"].to_numpy(),
        "random": rng.random(len(whole)),
        "best_from_features": best_from_features(scored, result.truth, split, whole),
        "truth": -whole["true_effect"].to_numpy(),
    }
    prevented = {name: truly_prevented(whole, scores[name]) for name in RANKINGS}
    calls = int((whole["assignment"] == CONTACT).sum())
    # Between the loop's own outcomes and unlimited ones: K times the outcomes of the same
    # rows, each complaint drawn again K times from the row's true probability (a few draws
    # each, as one draw varies).
    needed = [*modifiers, RISK, "contacted", "chance", "true_risk", "true_effect"]
    draws = np.random.default_rng([seed, 27])
    more_outcomes = {}
    for times in args.outcome_multiples:
        stacked, outcomes = drawn_again(learn_truth[needed], times, OUTCOME_DRAWS, draws)
        more_outcomes[times] = [
            truly_prevented(whole, -modifiers_on(stacked, complained).predict_effect(whole))
            / prevented["risk"]
            for complained in outcomes
        ]
    # What the randomised rows alone say about the same two rankings.
    groups = [judged_rows[c].to_numpy() for c in ("contacted", "complained", "chance")]
    half = len(judged_rows) // 2
    chosen_rows = prevention_score(
        models[choice.kind].predict_effect(judged_rows), judged_rows["probability"]
    )
    estimated = {
        "chosen": prevented_interval(chosen_rows, *groups, half),
        "risk": prevented_interval(judged_rows["probability"].to_numpy(), *groups, half),
    }
    # How much a call does at all, over the whole loop: per 100 calls over every randomised
    # row, and the complaint rates of the top rows (assigned for sure: the day's highest
    # propensity) by group.
    day_top = rows.groupby("date")["propensity"].transform("max")
    top_rows = rows[np.isclose(rows["propensity"], day_top)]
    top_rates = top_rows.groupby("contacted")["complained"].mean()
    # radar uplift's gate, on the learning days' latest third: champion (the list ranked by
    # expected prevention) only when the paired interval over risk is above zero.
    late = choice.late
    gate = prevented_difference_interval(
        choice.scores[choice.kind],
        late["probability"].to_numpy(),
        *(late[c].to_numpy() for c in ("contacted", "complained", "chance")),
        choice.top,
    )
    promoted = gate[1] > 0
    late_groups = [late[c].to_numpy() for c in ("contacted", "complained", "chance")]
    by_risk_late = prevented_interval(late["probability"].to_numpy(), *late_groups, choice.top)
    gain = config.monitoring.uplift_gain_to_tell
    to_tell = rows_to_tell(gate, by_risk_late[0], gain)
    prevented["deployed"] = prevented["chosen" if promoted else "risk"]
    correlation = np.corrcoef(scores["chosen"], -whole["true_effect"].to_numpy())[0, 1]
    # radar uplift's table of where a call helped (per group of the randomised rows, no
    # model) against the truth of the same rows, weighted alike: on the loop's own rows,
    # and on the same rows randomised again many times.
    rows_truth = rows.merge(truth, on=["date", "customer_id"])
    covered = groups_covered(rows_truth, group_truths(rows_truth))
    against_truth = complaints_against_truth(rows_truth)
    judged_truth = judged_rows.merge(truth, on=["date", "customer_id"], how="left", validate="1:1")
    per_100_top_half = top_half_per_100_calls(
        judged_truth,
        {
            "chosen": chosen_rows,
            "risk": judged_truth["probability"].to_numpy(),
            "random": np.random.default_rng([seed, 26]).random(len(judged_truth)),
        },
    )
    again = rerandomised_coverage(rows_truth, args.rerandomise, seed)
    late_truth = late.merge(truth, on=["date", "customer_id"], how="left", validate="1:1")
    gate_again = rerandomised_gate(
        late_truth, choice.scores[choice.kind], choice.top, args.rerandomise, seed
    )
    return {
        "seed": seed,
        "learner": choice.kind,
        "judged_days": int(whole["date"].nunique()),
        "calls": calls,
        "learnt_on_rows": len(learn),
        "learnt_on_complaints": int(learn["complained"].sum()),
        "true_prevented": prevented,
        "more_outcomes": more_outcomes,
        "estimated_top_half": {k: list(v) for k, v in estimated.items()},
        "per_100_top_half": per_100_top_half,
        "complaints_against_truth": against_truth,
        "gate": list(gate),
        "promoted": bool(promoted),
        "rows_to_tell": to_tell,
        "per_100_calls": list(prevented_per_100_calls(rows)),
        "top_rates": [float(top_rates.get(False, np.nan)), float(top_rates.get(True, np.nan))],
        "gain": gain,
        "correlation": float(correlation),
        "groups_covered": [sum(covered), len(covered)],
        "groups_covered_rerandomised": again,
        "rerandomised": args.rerandomise,
        "gate_rerandomised": gate_again,
        "seconds": time.perf_counter() - started,
    }


def true_per_100_calls(rows: pd.DataFrame) -> float:
    """The complaints a call truly prevents per 100 calls over ``rows``: their true effects,
    weighted as :func:`prevented_per_100_calls` weights their outcomes (1 / ``chance``)."""
    weight = row_weights(rows["chance"].to_numpy())
    return float(np.average(-100 * rows["true_effect"].to_numpy(), weights=weight))


def truly_prevented(whole: pd.DataFrame, score: np.ndarray) -> float:
    """The complaints each judged day's calls (its ``contact`` group's size), taken from the
    top of ``score`` over every customer the day's list scored, truly prevent, summed."""
    total = 0.0
    for _, day in whole.groupby("date"):
        calls = int((day["assignment"] == CONTACT).sum())
        top = np.argsort(-score[day.index.to_numpy()], kind="stable")[:calls]
        total += float(-day["true_effect"].to_numpy()[top].sum())
    return total


def drawn_again(
    rows: pd.DataFrame, times: int, draws: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, list[np.ndarray]]:
    """``rows`` stacked ``times`` over, their assignment kept, and ``draws`` sets of the
    copies' complaints, each drawn again from the rows' true probabilities."""
    stacked = pd.concat([rows] * times, ignore_index=True)
    chances = np.tile(true_probability(rows, rows["contacted"].to_numpy(dtype=bool)), times)
    return stacked, [(rng.random(len(stacked)) < chances).astype(int) for _ in range(draws)]


def true_probability(rows: pd.DataFrame, contacted: np.ndarray) -> np.ndarray:
    """Each row's true 48-hour complaint probability, called (``contacted``) or not: its
    ``true_risk`` without a call, with the call's ``true_effect`` added where called."""
    with_call = rows["true_risk"].to_numpy() + rows["true_effect"].to_numpy()
    return np.where(contacted, np.clip(with_call, 0.0, 1.0), rows["true_risk"].to_numpy())


def complaints_against_truth(rows: pd.DataFrame) -> dict[str, list[float]]:
    """Each group's complaints beside the number the simulator's true probabilities expect
    (held out: the true risk; contacted: the risk with the call's true effect): whether the
    truth every other figure is judged by agrees with what happened."""
    contacted = rows["contacted"].to_numpy(dtype=bool)
    expected = true_probability(rows, contacted)
    complained = rows["complained"].to_numpy()
    return {
        group: [int(complained[inside].sum()), float(expected[inside].sum())]
        for group, inside in (("held_out", ~contacted), ("contacted", contacted))
    }


def group_truths(rows: pd.DataFrame) -> dict[tuple[str, str], float]:
    """Each of radar uplift's groups' true prevention per 100 calls (:func:`true_per_100_calls`
    of its rows)."""
    return {
        (modifier, str(value)): true_per_100_calls(rows[labels == value])
        for modifier, labels in effect_groups(rows).items()
        for value in set(labels)
    }


def top_half_per_100_calls(rows: pd.DataFrame, scores: dict[str, np.ndarray]) -> dict:
    """For each ranking: its top half of ``rows`` (the judged days' randomised rows), the
    complaints a call prevented there per 100 calls as the rows' outcomes estimate it (95 %)
    and as the simulator's true effects of the same rows say."""
    found = {}
    for name, score in scores.items():
        top = rows.iloc[np.argsort(-score, kind="stable")[: len(rows) // 2]]
        found[name] = {"estimated": list(prevented_per_100_calls(top)),
                       "true": true_per_100_calls(top)}  # fmt: skip
    return found


def groups_covered(rows: pd.DataFrame, truths: dict[tuple[str, str], float]) -> list[bool]:
    """Whether each group's interval in radar uplift's table of ``rows`` covers its truth."""
    return [
        bool(group.low <= truths[group.modifier, group.value] <= group.high)
        for group in effect_by_group(rows).dropna(subset=["per_100"]).itertuples()
    ]


def rerandomised(rows: pd.DataFrame, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(contacted, complained) of ``rows`` randomised again as the lists drew them: each
    day's rows of one propensity shuffled between contacted and held out (the counts kept),
    each complaint drawn from the row's true probability with or without a call."""
    strata = rows.groupby(["date", "propensity"]).ngroup().to_numpy()
    contacted = rows["contacted"].to_numpy(dtype=bool)
    shuffled = contacted.copy()
    for members in pd.Series(np.arange(len(rows))).groupby(strata).groups.values():
        shuffled[members] = rng.permutation(contacted[members])
    complained = rng.random(len(rows)) < true_probability(rows, shuffled)
    return shuffled, complained.astype(int)


def rerandomised_coverage(rows: pd.DataFrame, repeats: int, seed: int) -> list[int]:
    """[covered, intervals] of radar uplift's per-group intervals over ``repeats``
    re-randomisations of the same rows (:func:`rerandomised`), each against the group's
    truth: thousands of intervals where one loop gives two dozen."""
    rng = np.random.default_rng([seed, 24])
    truths = group_truths(rows)
    covered = []
    for _ in range(repeats):
        contacted, complained = rerandomised(rows, rng)
        covered += groups_covered(rows.assign(contacted=contacted, complained=complained), truths)
    return [sum(covered), len(covered)]


def rerandomised_gate(
    late: pd.DataFrame, score: np.ndarray, top: int, repeats: int, seed: int
) -> dict:
    """radar uplift's gate (the paired interval of what the top ``top`` rows by ``score``
    prevented beyond the top by risk) over ``repeats`` re-randomisations of its rows: the
    true difference (each top's true prevention, weighted as the estimate weights it), how
    often the interval covered it, and how often it would have promoted the ranking."""
    weight = row_weights(late["chance"].to_numpy())
    prevented_truly = -late["true_effect"].to_numpy()

    def true_prevented(ranking: np.ndarray) -> float:
        first = np.argsort(-ranking, kind="stable")[:top]
        return top * float(np.average(prevented_truly[first], weights=weight[first]))

    risk = late["probability"].to_numpy()
    truth = true_prevented(np.asarray(score)) - true_prevented(risk)
    rng = np.random.default_rng([seed, 25])
    covered = promoted = 0
    for _ in range(repeats):
        contacted, complained = rerandomised(late, rng)
        _, low, high = prevented_difference_interval(
            score, risk, contacted, complained, late["chance"].to_numpy(), top
        )
        covered += low <= truth <= high
        promoted += low > 0
    return {"true_difference": truth, "covered": covered, "promoted": promoted}


def t_interval(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95 % t-interval (two-sided) of a few per-seed values."""
    from scipy import stats

    mean = float(np.mean(values))
    if len(values) < 2:
        return mean, float("nan"), float("nan")
    half = stats.t.ppf(0.975, len(values) - 1) * np.std(values, ddof=1) / np.sqrt(len(values))
    return mean, mean - half, mean + half


def x_risk(loop: dict, name: str) -> float:
    """What a ranking truly prevented in one loop, as a multiple of the risk ranking's."""
    return loop["true_prevented"][name] / loop["true_prevented"]["risk"]


def more_outcomes_lines(loops: list[dict]) -> list[str]:
    """The effect-modifiers learner x risk as its learning rows' outcomes multiply, per loop
    (each the mean of its draws), from the loop's own complaints to unlimited outcomes."""

    steps = [("1 (the loop's own)", [x_risk(loop, "modifiers") for loop in loops])]
    steps += [
        (str(times), [float(np.mean(loop["more_outcomes"][times])) for loop in loops])
        for times in loops[0]["more_outcomes"]
    ]
    steps.append(("unlimited", [x_risk(loop, "modifiers_on_expected_outcomes") for loop in loops]))
    return [
        "",
        "the effect-modifiers learner x risk with more outcomes of the same learning rows "
        f"(each complaint drawn again from the row's true probability, mean of {OUTCOME_DRAWS} "
        "draws per loop):",
        "",
        "| times the outcomes | per loop | mean [95 % t] |",
        "|---|---|---|",
        *(
            f"| {name} | {', '.join(f'{v:.2f}' for v in values)} | "
            + "{:.2f} [{:.2f}, {:.2f}] |".format(*t_interval(np.array(values)))
            for name, values in steps
        ),
    ]


def summary(loops: list[dict]) -> str:
    total = {name: sum(loop["true_prevented"][name] for loop in loops) for name in SHOWN}
    calls = sum(loop["calls"] for loop in loops)
    ratios = np.array([x_risk(loop, "chosen") for loop in loops])
    mean, low, high = t_interval(ratios)
    again = np.sum([loop["groups_covered_rerandomised"] for loop in loops], axis=0)
    gates = [loop["gate_rerandomised"] for loop in loops]
    lines = [
        f"{len(loops)} loops (seeds {[loop['seed'] for loop in loops]}), "
        f"{loops[0]['judged_days']} judged days each, {calls} calls in all; "
        f"learnt on {np.mean([loop['learnt_on_rows'] for loop in loops]):.0f} randomised rows "
        f"({np.mean([loop['learnt_on_complaints'] for loop in loops]):.0f} complaints) per loop",
        "",
        "| ranking | truly prevented (simulator, all loops) | per 100 calls | x risk |",
        "|---|---|---|---|",
        *(
            f"| {name} | {total[name]:.1f} | {100 * total[name] / calls:.2f} "
            f"| {total[name] / total['risk']:.2f} |"
            for name in SHOWN
        ),
        "",
        f"prevention / risk per loop: {[round(float(r), 2) for r in ratios]}; "
        f"mean {mean:.2f} [95 % t-interval {low:.2f}, {high:.2f}]",
        *more_outcomes_lines(loops),
        "",
        "| seed | learner | chosen | risk | truth | estimated from randomised rows, top half: "
        "chosen vs risk [95 %] | gate: chosen - risk [95 %] | corr(expected, true) "
        f"| rows to tell {loops[0]['gain']:.0%} more than risk "
        "| all rows: prevented per 100 calls [95 %] | top rows complained: held out / contacted |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *(
            f"| {loop['seed']} | {loop['learner']} | {loop['true_prevented']['chosen']:.1f} "
            f"| {loop['true_prevented']['risk']:.1f} | {loop['true_prevented']['truth']:.1f} | "
            + " vs ".join(
                f"{e[0]:.1f} [{e[1]:.1f}, {e[2]:.1f}]"
                for e in (loop["estimated_top_half"][n] for n in ("chosen", "risk"))
            )
            + f" | {loop['gate'][0]:+.1f} [{loop['gate'][1]:+.1f}, {loop['gate'][2]:+.1f}]"
            + (" promoted" if loop["promoted"] else " kept risk")
            + f" | {loop['correlation']:.2f} | "
            + ("-" if loop["rows_to_tell"] is None else f"{loop['rows_to_tell']:.0f} x")
            + " | {:.2f} [{:.2f}, {:.2f}]".format(*loop["per_100_calls"])
            + " | {:.1%} / {:.1%} |".format(*loop["top_rates"])
            for loop in loops
        ),
        "",
        "Per 100 calls in each ranking's top half of the judged days' randomised rows, as the "
        "rows' outcomes estimate it [95 %] and as the simulator's true effects of the same rows "
        "say, per loop:",
        "",
        "| ranking | "
        + " | ".join(f"seed {loop['seed']}: estimated / true" for loop in loops)
        + " | mean estimated / true |",
        "|---|" + "---|" * (len(loops) + 1),
        *(
            f"| {name} | "
            + " | ".join(
                "{:.2f} [{:.2f}, {:.2f}] / ".format(*loop["per_100_top_half"][name]["estimated"])
                + f"{loop['per_100_top_half'][name]['true']:.2f}"
                for loop in loops
            )
            + f" | {np.mean([lp['per_100_top_half'][name]['estimated'][0] for lp in loops]):.2f}"
            + f" / {np.mean([lp['per_100_top_half'][name]['true'] for lp in loops]):.2f} |"
            for name in ("chosen", "risk", "random")
        ),
        "",
        "complaints of the randomised rows against the number the simulator's true "
        "probabilities expect (observed / expected), per loop: "
        + "; ".join(
            "held out {} / {:.1f}, contacted {} / {:.1f}".format(
                *loop["complaints_against_truth"]["held_out"],
                *loop["complaints_against_truth"]["contacted"],
            )
            for loop in loops
        )
        + "; all loops: held out {:.0f} / {:.1f}, contacted {:.0f} / {:.1f}".format(
            *np.sum([loop["complaints_against_truth"]["held_out"] for loop in loops], axis=0),
            *np.sum([loop["complaints_against_truth"]["contacted"] for loop in loops], axis=0),
        ),
        "",
        "radar uplift's table of where a call helped (each group's randomised rows, no model): "
        "95 % intervals covering the group's true prevention per 100 calls: "
        + ", ".join(f"{c} of {n}" for c, n in (loop["groups_covered"] for loop in loops))
        + " (all loops: {} of {})".format(
            *np.sum([loop["groups_covered"] for loop in loops], axis=0)
        ),
        *(
            [
                f"the same rows randomised again {loops[0]['rerandomised']} times per loop "
                "(assignment as the lists drew it, complaints from the true probabilities): "
                f"{again[0]} of {again[1]} intervals covered ({again[0] / again[1]:.1%})"
            ]
            if again[1]
            else []
        ),
        *(
            [
                "radar uplift's gate on its rows randomised again as often: true difference "
                "chosen - risk per loop "
                + ", ".join(f"{g['true_difference']:+.1f}" for g in gates)
                + "; its interval covered it "
                + ", ".join(str(g["covered"]) for g in gates)
                + " times; it promoted the ranking "
                + ", ".join(str(g["promoted"]) for g in gates)
                + f" times (of {loops[0]['rerandomised']} each)"
            ]
            if again[1]
            else []
        ),
        "",
        f"time per loop {np.mean([loop['seconds'] for loop in loops]):.0f} s",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    loop_arguments(parser, seeds=[7, 8, 9, 10, 11])
    parser.add_argument(
        "--rerandomise", type=int, default=100, help="draws of each loop's rows again (0: none)"
    )
    parser.add_argument(
        "--outcome-multiples",
        type=int,
        nargs="*",
        default=[4, 16, 64],
        help="the modifiers learner also on this many times the learning rows' outcomes",
    )
    parser.add_argument("--append", action="store_true", help="add the table to RESULTS.md")
    args = parser.parse_args()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        loops = list(pool.map(partial(one_loop, args=args), args.seeds))
    text = summary(loops)
    print(json.dumps(loops))
    print(text)
    if args.append:
        append_result(
            f"Whom a call helps: prevention vs risk ranking on the heterogeneous world, "
            f"{args.days} loop days, {args.customers} customers",
            text,
            f"explore {args.explore} (depth {args.explore_depth or 'all'}), capacity {args.capacity_fraction}, holdout 0.5",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
