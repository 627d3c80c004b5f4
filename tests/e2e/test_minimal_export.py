"""An export with only the required columns (contacts: id, customer, start; complaints: id,
customer, filed) trains, registers and scores end to end: the model learns from the
features the data supports, and its reasons still read as sentences."""

from __future__ import annotations

import shutil

import pandas as pd

from data.load import load_history
from features.catalogue import available_features
from radar.cli import main
from serving.batch.risk_list import score_day
from serving.scorer import Scorer
from tests.conftest import small_config
from training.train import train


def test_only_the_required_columns_train_and_score(tmp_path, small_world):
    data = tmp_path / "export"
    data.mkdir()
    contacts = pd.read_parquet(small_world / "contacts.parquet")
    contacts[["contact_id", "customer_id", "started_at"]].to_parquet(data / "contacts.parquet")
    complaints = pd.read_parquet(small_world / "complaints.parquet")
    complaints[["complaint_id", "customer_id", "filed_at"]].to_parquet(data / "complaints.parquet")
    shutil.copy(small_world / "manifest.json", data / "manifest.json")
    config = small_config(tmp_path / "ws")

    result = train(config, data)
    if not result.promoted:  # the gate may keep a model of so little data out; promote by hand
        assert (
            main(["--workspace", str(tmp_path / "ws"), "promote", "--version", result.version]) == 0
        )
    history, _ = load_history(data)
    scorer = Scorer.from_registry(config)
    assert scorer.model.feature_names == list(available_features(history.absent))
    assert len(scorer.model.feature_names) == 11
    off = result.evaluation["unavailable_families"]
    assert {"sentiment", "waits", "payments", "incidents", "profile", "billing_cycle"} <= set(off)
    assert "contact_volume" not in off and "complaint_history" not in off
    assert "by_segment" in result.evaluation  # no segments: nothing to break down, no crash

    _, risk_list = score_day(
        history,
        scorer,
        history.observed_until.date(),
        config.workspace.risk_lists_dir,
        config.labels,
    )
    assert len(risk_list) and risk_list["probability"].between(0, 1).all()
    texts = [r for r in risk_list["reason_1"].dropna() if r]
    assert texts and all(isinstance(t, str) and len(t) > 10 for t in texts)
