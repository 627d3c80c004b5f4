"""``radar check`` profiles an export before training: what it reports must be what training
then finds, and a broken export is described, not crashed on."""

from __future__ import annotations

import json
import shutil

import pandas as pd

from radar.check import check_data, render
from radar.cli import main
from tests.conftest import small_config


def test_positives_per_period_are_those_training_finds(tmp_path, small_world, trained):
    report = check_data(small_config(tmp_path), small_world)
    trained_positives = trained["result"].evaluation["positives_by_period"]
    periods = report["periods"]
    assert {name: periods[name]["positives"] for name in trained_positives} == trained_positives
    assert report["validation"]["tables"]["contacts"]["rows_rejected"] == 0
    assert set(report["families"].values()) == {"ok"}
    assert report["activity"]["customers"] == 400
    minimum = periods["min_positives"]
    assert report["ready"] == all(periods[n]["positives"] >= minimum for n in trained_positives)
    text = render(report)
    assert "feature families:" in text and "eligible customer-days" in text


def test_missing_inputs_and_foreign_values_are_described(tmp_path, small_world):
    data = tmp_path / "export"
    shutil.copytree(small_world, data)
    (data / "events.parquet").unlink()
    contacts = pd.read_parquet(data / "contacts.parquet").drop(columns="sentiment")
    contacts.loc[contacts.index[:25], "channel"] = "carrier pigeon"
    contacts.to_parquet(data / "contacts.parquet")

    report = check_data(small_config(tmp_path / "ws"), data)
    tables = report["tables"]
    assert tables["contacts"]["missing_columns"] == ["sentiment"]
    channels = tables["contacts"]["vocabularies"]["channel"]
    assert channels["values"] == 7  # the world's six and the pigeon: the data's own words
    assert channels["most_frequent"][0][0] == "phone"
    assert tables["events"]["file"] is None and not tables["events"]["required"]
    assert report["validation"]["tables"]["contacts"]["absent_columns"] == ["sentiment"]
    families = report["families"]
    assert families["sentiment"] == "needs contacts.sentiment, absent from the data"
    assert families["payments"].startswith("needs events.occurred_at")
    assert families["contact_volume"] == families["resolution"] == "ok"
    assert "periods" in report  # it loads: the families are off, nothing is forged


def test_an_unloadable_export_exits_1_with_the_reason(tmp_path, small_world):
    data = tmp_path / "export"
    shutil.copytree(small_world, data)
    contacts = pd.read_parquet(data / "contacts.parquet").drop(columns="started_at")
    contacts.to_parquet(data / "contacts.parquet")
    out = tmp_path / "check.json"
    args = ["--workspace", str(tmp_path / "ws"), "check", "--data", str(data), "--json", str(out)]
    assert main(args) == 1
    report = json.loads(out.read_text())
    assert "started_at" in report["validation"]["error"]
    assert report["ready"] is False and "periods" not in report
