"""Alerts that mean something: on a world whose process never changes, `radar monitor`
raises no drift alert; on the same world with a drift injected (80 % of contacts move to
the app from a given day), it raises the contact-channel features' alert once the lists it
pools come from after the shift."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from radar.cli import main

pytestmark = pytest.mark.slow

DAYS, SHIFT = 84, 52  # the shift after the training period ends (about day 50)


def monitored(tmp_path, name: str, shift: int | None) -> dict:
    world, ws = tmp_path / name / "world", tmp_path / name / "ws"
    simulate = ["simulate", "--out", str(world), "--customers", "2500", "--days", str(DAYS)]
    simulate += ["--seed", "5", "--no-truth"]
    if shift is not None:
        simulate += ["--channel-shift-day", str(shift)]
    base = ["--workspace", str(ws), "--config", str(config_file(tmp_path))]
    assert main([*base, *simulate]) == 0
    assert main([*base, "train", "--data", str(world)]) == 0
    end = date(2026, 1, 1) + timedelta(days=DAYS)
    for back in range(9, 1, -1):  # eight lists, the last one's 48 hours inside the data
        assert (
            main([*base, "score", "--data", str(world), "--date", str(end - timedelta(days=back))])
            == 0
        )
    assert main([*base, "monitor", "--data", str(world)]) == 0
    return json.loads((ws / "monitoring" / "monitoring.json").read_text())


def config_file(tmp_path):
    path = tmp_path / "short.yaml"
    path.write_text(
        "split: {warmup_days: 14, validation_days: 14, test_days: 14, gap_hours: 48}\n"
        "model: {n_estimators: 150, early_stopping_rounds: 30, min_child_samples: 40}\n"
        "evaluation: {bootstrap_samples: 20}\n"
    )
    return path


def test_no_drift_alert_on_an_unchanging_world_and_one_on_an_injected_drift(tmp_path):
    steady = monitored(tmp_path, "steady", None)
    assert [a for a in steady["alerts"] if a["kind"].endswith("drift")] == []
    drifted = monitored(tmp_path, "drifted", SHIFT)
    subjects = {a["subject"] for a in drifted["alerts"] if a["kind"] == "feature_drift"}
    psi = sorted(drifted["feature_psi"].items(), key=lambda kv: -kv[1])[:5]
    # The channels moved, and with them what depends on the channel (waits differ by it).
    assert any("channel" in s for s in subjects), (drifted["alerts"], psi)
    assert all("channel" in s or "wait" in s for s in subjects), (drifted["alerts"], psi)
