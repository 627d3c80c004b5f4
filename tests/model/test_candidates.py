"""Candidate models: the linear model's exact reasons and known directions, leaves that
scale with the positives, and a choice on validation that a few lucky positives cannot
sway."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.config import ConfigError, RadarConfig, SelectionConfig, load_config
from training.model import LinearRiskModel, RiskModel, load_model
from training.select import choose_model

NUMERIC = ["contacts_7d", "contacts_30d", "hours_since_last_contact", "tenure_days"]
FEATURES = [*NUMERIC, "segment"]


def customer_days(n_customers: int, days: int, seed: int, risk) -> pd.DataFrame:
    """A small assembled frame: train, validation and test days of ``n_customers``, with
    catalogue features and a label drawn from ``risk(frame)``."""
    rng = np.random.default_rng(seed)
    n = n_customers * days
    frame = pd.DataFrame(
        {
            "customer_id": np.repeat([f"c{i}" for i in range(n_customers)], days),
            "cutoff_at": np.tile(pd.date_range("2026-01-01", periods=days, tz="UTC"), n_customers),
            "contacts_7d": rng.poisson(1.0, n).astype(float),
            "contacts_30d": rng.poisson(4.0, n).astype(float),
            "hours_since_last_contact": np.where(
                rng.random(n) < 0.2, np.nan, rng.exponential(100, n)
            ),
            "tenure_days": rng.uniform(0, 400, n),
            "segment": rng.choice(["consumer", "small_business"], n),
        }
    )
    frame["label"] = (rng.random(n) < risk(frame)).astype(int)
    day = np.tile(np.arange(days), n_customers)
    frame["split"] = np.where(
        day < days // 2, "train", np.where(day < 3 * days // 4, "validation", "test")
    )
    frame["weight"] = 1.0
    return frame


def linear_risk(frame: pd.DataFrame) -> np.ndarray:
    logit = -3.0 + 0.6 * frame["contacts_7d"] + 0.5 * (frame["segment"] == "small_business")
    return 1 / (1 + np.exp(-logit))


@pytest.fixture(scope="module")
def linear() -> tuple[LinearRiskModel, pd.DataFrame]:
    frame = customer_days(300, 40, 1, linear_risk)
    train, val = frame[frame["split"] == "train"], frame[frame["split"] == "validation"]
    model = LinearRiskModel(FEATURES, c=1.0, seed=3).fit(
        train, train["label"].to_numpy(), val, val["label"].to_numpy()
    )
    return model, frame[frame["split"] == "test"].head(200)


def test_linear_reasons_are_exact_and_additive(linear):
    model, rows = linear
    contributions = model.explain(rows)
    assert contributions.shape == (len(rows), len(FEATURES) + 1)
    np.testing.assert_allclose(contributions.sum(axis=1), model.raw_score(rows), atol=1e-10)
    # Changing one feature moves its own contribution by exactly the change in log-odds.
    more = rows.assign(contacts_7d=rows["contacts_7d"] + 1)
    moved = model.explain(more) - contributions
    j = FEATURES.index("contacts_7d")
    np.testing.assert_allclose(
        moved[:, j], model.raw_score(more) - model.raw_score(rows), atol=1e-10
    )
    np.testing.assert_allclose(np.delete(moved, j, axis=1), 0.0, atol=1e-12)
    # The base value is the log-odds at the reference: the same for every row.
    assert np.ptp(contributions[:, -1]) == 0


def test_linear_model_learns_the_signal(linear):
    model, rows = linear
    j = FEATURES.index("contacts_7d")
    columns = [
        c for c, (what, owner, _) in enumerate(model.columns_) if owner == j and what == "value"
    ]
    assert model.coef_[columns[0]] > 0.3  # per standard deviation of the signed log
    busy = rows.assign(contacts_7d=8.0)
    assert model.predict_proba(busy).mean() > 2 * model.predict_proba(rows).mean()


def test_a_feature_against_its_known_direction_is_dropped():
    """contacts_7d may never lower the risk (catalogue: +1); data where it seems to must
    not teach the linear model otherwise."""

    def backwards(frame: pd.DataFrame) -> np.ndarray:
        return 1 / (1 + np.exp(3.0 + 0.8 * frame["contacts_7d"] - 0.01 * frame["tenure_days"]))

    frame = customer_days(300, 40, 2, backwards)
    train, val = frame[frame["split"] == "train"], frame[frame["split"] == "validation"]
    model = LinearRiskModel(FEATURES, c=1.0).fit(
        train, train["label"].to_numpy(), val, val["label"].to_numpy()
    )
    j = FEATURES.index("contacts_7d")
    assert np.all(model.coef_[model._owner_ == j] == 0)
    rows = frame.head(100)
    assert (
        model.predict_proba(rows.assign(contacts_7d=rows["contacts_7d"] + 3))
        >= model.predict_proba(rows) - 1e-12
    ).all()
    assert model.describe()["nonzero_features"] < len(FEATURES)


def test_a_saved_linear_model_loads_as_itself(linear, tmp_path):
    model, rows = linear
    model.save(tmp_path)
    again = load_model(tmp_path)
    assert isinstance(again, LinearRiskModel)
    np.testing.assert_array_equal(again.explain(rows), model.explain(rows))
    np.testing.assert_array_equal(again.predict_proba(rows), model.predict_proba(rows))


def test_leaves_grow_when_positives_are_few():
    settings = RadarConfig().model.model_copy(update={"min_positives_per_leaf": 5.0})
    model = RiskModel(FEATURES, settings)
    assert model.leaf_rows(rows=1_000_000, positives=10_000) == 500  # 5 * 100 rows per positive
    assert model.leaf_rows(rows=100_000, positives=20) == 25_000
    assert model.leaf_rows(rows=1_000, positives=1_000) == settings.min_child_samples  # never below
    assert RiskModel(FEATURES).leaf_rows(100_000, 20) == RadarConfig().model.min_child_samples


def test_the_simplest_candidate_wins_when_validation_cannot_tell():
    """Pure noise with a few dozen positives: whichever candidate scores best on validation
    is luck, so the first listed (the linear model) is chosen."""
    frame = customer_days(200, 40, 4, lambda f: np.full(len(f), 0.006))
    selection = choose_model(frame, RadarConfig())
    assert selection.chosen == "logistic_regression"
    assert selection.model.kind == "linear"
    rows = {r["name"]: r for r in selection.candidates}
    assert set(rows) == {"logistic_regression", "lightgbm_regularised", "lightgbm"}
    best = max(rows.values(), key=lambda r: r["validation_average_precision"])
    for row in rows.values():
        if row["name"] != best["name"]:
            assert row["best_minus_this_95"][0] <= 0  # not clearly below the best


def test_a_clearly_better_booster_wins():
    """Risk that rises and falls with tenure: no linear model can rank it, and with
    thousands of positives validation says so clearly."""

    def middle_tenure(frame: pd.DataFrame) -> np.ndarray:
        return np.where(frame["tenure_days"].between(150, 250), 0.3, 0.02)

    frame = customer_days(400, 40, 5, middle_tenure)
    selection = choose_model(frame, RadarConfig())
    assert selection.model.kind == "lightgbm"
    linear = next(r for r in selection.candidates if r["name"] == "logistic_regression")
    assert linear["best_minus_this_95"][0] > 0


def test_candidates_are_validated():
    with pytest.raises(ValueError, match="unknown settings"):
        SelectionConfig(candidates={"tree": {"num_leafs": 3}})
    with pytest.raises(ValueError, match="kind must be"):
        SelectionConfig(candidates={"forest": {"kind": "random_forest"}})
    with pytest.raises(ValueError, match="c must be positive"):
        SelectionConfig(candidates={"lr": {"kind": "linear", "c": 0}})


def test_a_candidate_list_in_yaml_is_typed(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("selection:\n  candidates:\n    small: {num_leaves: 2, learning_rate: 2}\n")
    with pytest.raises(ConfigError, match="learning_rate"):
        load_config(path)  # learning_rate must be at most 1: refused on load, not mid-training
