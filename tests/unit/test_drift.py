"""Population stability against a training reference, and the intervals of the monitor."""

from __future__ import annotations

import numpy as np
import pytest

from serving.monitoring.monitor import wilson
from training.drift import psi, reference_of


def test_the_same_population_is_stable_and_a_shifted_one_is_not():
    rng = np.random.default_rng(0)
    reference = reference_of(rng.gamma(2.0, 3.0, 50_000))
    assert len(reference["edges"]) == 9 and len(reference["shares"]) == 11  # deciles + missing
    assert psi(reference, rng.gamma(2.0, 3.0, 20_000)) < 0.01
    assert psi(reference, rng.gamma(2.0, 3.0, 20_000) * 1.6) > 0.25


def test_few_levels_are_bins_of_their_own_and_missing_counts():
    flags = np.array([0.0] * 90 + [1.0] * 10)
    reference = reference_of(flags)
    assert reference["levels"] == [0.0, 1.0]
    assert reference["shares"] == pytest.approx([0.9, 0.1, 0.0])
    assert psi(reference, flags) == pytest.approx(0.0)
    half_missing = np.where(np.arange(100) % 2 == 0, np.nan, flags)
    assert psi(reference, half_missing) > 1.0


def test_weights_restore_the_natural_prior():
    values = np.array([1.0] * 10 + [0.0] * 10)
    weights = np.array([1.0] * 10 + [9.0] * 10)  # negatives kept at one in nine
    assert reference_of(values, weights)["shares"] == pytest.approx([0.9, 0.1, 0.0])


def test_wilson_interval_matches_known_values():
    low, high = wilson(0, 10)
    assert low == pytest.approx(0.0, abs=1e-12) and high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson(5, 10)
    assert (low, high) == pytest.approx((0.2366, 0.7634), abs=1e-4)
