"""Real logs the project was not built on, each read by its mapping alone (the files as
published, renamed and queried by benchmarks/real_data/<log>/mapping.yaml), checked,
trained with the log's periods and scored: the Helpdesk event log and an IT service desk's
incident log (samples; see tests/fixtures/*/ATTRIBUTION.md)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from data.load import load_history
from experiments.config import DataConfig
from radar.cli import main

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
LOGS = ROOT / "benchmarks" / "real_data"
IMPORT = [
    "import-log",
    "--log",
    str(FIXTURES / "helpdesk" / "helpdesk_sample.csv.gz"),
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


def published(tmp_path: Path, log: str, fixture: str) -> Path:
    """A folder holding the log's sample file alone, as a team would receive it."""
    folder = tmp_path / log
    folder.mkdir()
    shutil.copy(FIXTURES / log / fixture, folder / fixture)
    return folder


def commands(log: str, ws: Path) -> tuple[list[str], list[str]]:
    common = ["--config", str(LOGS / log / "config.yaml"), "--workspace", str(ws)]
    return common, ["--mapping", str(LOGS / log / "mapping.yaml")]


def test_the_helpdesk_log_reads_through_its_mapping_trains_and_scores(tmp_path):
    data = published(tmp_path, "helpdesk", "helpdesk_sample.csv.gz")
    common, mapping = commands("helpdesk", tmp_path / "ws")
    # The mapping's queries read what `radar import-log` makes of the log by its rules.
    assert main([*IMPORT, "--out", str(tmp_path / "imported")]) == 0
    mapped, _ = load_history(data, limits=DataConfig(mapping=Path(mapping[1])))
    imported, _ = load_history(tmp_path / "imported")
    for table, key in (("contacts", "contact_id"), ("complaints", "complaint_id")):
        a = getattr(mapped, table).sort_values(key).reset_index(drop=True)
        b = getattr(imported, table).sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b)
    assert len(mapped.contacts) == 2305 and mapped.contacts["customer_id"].nunique() == 120

    check = tmp_path / "check.json"
    main([*common, "check", "--data", str(data), *mapping, "--json", str(check)])
    report = json.loads(check.read_text())
    ok = [f for f, status in report["families"].items() if status == "ok"]
    assert ok == ["contact_volume", "complaint_history", "tenure"]
    # No resolution times: complaints are open for a bounded time, and say what that costs.
    assert report["periods"]["open_complaint_days"] == 7.0
    assert report["periods"]["test"]["removed_open_complaint_customer_days"] > 0

    assert main([*common, "train", "--data", str(data), *mapping]) == 0
    evaluation = json.loads((tmp_path / "ws" / "evaluation.json").read_text())
    assert "sentiment" in evaluation["unavailable_families"]
    assert evaluation["features"] == 11
    for peer in ("rule_frequent_contact", "rule_prior_complaints", "logistic_regression"):
        assert "average_precision" in evaluation[peer]["model_minus_this_95"]
    assert evaluation["eligibility"]["test"] == {
        k: report["periods"]["test"][k] for k in evaluation["eligibility"]["test"]
    }

    if not evaluation["promoted_to_champion"]:  # the gate may keep a weak model out
        assert main([*common, "promote", "--version", evaluation["version"]]) == 0
    assert main([*common, "score", "--data", str(data), *mapping]) == 0
    latest = json.loads((tmp_path / "ws" / "risk_lists" / "latest.json").read_text())
    listed = pd.read_csv(tmp_path / "ws" / "risk_lists" / latest["path"] / "risk_list.csv")
    assert len(listed) and listed["probability"].between(0, 1).all()
    # Customers who complained are scored again once their complaint is no longer open.
    assert listed["customer_id"].isin(mapped.complaints["customer_id"]).sum() > 10


def test_an_incident_log_reads_through_queries_alone_and_trains(tmp_path):
    data = published(tmp_path, "incident_log", "incident_event_log_sample.csv.gz")
    common, mapping = commands("incident_log", tmp_path / "ws")
    history, report = load_history(data, limits=DataConfig(mapping=Path(mapping[1])))
    assert report.n_rejected == 0 and history.absent >= {"complaints.resolved_at"}
    assert history.observed_until == pd.Timestamp("2016-05-14", tz="UTC")  # the mapping's
    # One contact per incident (of the 14,111 updates), one complaint per reopened one.
    assert len(history.contacts) == 2008 and history.contacts["customer_id"].nunique() == 361
    assert history.contacts["channel"].value_counts().to_dict() == {"phone": 2006, "email": 2}
    assert len(history.complaints) == 234

    assert main([*common, "train", "--data", str(data), *mapping]) == 0
    evaluation = json.loads((tmp_path / "ws" / "evaluation.json").read_text())
    assert {"contact_volume", "transfers", "complaint_history"}.isdisjoint(
        evaluation["unavailable_families"]
    )
    assert evaluation["model"]["roc_auc"] > 0.5
