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


def _incident_weeks(rng, weeks: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A feature most customers have at 0, except in the weeks a region's incident puts a
    third of them at a high value (what ``region_incident_exposure`` looks like)."""
    values, days = [], []
    for week in range(weeks):
        hit = week % 2 == 0  # an incident every other week
        x = np.where(rng.random(n) < (0.3 if hit else 0.0), rng.uniform(5, 9, n), 0.0)
        values.append(x)
        days.append(np.repeat(np.arange(week * 7, week * 7 + 7), n // 7 + 1)[:n])
    return np.concatenate(values), np.concatenate(days)


def test_a_rare_shared_event_moves_no_more_than_it_did_in_training_and_raises_no_alert():
    from experiments.config import MonitoringConfig
    from serving.monitoring.monitor import alerts
    from training.drift import window_psi

    rng = np.random.default_rng(0)
    values, days = _incident_weeks(rng, 12, 7000)
    reference = reference_of(values)
    usual = window_psi(reference, values, days)
    assert usual is not None and usual > 0.25  # a week with an incident: far above 0.25
    quiet_week = np.zeros(7000)  # no incident anywhere this week: as in half the training
    moved = psi(reference, quiet_week)
    assert moved > MonitoringConfig().feature_psi_alert  # the plain threshold would alert
    report = {"feature_psi": {"region_incident_exposure": moved}, "score_psi": None,
              "pooled_at_capacity": {"days": 0, "hits": 0, "expected_hits": 0.0},
              "feature_psi_usual": {"region_incident_exposure": usual}}  # fmt: skip
    assert [a for a in alerts(report, MonitoringConfig()) if a["kind"] == "feature_drift"] == []
    # Real drift, beyond anything the training weeks showed, still alerts.
    shifted = np.where(rng.random(7000) < 0.9, rng.uniform(5, 9, 7000), 0.0)
    report["feature_psi"]["region_incident_exposure"] = psi(reference, shifted)
    assert [a["subject"] for a in alerts(report, MonitoringConfig())] == [
        "region_incident_exposure"
    ]


def test_a_feature_that_never_moved_in_training_keeps_the_plain_threshold():
    from training.drift import window_psi

    rng = np.random.default_rng(1)
    values = rng.normal(size=70_000)
    days = np.repeat(np.arange(70), 1000)
    usual = window_psi(reference_of(values), values, days)
    assert usual is not None and usual < 0.05


def test_the_sliding_weeks_are_every_seven_consecutive_days_judged_on_their_own():
    from training.drift import MIN_WINDOW_ROWS, WINDOW_DAYS, window_psi

    rng = np.random.default_rng(2)
    values, days = _incident_weeks(rng, 5, 700)
    values = np.where(rng.random(values.size) < 0.05, np.nan, values)  # some missing
    weights = rng.uniform(0.5, 2.0, values.size)
    reference = reference_of(values, weights)
    every_window = [
        psi(reference, values[inside], weights[inside])
        for start in range(days.min(), days.max() - WINDOW_DAYS + 2)
        if (inside := (days >= start) & (days < start + WINDOW_DAYS)).sum() >= MIN_WINDOW_ROWS
    ]
    assert len(every_window) > 2
    assert window_psi(reference, values, days, weights) == pytest.approx(max(every_window))


def test_complaints_prevented_on_a_day_come_from_its_randomised_groups():
    from serving.monitoring.monitor import prevented

    day = {"contact_customers": 100, "contact_complaints": 2,
           "holdout_customers": 50, "holdout_complaints": 3}  # fmt: skip
    assert prevented(day) == pytest.approx(100 * (3 / 50 - 2 / 100))  # 4 prevented
    assert prevented({**day, "holdout_customers": 0}) is None
