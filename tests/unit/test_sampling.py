"""Negative sampling before features: which rows stay, and the weights that undo it."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.config import SamplingConfig
from training.dataset import sample_rows


def test_positives_and_the_test_period_are_never_sampled():
    rng = np.random.default_rng(0)
    which = np.array(["train"] * 40000 + ["validation"] * 40000 + ["test"] * 2000)
    label = (rng.random(len(which)) < 0.05).astype(int)
    sampling = SamplingConfig(train_negative_rate=0.1, validation_negative_rate=0.25, seed=3)
    keep, weight = sample_rows(label, which, sampling)
    assert keep[label == 1].all() and keep[which == "test"].all()
    kept_which, kept_label = which[keep], label[keep]
    assert (weight[kept_label == 1] == 1).all() and (weight[kept_which == "test"] == 1).all()
    assert set(weight[(kept_which == "train") & (kept_label == 0)]) == {10.0}
    assert set(weight[(kept_which == "validation") & (kept_label == 0)]) == {4.0}
    # Weighted counts estimate the full counts without bias (10 % is over 6 standard errors).
    for split in ("train", "validation"):
        full = ((which == split) & (label == 0)).sum()
        estimate = weight[(kept_which == split) & (kept_label == 0)].sum()
        assert estimate == pytest.approx(full, rel=0.1)


def test_the_same_seed_keeps_the_same_rows():
    which, label = np.array(["train"] * 500), np.zeros(500, dtype=int)
    sampling = SamplingConfig(train_negative_rate=0.3, seed=7)
    assert (sample_rows(label, which, sampling)[0] == sample_rows(label, which, sampling)[0]).all()
