"""`radar monitor` on the trained workspace: matured lists judged, drift against the model's
training reference, alerts."""

from __future__ import annotations

import json
from datetime import timedelta

import mlflow
import pandas as pd
import pytest

from experiments.config import OutreachConfig
from serving.batch.risk_list import score_day
from serving.monitoring.monitor import run_monitor
from serving.monitoring.report import REPORT_FILE
from serving.publication import SNAPSHOT_FEATURES

pytestmark = pytest.mark.slow


def test_matured_lists_are_judged_and_forged_drift_raises_an_alert(trained, workspace):
    _, config = workspace
    h, lists = trained["history"], config.workspace.risk_lists_dir
    end = h.observed_until.date()
    outreach = OutreachConfig(capacity_k=60, holdout_fraction=0.5, suppress_days=0)
    for back in (5, 4, 1):  # the last has not matured (nor has the fixture's list of `end`)
        score_day(
            h, trained["scorer"], end - timedelta(days=back), lists, config.labels, None, outreach
        )
    for folder in lists.glob("????-??-??"):  # the contact feed stopped, say
        snapshot = pd.read_parquet(folder / SNAPSHOT_FEATURES)
        snapshot["contacts_30d"] = 0.0
        snapshot.to_parquet(folder / SNAPSHOT_FEATURES)

    report = run_monitor(h, config)

    written = json.loads(config.workspace.monitoring_file.read_text())
    assert written == json.loads(json.dumps(report))
    page = (config.workspace.monitoring_dir / REPORT_FILE).read_text()
    assert "How the lists did" in page and page.count("data:image/png;base64,") == 3
    assert "contacts_30d drifted" in page
    runs = mlflow.search_runs(experiment_names=[config.registry.experiment + "-monitoring"])
    assert len(runs) == 1 and runs["metrics.alerts"].iloc[0] == len(report["alerts"])
    days = report["matured_days"]
    assert [d["date"] for d in days] == [(end - timedelta(days=b)).isoformat() for b in (5, 4)]
    pooled = report["pooled_at_capacity"]
    assert pooled["days"] == 2 and pooled["selected"] == 120
    assert pooled["hits"] == sum(d["hits_at_capacity"] for d in days)
    for d in days:
        assert d["selected"] == 60
        assert d["realized_precision_at_capacity"] == d["hits_at_capacity"] / 60
        assert 0 <= d["realized_precision_at_capacity"] <= 1
        assert 0 < d["expected_precision_at_capacity"] < 1
        assert d["contact_customers"] == d["holdout_customers"] == 30
    # No outreach happened in this world: the measured effect's interval covers zero.
    effect = report["outreach_effect"]
    assert effect["interval"][0] <= 0 <= effect["interval"][1]
    assert len(report["calibration"]) == 10
    assert set(report["feature_psi"]) == set(trained["scorer"].model.feature_names) - {
        "day_of_week"
    }
    assert report["score_psi"] is not None and report["score_psi"] >= 0
    assert report["drift_days"] == sorted(p.name for p in lists.glob("????-??-??"))
    drifted = {a["subject"] for a in report["alerts"] if a["kind"] == "feature_drift"}
    assert "contacts_30d" in drifted
    assert report["feature_psi"]["contacts_30d"] > 0.25
    assert "day_of_week" not in report["feature_psi"]  # one list is one weekday by design


def test_the_service_exposes_the_latest_report_as_gauges(workspace, monkeypatch):
    from prometheus_client import REGISTRY

    from tests.service.conftest import make_client

    ws, config = workspace
    report = {
        "pooled_at_capacity": {"realized_precision": 0.35, "expected_precision": 0.3},
        "outreach_effect": {"difference": -0.05},
        "feature_psi": {"contacts_30d": 0.4},
        "score_psi": 0.12,
        "alerts": [{"kind": "feature_drift"}],
    }
    config.workspace.monitoring_dir.mkdir(parents=True, exist_ok=True)
    config.workspace.monitoring_file.write_text(json.dumps(report))
    with make_client(ws, monkeypatch):
        value = REGISTRY.get_sample_value
        assert value("complaint_radar_monitor_alerts") == 1
        assert value("complaint_radar_monitor_score_psi") == 0.12
        assert value("complaint_radar_monitor_realized_precision_at_capacity") == pytest.approx(
            0.35
        )
        assert value("complaint_radar_monitor_outreach_effect") == -0.05
        assert value("complaint_radar_monitor_feature_psi", {"feature": "contacts_30d"}) == 0.4
