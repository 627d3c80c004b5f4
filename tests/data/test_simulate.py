"""The synthetic world: reproducible, honours the contract, exports a real probability."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from data.load import load_history
from data.simulator import simulate_world
from experiments.config import ConfigError, load_config


def test_same_seed_same_files(tmp_path):
    a = simulate_world(tmp_path / "a", customers=60, days=20, seed=5, truth_paths=2)
    b = simulate_world(tmp_path / "b", customers=60, days=20, seed=5, truth_paths=2)
    simulate_world(tmp_path / "c", customers=60, days=20, seed=6, truth_paths=2)
    assert a["rows"] == b["rows"]
    for name in ("customers", "contacts", "complaints", "events", "incidents", "true_risk"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "a" / f"{name}.parquet"),
            pd.read_parquet(tmp_path / "b" / f"{name}.parquet"),
        )
    assert not pd.read_parquet(tmp_path / "a" / "contacts.parquet").equals(
        pd.read_parquet(tmp_path / "c" / "contacts.parquet")
    )


def test_world_loads_cleanly_and_looks_plausible(small_world):
    history, report = load_history(small_world)
    assert report.n_rejected == 0
    manifest = json.loads((small_world / "manifest.json").read_text())
    assert history.observed_until == pd.Timestamp(manifest["observed_until"])
    assert set(history.customers["segment"]) <= {"retail", "institutional", "high_net_worth"}
    assert (history.customers["segment"] == "retail").mean() > 0.6
    assert history.contacts["closed_at"].dropna().le(history.observed_until).all()
    assert len(history.complaints) > 20 and len(history.incidents) > 0
    risk = pd.read_parquet(small_world / "true_risk.parquet")
    assert risk["true_risk"].between(0, 1).all()
    assert 0.002 < risk["true_risk"].mean() < 0.05


def test_true_risk_is_informative_about_complaints(small_world):
    """Customer-days in the top decile of true risk complain far more often than the rest."""
    from features.labels import LabelRules, build_labels

    history, _ = load_history(small_world)
    risk = pd.read_parquet(small_world / "true_risk.parquet")
    risk = risk[risk["cutoff_at"] + pd.Timedelta(hours=48) <= history.observed_until]
    labels = build_labels(history, risk[["customer_id", "cutoff_at"]], LabelRules(48))
    top = risk["true_risk"].to_numpy() >= np.quantile(risk["true_risk"], 0.9)
    y = labels["label"].to_numpy()
    assert y[top].mean() > 3 * y[~top].mean()


def test_truth_days_limits_the_true_risk_and_leaves_the_world_unchanged(tmp_path):
    simulate_world(tmp_path / "all", customers=60, days=20, seed=5, truth_paths=2)
    simulate_world(tmp_path / "last", customers=60, days=20, seed=5, truth_paths=2, truth_days=5)
    for name in ("customers", "contacts", "complaints", "events", "incidents"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "all" / f"{name}.parquet"),
            pd.read_parquet(tmp_path / "last" / f"{name}.parquet"),
        )
    days = pd.read_parquet(tmp_path / "last" / "true_risk.parquet")["cutoff_at"].unique()
    all_days = pd.read_parquet(tmp_path / "all" / "true_risk.parquet")["cutoff_at"].unique()
    assert sorted(days) == sorted(all_days)[-5:]


def test_config_refuses_a_truth_window_shorter_than_the_test_period():
    with pytest.raises(ConfigError, match="truth_days"):
        load_config(simulation={"truth_days": 10}, split={"test_days": 28})
