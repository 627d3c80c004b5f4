"""The uplift benchmark's re-randomisation: the same rows drawn again as the lists drew them,
so that an interval's coverage is measured over thousands of draws against a known truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.uplift_loop import (
    complaints_against_truth,
    drawn_again,
    group_truths,
    rerandomised,
    rerandomised_gate,
    top_half_per_100_calls,
    truly_prevented,
)


def loop_rows() -> pd.DataFrame:
    # Two days; on each, 4 top rows (propensity 1, chance 0.5 either way) and 6 explored ones
    # (propensity 0.1, chance 0.05). A call takes 0.2 off a 0.3 risk for the top rows only.
    day = pd.DataFrame({
        "propensity": [1.0] * 4 + [0.1] * 6,
        "contacted": [True, True, False, False, True, True, True, False, False, False],
        "true_risk": [0.3] * 4 + [0.1] * 6,
        "true_effect": [-0.2] * 4 + [0.0] * 6,
    })  # fmt: skip
    rows = pd.concat([day.assign(date="2024-05-01"), day.assign(date="2024-05-02")])
    return rows.assign(
        chance=rows["propensity"] * 0.5,
        probability=np.tile(np.linspace(0.9, 0.1, 10), 2),
        age_band=np.tile(["18-29"] * 5 + ["30-44"] * 5, 2),
    ).reset_index(drop=True)


def test_each_day_s_groups_keep_their_numbers_contacted_and_complaints_follow_the_truth():
    rows = loop_rows()
    rng = np.random.default_rng(0)
    draws = [rerandomised(rows, rng) for _ in range(1500)]
    strata = rows.groupby(["date", "propensity"]).ngroup().to_numpy()
    for contacted, _ in draws[:50]:
        kept = pd.Series(contacted).groupby(strata).sum()
        assert kept.tolist() == pd.Series(rows["contacted"]).groupby(strata).sum().tolist()
    contacted = np.array([c for c, _ in draws])
    complained = np.array([y for _, y in draws])
    assert 0.45 < contacted[:, 0].mean() < 0.55  # a top row is contacted half the time
    top = rows["propensity"].to_numpy() == 1
    # Contacted top rows complain at 0.1, held-out ones at 0.3, explored ones at 0.1.
    assert abs(complained[:, top][contacted[:, top]].mean() - 0.1) < 0.015
    assert abs(complained[:, top][~contacted[:, top]].mean() - 0.3) < 0.02
    assert abs(complained[:, ~top].mean() - 0.1) < 0.012


def test_a_group_s_truth_is_weighted_as_its_estimate_weighs_its_rows():
    truths = group_truths(loop_rows())
    # 18-29: 4 top rows (weight 2, 20 prevented per 100) and 1 explored (weight 20, 0).
    assert truths["age_band", "18-29"] == np.average([20] * 4 + [0], weights=[2] * 4 + [20])
    assert truths["age_band", "30-44"] == 0


def test_the_gate_s_truth_is_zero_between_rankings_that_pick_the_same_rows():
    rows = loop_rows()
    gate = rerandomised_gate(rows, rows["probability"].to_numpy(), 8, repeats=20, seed=0)
    assert gate["true_difference"] == 0
    assert gate["promoted"] == 0  # the same top, judged on the same rows: never better


def test_a_ranking_s_top_half_is_judged_on_its_own_rows_estimate_beside_truth():
    rows = loop_rows().assign(complained=[1, 0, 1, 1, 0, 0, 0, 0, 0, 0] * 2)
    found = top_half_per_100_calls(rows, {"risk": rows["probability"].to_numpy()})["risk"]
    # The top half by risk: each day's 4 top rows (weight 2, 20 truly prevented per 100 calls)
    # and its first explored one (weight 20, contacted, 0 prevented).
    assert found["true"] == np.average([20] * 8 + [0] * 2, weights=[2] * 8 + [20] * 2)
    estimate, low, high = found["estimated"]
    # Held out: 4 rows of weight 2, all complained; contacted: 2 x (1 of 2) of weight 2 plus
    # 2 quiet explored rows of weight 20: 4 / 48 complained.
    assert estimate == np.float64(100 * (1 - 4 / 48))
    assert low < estimate < high


def test_complaints_are_set_against_what_the_true_probabilities_expect():
    rows = loop_rows().assign(complained=[1, 0, 1, 1, 0, 0, 0, 0, 0, 0] * 2)
    found = complaints_against_truth(rows)
    # Held out: 2 top rows at 0.3 and 3 explored at 0.1 a day; contacted: 2 top rows at
    # 0.3 - 0.2 and 3 explored at 0.1 a day.
    assert found["held_out"] == [4, pytest.approx(2 * (2 * 0.3 + 3 * 0.1))]
    assert found["contacted"] == [2, pytest.approx(2 * (2 * 0.1 + 3 * 0.1))]


def test_each_day_s_calls_from_the_top_of_a_ranking_prevent_their_true_effects():
    rows = loop_rows().assign(assignment=np.tile(["contact"] * 3 + ["holdout"] * 7, 2))
    # Three calls a day: by the rows' probability the top three (0.2 prevented each); by its
    # reverse three explored rows (nothing); by the truth any three top rows.
    assert truly_prevented(rows, rows["probability"].to_numpy()) == pytest.approx(6 * 0.2)
    assert truly_prevented(rows, -rows["probability"].to_numpy()) == 0
    assert truly_prevented(rows, -rows["true_effect"].to_numpy()) == pytest.approx(1.2)


def test_outcomes_drawn_again_keep_the_assignment_and_follow_the_truth():
    rows = loop_rows()
    stacked, (complained, again) = drawn_again(rows, 400, 2, np.random.default_rng(1))
    assert len(stacked) == 400 * len(rows) and len(complained) == len(again) == len(stacked)
    assert (complained != again).any()  # each draw its own
    assert (stacked["contacted"].to_numpy() == np.tile(rows["contacted"], 400)).all()
    called, top = stacked["contacted"].to_numpy(bool), stacked["propensity"].to_numpy() == 1
    assert abs(complained[top & called].mean() - 0.1) < 0.02  # 0.3 with the call's -0.2
    assert abs(complained[top & ~called].mean() - 0.3) < 0.03
    assert abs(complained[~top].mean() - 0.1) < 0.015
