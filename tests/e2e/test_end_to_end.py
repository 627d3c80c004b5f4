"""The whole path on a small world: simulate -> train -> register -> score -> serve."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from data.fileio import atomic_directory
from radar.cli import main

pytestmark = pytest.mark.slow

EVALUATION_KEYS = {
    "model",
    "rule_frequent_contact",
    "oracle",
    "capacity",
    "positive_rate",
    "n_test_rows",
    "registered_model",
    "version",
}
SCORER_METRICS = {"roc_auc", "average_precision", "precision_at_capacity", "brier"}


def test_reasons_add_up_with_the_base_value_to_the_raw_score(trained):
    scorer = trained["scorer"]
    snapshot = pd.read_parquet(trained["list_dir"] / "features_snapshot.parquet")
    snapshot = snapshot[snapshot["eligible"]].reset_index(drop=True)
    groups = scorer.group_contributions(snapshot)
    scored = scorer.score(snapshot)
    np.testing.assert_allclose(groups.sum(axis=1), scored["raw_score"], atol=1e-9)
    np.testing.assert_allclose(
        scored["probability"], scorer.model.calibrate(scored["raw_score"].to_numpy()), atol=1e-12
    )
    for i, reasons in enumerate(scored["reasons"].head(50)):
        shown = [r.contribution for r in reasons]
        assert shown == sorted(shown, reverse=True) and all(c > 0 for c in shown)
        for r in reasons:
            assert r.contribution == pytest.approx(groups.loc[i, r.code], abs=1e-12)


def test_the_daily_list_is_ranked_complete_and_readable(trained):
    risk_list, list_dir = trained["risk_list"], trained["list_dir"]
    snapshot = pd.read_parquet(list_dir / "features_snapshot.parquet")
    assert risk_list["rank"].tolist() == list(range(1, len(risk_list) + 1))
    assert risk_list["probability"].is_monotonic_decreasing
    assert set(risk_list["customer_id"]) == set(snapshot.loc[snapshot["eligible"], "customer_id"])
    assert (risk_list["model_version"] == trained["result"].version).all()
    csv = pd.read_csv(list_dir / "risk_list.csv")
    assert list(csv["customer_id"]) == list(risk_list["customer_id"])
    assert {"reason_1", "reason_2", "reason_3", "suggested_action", "risk_tier"} <= set(csv.columns)
    html = (list_dir / "risk_list.html").read_text()
    assert risk_list["customer_id"].iloc[0] in html and "<table>" in html


def test_evaluation_has_the_promised_shape(trained):
    evaluation = trained["result"].evaluation
    assert set(evaluation) >= EVALUATION_KEYS
    for scorer in ("model", "rule_frequent_contact", "oracle"):
        assert set(evaluation[scorer]) >= SCORER_METRICS
    assert evaluation["model"]["roc_auc"] > evaluation["rule_frequent_contact"]["roc_auc"]
    assert (
        evaluation["oracle"]["average_precision"]
        > evaluation["rule_frequent_contact"]["average_precision"]
    )
    low, high = evaluation["model"]["intervals_95"]["average_precision"]
    assert low <= evaluation["model"]["average_precision"] <= high
    paired = evaluation["logistic_regression"]["model_minus_this_95"]["average_precision"]
    assert paired[0] <= paired[1] and "model_minus_this_95" not in evaluation["model"]
    assert {"retail"} <= set(evaluation["by_segment"])
    on_disk = json.loads(trained["result"].evaluation_path.read_text())
    assert on_disk["version"] == evaluation["version"]
    report = (trained["root"] / "evaluation.html").read_text()
    assert "logistic_regression" in report and report.count("<img") == 5


def test_cli_pipeline_and_champion_only_moves_when_beaten(tmp_path, small_world):
    workspace = tmp_path / "ws"
    config = tmp_path / "experiment.yaml"
    settings = {
        "split": {"warmup_days": 14, "validation_days": 14, "test_days": 14, "gap_hours": 48},
        "model": {"n_estimators": 120, "min_child_samples": 40},
        "evaluation": {"bootstrap_samples": 0},
    }
    config.write_text(yaml.safe_dump(settings))
    base = ["--config", str(config), "--workspace", str(workspace)]
    assert main([*base, "train", "--data", str(small_world)]) == 0
    first = json.loads((workspace / "evaluation.json").read_text())
    assert first["version"] == "1" and first["promoted_to_champion"]

    # A deliberately weak model (a single tiny tree) must not take the champion's place.
    settings["model"] = {
        "n_estimators": 1,
        "num_leaves": 2,
        "max_depth": 1,
        "min_child_samples": 40,
        "monotone_constraints": False,
    }
    config.write_text(yaml.safe_dump(settings))
    assert main([*base, "train", "--data", str(small_world)]) == 0
    second = json.loads((workspace / "evaluation.json").read_text())
    assert second["version"] == "2" and not second["promoted_to_champion"]
    assert second["champion_comparison"]["champion_version"] == "1"

    # `radar evaluate` judges the champion (not the newest version) on the same data.
    assert main([*base, "evaluate", "--data", str(small_world)]) == 0
    judged = json.loads((workspace / "evaluations" / "v1" / "evaluation.json").read_text())
    assert judged["version"] == "1"
    assert judged["model"]["average_precision"] == pytest.approx(
        first["model"]["average_precision"]
    )

    out = tmp_path / "lists"
    assert main([*base, "score", "--data", str(small_world), "--out", str(out)]) == 0
    latest = json.loads((out / "latest.json").read_text())
    scored = pd.read_parquet(out / latest["path"] / "risk_list.parquet")
    assert (scored["model_version"] == "1").all()  # the champion, not the newest version


def test_bad_config_key_is_rejected(tmp_path, caplog):
    config = tmp_path / "typo.yaml"
    config.write_text("model:\n  num_leafs: 31\n")
    assert main(["--config", str(config), "train", "--data", str(tmp_path)]) == 2
    assert "num_leafs" in caplog.text and "Extra inputs are not permitted" in caplog.text


def test_a_failed_run_leaves_the_previous_output(tmp_path):
    target = tmp_path / "out"
    with atomic_directory(target) as staging:
        (staging / "list.csv").write_text("good")
    with pytest.raises(RuntimeError), atomic_directory(target) as staging:
        (staging / "list.csv").write_text("half")
        raise RuntimeError("scoring crashed")
    assert (target / "list.csv").read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging debris


@pytest.mark.slow
def test_reasons_for_the_capacity_and_the_medium_tier_only(trained, tmp_path):
    """A large list explains only where someone will act; every probability is unchanged."""
    from experiments.config import EvaluationConfig
    from serving.batch.risk_list import score_day

    full = trained["risk_list"]
    day = pd.Timestamp(full["cutoff_at"].iloc[0]).date()
    capacity = EvaluationConfig(capacity_k=5)
    _, lean = score_day(
        trained["history"], trained["scorer"], day, tmp_path, trained["config"].labels, capacity
    )
    # Same customers, same probabilities (rows of equal probability may swap places).
    both = lean.merge(full, on="customer_id", suffixes=("", "_full"), validate="1:1")
    assert len(both) == len(full)
    assert np.allclose(both["probability"], both["probability_full"], atol=1e-9)
    explained = both["reason_codes"] != ""
    medium = trained["config"].serving.medium_tier
    must = (both["rank"] <= 5) | (both["probability"] >= medium)
    assert (explained <= must).all()  # nobody else is explained
    assert (explained == (must & (both["reason_codes_full"] != ""))).all()
    assert (both.loc[explained, "reason_codes"] == both.loc[explained, "reason_codes_full"]).all()
