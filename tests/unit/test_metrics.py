"""Evaluation metrics on hand-checkable inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.config import EvaluationConfig
from training.metrics import (
    bootstrap_intervals,
    daily_capacity,
    expected_calibration_error,
    lift,
    paired_differences,
    score_metrics,
)


def test_daily_capacity_rounds_up_and_respects_an_absolute_k():
    assert daily_capacity(250, 0.01, None) == 3
    assert daily_capacity(50, 0.01, None) == 1
    assert daily_capacity(50, 0.01, 80) == 50


def test_precision_at_capacity_is_averaged_over_days():
    # Two days of 100 rows, capacity 1 % -> the top 1 each day. Day 1 hit, day 2 miss.
    day = np.repeat(["d1", "d2"], 100)
    label = np.zeros(200, dtype=int)
    score = np.linspace(0, 1, 200)
    label[99] = 1  # day 1's top score is a positive
    label[150] = 1  # day 2's positive is not its top
    m = score_metrics(day, label, score, np.full(200, 0.01), EvaluationConfig(bootstrap_samples=0))
    assert m["precision_at_capacity"] == pytest.approx(0.5)
    assert m["recall_at_capacity"] == pytest.approx(0.5)


def test_ties_do_not_flatter_a_coarse_score():
    day = np.repeat(["d1"], 100)
    label = np.zeros(100, dtype=int)
    label[0] = (
        1  # the positive comes first in row order; a constant score must not find it reliably
    )
    hits = [
        score_metrics(
            day, label, np.zeros(100), np.full(100, 0.01), EvaluationConfig(bootstrap_samples=0)
        )["precision_at_capacity"]
    ]
    assert hits == [0.0]


def test_ece_is_zero_when_calibrated_and_large_when_not():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 0.2, 200_000)
    y = (rng.random(p.size) < p).astype(int)
    assert expected_calibration_error(y, p) < 0.003
    assert expected_calibration_error(y, np.clip(p * 3, 0, 1)) > 0.1


def test_lift_of_a_perfect_ranking():
    label = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    assert lift(label, np.arange(10)[::-1].astype(float), 0.2) == pytest.approx(5.0)
    assert lift(label, np.arange(10).astype(float), 0.2) == 0.0


def test_paired_intervals_compare_scorers_on_the_same_resampled_days():
    rng = np.random.default_rng(0)
    n_days, per_day = 20, 200
    day = np.repeat(np.arange(n_days), per_day)
    signal = rng.normal(size=day.size)
    label = (rng.random(day.size) < 1 / (1 + np.exp(-(signal * 2 - 4)))).astype(int)
    scores = {"model": signal, "same": signal.copy(), "noise": rng.normal(size=day.size)}
    ev = EvaluationConfig(bootstrap_samples=50)
    intervals, differences = bootstrap_intervals(day, label, scores, ev, seed=1)
    assert set(intervals) == set(scores)
    assert differences["same"]["average_precision"] == [0.0, 0.0]
    assert differences["noise"]["average_precision"][0] > 0  # clearly better than noise
    assert intervals["noise"]["average_precision"][1] < intervals["model"]["average_precision"][0]
    evaluation = {"model": {}, "logistic_regression": {"model_minus_this_95": differences["noise"]}}
    verdicts = {m: v for _, m, _, _, v in paired_differences(evaluation)}
    assert verdicts["average_precision"] == "model better"


@pytest.mark.parametrize("ties", [False, True])
def test_resampled_ranking_metrics_equal_scikit_learns_on_the_concatenated_days(ties):
    from sklearn.metrics import average_precision_score, roc_auc_score

    from training.metrics import RankedScores

    rng = np.random.default_rng(4)
    day = rng.integers(0, 20, 5000)
    label = (rng.random(5000) < 0.05).astype(int)
    score = rng.random(5000) + 0.4 * label
    if ties:  # coarse scores, like a contact count
        score = np.round(score * 4) / 4
    ranked = RankedScores(score, label)
    for _ in range(5):
        pick = rng.integers(0, 20, 20)
        rows = np.concatenate([np.flatnonzero(day == d) for d in pick])
        ap, auc = ranked.metrics(np.bincount(pick, minlength=20).astype(float)[day])
        assert ap == pytest.approx(average_precision_score(label[rows], score[rows]), abs=1e-12)
        assert auc == pytest.approx(roc_auc_score(label[rows], score[rows]), abs=1e-12)


def test_periods_below_the_fewest_positives_are_named_plainly():
    from training.evaluate import period_sizes

    frame = pd.DataFrame(
        {
            "split": ["train"] * 5 + ["validation"] * 4 + ["test"] * 3,
            "label": [*(1, 1, 1, 0, 0), *(1, 1, 0, 0), *(1, 0, 0)],  # train, validation, test
        }
    )
    sizes = period_sizes(frame, min_positives=2)
    assert sizes["positives_by_period"] == {"train": 3, "validation": 2, "test": 1}
    (warning,) = sizes["too_few_positives"]  # 2 is enough; 1 is not
    assert warning.startswith("the test period has only 1 positive customer-days")
    assert "cannot tell the model from the peers" in warning
    assert period_sizes(frame, min_positives=1)["too_few_positives"] == []
