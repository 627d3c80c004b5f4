"""The data contract: bad rows are reported and set aside, never silently dropped."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from data.contract import COMPLAINTS, CONTACTS, CUSTOMERS, ContractError, validate_table
from data.load import load_history
from experiments.config import DataConfig

GOOD_CONTACT = {
    "contact_id": "K1",
    "customer_id": "A",
    "started_at": "2026-03-01T10:00:00Z",
    "closed_at": "2026-03-01T10:20:00Z",
    "channel": "phone",
    "reason": "billing",
    "wait_seconds": "60",
    "handle_seconds": "300",
    "transferred": "false",
    "resolved": "true",
    "sentiment": "-20",
}
CUSTOMER = {
    "customer_id": "A",
    "signup_at": "2025-01-01T00:00:00Z",
    "segment": "retail",
    "region": "north",
    "age_band": "30-44",
    "plan": "basic",
    "bill_day": "5",
}


def contacts(*changes: dict) -> pd.DataFrame:
    return pd.DataFrame(
        [{**GOOD_CONTACT, "contact_id": f"K{i}", **c} for i, c in enumerate(changes)]
    )


def test_each_kind_of_bad_row_is_set_aside_with_its_reason():
    raw = contacts(
        {},
        {"customer_id": None},
        {"started_at": "yesterday-ish"},
        {"sentiment": "140"},
        {"closed_at": "2026-03-01T09:00:00Z"},  # closes before it starts
        {"contact_id": "K0"},  # duplicate key
        {"wait_seconds": "-5"},
        {"started_at": "1677-01-01T00:00:00Z"},  # beyond what nanosecond times can hold
    )
    valid, report = validate_table(raw, CONTACTS)
    assert valid["contact_id"].tolist() == ["K0"]
    assert report.n_input == 8 and report.n_valid == 1 and report.n_rejected == 7
    reasons = report.rejected["_reason"].tolist()  # rejected rows keep their input order
    assert reasons == [
        "customer_id: missing",
        "started_at: not a valid time (unparsable, or outside 1950..2200)",
        "sentiment: out of range [-100, 100]",
        "closed_at: before started_at",
        "contact_id: duplicate key",
        "wait_seconds: out of range [0, 2592000]",
        "started_at: not a valid time (unparsable, or outside 1950..2200)",
    ]
    issue = next(i for i in report.issues if i.column == "sentiment")
    assert issue.count == 1 and issue.examples == ["row 4, contact_id K3: '140'"]
    assert "contacts.sentiment" in str(issue)


def test_categories_are_the_data_s_own_words():
    """A courier's channel or a risk factor of its own is kept (trimmed, lower-cased), not
    forced into a list the product was built with."""
    valid, report = validate_table(
        contacts(
            {"channel": "Carrier Pigeon", "reason": "Category 55"},
            {"channel": " CHAT ", "reason": "category 55"},
        ),
        CONTACTS,
    )
    assert valid["channel"].tolist() == ["carrier pigeon", "chat"]
    assert valid["reason"].tolist() == ["category 55", "category 55"]
    assert not report.issues
    assert report.n_rejected == 0


def test_missing_required_column_fails_the_table_by_name():
    with pytest.raises(
        ContractError, match=r"table 'contacts' is missing required column\(s\) \['started_at'\]"
    ):
        validate_table(contacts({}).drop(columns=["started_at"]), CONTACTS)


def test_a_missing_optional_column_is_null_and_named():
    valid, report = validate_table(contacts({}).drop(columns=["sentiment", "channel"]), CONTACTS)
    assert report.n_rejected == 0 and report.absent == ["channel", "sentiment"]
    assert valid["sentiment"].isna().all() and valid["channel"].isna().all()


def test_types_are_normalised():
    valid, _ = validate_table(contacts({}), CONTACTS)
    assert str(valid["started_at"].dtype) == "datetime64[ns, UTC]"
    assert valid["resolved"].tolist() == [True]
    valid, _ = validate_table(pd.DataFrame([CUSTOMER]), CUSTOMERS)
    assert valid["bill_day"].tolist() == [5]


def test_loader_writes_rejects_and_a_report(tmp_path):
    data, rejects = tmp_path / "data", tmp_path / "rejects"
    data.mkdir()
    pd.DataFrame([CUSTOMER]).to_csv(data / "customers.csv", index=False)
    contacts({}, {"customer_id": "GHOST"}, {"sentiment": "-101"}).to_csv(
        data / "contacts.csv", index=False
    )
    pd.DataFrame(columns=COMPLAINTS.column_names).to_csv(data / "complaints.csv", index=False)
    history, _ = load_history(data, rejects, DataConfig(max_reject_fraction=1.0))
    assert len(history.contacts) == 1 and history.events.empty and history.incidents.empty
    rejected = pd.read_csv(rejects / "contacts_rejected.csv")
    assert sorted(rejected["_reason"]) == [
        "customer_id: unknown customer (not in customers)",
        "sentiment: out of range [-100, 100]",
    ]
    summary = json.loads((rejects / "load_report.json").read_text())
    assert summary["tables"]["contacts"]["rows_rejected"] == 2


def test_missing_required_table_names_the_table(tmp_path):
    pd.DataFrame([CUSTOMER]).to_csv(tmp_path / "customers.csv", index=False)
    with pytest.raises(ContractError, match="required table 'contacts' not found"):
        load_history(tmp_path)
