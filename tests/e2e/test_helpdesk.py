"""A real log the project was not built on: the Helpdesk event log (a sample; see
tests/fixtures/helpdesk/ATTRIBUTION.md), imported by declared rules with only the
required columns, trained with the periods of experiments/helpdesk.yaml and scored."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from radar.cli import main

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "fixtures" / "helpdesk" / "helpdesk_sample.csv.gz"
IMPORT = [
    "import-log",
    "--log",
    str(SAMPLE),
    "--case",
    "Case ID",
    "--customer",
    "customer",
    "--activity",
    "Activity",
    "--time",
    "Complete Timestamp",
    "--time-format",
    "%Y/%m/%d %H:%M:%S.%f",
    "--time-zone",
    "Europe/Rome",
    "--complaint-activity",
    "Require upgrade",
    "--complaint-activity",
    "Create SW anomaly",
]


def test_the_helpdesk_log_imports_trains_and_scores(tmp_path):
    data, ws = tmp_path / "helpdesk", tmp_path / "ws"
    config = ["--config", str(ROOT / "experiments" / "helpdesk.yaml"), "--workspace", str(ws)]
    assert main([*IMPORT, "--out", str(data)]) == 0
    contacts = pd.read_parquet(data / "contacts.parquet")
    complaints = pd.read_parquet(data / "complaints.parquet")
    assert list(contacts.columns) == ["contact_id", "customer_id", "started_at"]
    assert len(contacts) == 2305 and contacts["customer_id"].nunique() == 120
    assert list(complaints.columns) == ["complaint_id", "customer_id", "filed_at"]
    assert complaints["complaint_id"].isin(contacts["contact_id"]).all()  # escalated cases

    check = tmp_path / "check.json"
    main([*config, "check", "--data", str(data), "--json", str(check)])
    families = json.loads(check.read_text())["families"]
    assert [f for f, status in families.items() if status == "ok"] == [
        "contact_volume",
        "complaint_history",
        "tenure",
    ]

    assert main([*config, "train", "--data", str(data)]) == 0
    evaluation = json.loads((ws / "evaluation.json").read_text())
    assert "sentiment" in evaluation["unavailable_families"]
    # 11 features carry information; the look-back (the 30-day warm-up) leaves out the
    # three whose windows are longer: training days could not see them as scored days do.
    assert evaluation["beyond_lookback"] == ["contacts_90d", "complaints_90d", "complaints_365d"]
    assert evaluation["features"] == 8
    for peer in ("rule_frequent_contact", "rule_prior_complaints", "logistic_regression"):
        assert "average_precision" in evaluation[peer]["model_minus_this_95"]
    positives = evaluation["positives_by_period"]
    assert positives["train"] > 0 and positives["test"] > 0

    if not evaluation["promoted_to_champion"]:  # the gate may keep a weak model out
        assert main([*config, "promote", "--version", evaluation["version"]]) == 0
    day = str(
        pd.Timestamp(json.loads((data / "manifest.json").read_text())["observed_until"]).date()
    )
    assert main([*config, "score", "--data", str(data), "--date", day]) == 0
    latest = json.loads((ws / "risk_lists" / "latest.json").read_text())
    listed = pd.read_csv(ws / "risk_lists" / latest["path"] / "risk_list.csv")
    assert len(listed) and listed["probability"].between(0, 1).all()
