"""Negative sampling before features: which rows stay, and the weights that undo it."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.config import SamplingConfig
from training.dataset import sample_rows

SAMPLING = SamplingConfig(train_negative_rate=0.1, validation_negative_rate=0.25, seed=3)


@pytest.mark.parametrize(("split", "rate"), [("train", 0.1), ("validation", 0.25)])
def test_negatives_are_sampled_and_weighted_back(split, rate):
    rng = np.random.default_rng(0)
    label = (rng.random(40000) < 0.05).astype(int)
    keep, weight = sample_rows(label, split, SAMPLING, rng)
    assert keep[label == 1].all() and (weight[label[keep] == 1] == 1).all()
    assert set(weight[label[keep] == 0]) == {1 / rate}
    # Weighted counts estimate the full counts without bias (10 % is over 6 standard errors).
    assert weight[label[keep] == 0].sum() == pytest.approx((label == 0).sum(), rel=0.1)


def test_the_test_period_is_never_sampled_by_row():
    label = np.zeros(1000, dtype=int)
    keep, weight = sample_rows(label, "test", SAMPLING, np.random.default_rng(0))
    assert keep.all() and (weight == 1).all()


def test_the_same_seed_keeps_the_same_rows():
    label = np.zeros(500, dtype=int)
    first = sample_rows(label, "train", SAMPLING, np.random.default_rng(7))[0]
    assert (first == sample_rows(label, "train", SAMPLING, np.random.default_rng(7))[0]).all()
