"""Loading real exports that go wrong: empty or mostly rejected tables stop the run, words
that look like "missing" stay data in text columns, absurd numbers are set aside, and every
unreadable file is named."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from data.contract import COMPLAINTS, CONTACTS, ContractError, validate_table
from data.load import DataQualityError, load_history
from experiments.config import DataConfig
from tests.data.test_contract import CUSTOMER, GOOD_CONTACT, contacts

COMPLAINT_COLUMNS = COMPLAINTS.column_names


def export(folder, customers=None, contact_rows=None) -> None:
    """Write a minimal valid export; ``contact_rows`` replaces the contacts table."""
    folder.mkdir(exist_ok=True)
    pd.DataFrame(customers or [CUSTOMER]).to_csv(folder / "customers.csv", index=False)
    frame = contacts({}) if contact_rows is None else contact_rows
    frame.to_csv(folder / "contacts.csv", index=False)
    pd.DataFrame(columns=COMPLAINT_COLUMNS).to_csv(folder / "complaints.csv", index=False)


def test_a_header_only_contacts_table_stops_the_load(tmp_path):
    export(tmp_path / "d", contact_rows=pd.DataFrame(columns=list(GOOD_CONTACT)))
    with pytest.raises(DataQualityError, match=r"contacts.*0 valid row.*data.min_rows.contacts"):
        load_history(tmp_path / "d")


def test_a_mostly_rejected_table_stops_the_load_and_names_the_problem(tmp_path):
    # Integer epoch times (as some Parquet exports write them) are not times.
    epoch = contacts(*({"started_at": 1767225600 + i} for i in range(10)))
    data = tmp_path / "d"
    export(data, contact_rows=epoch.astype({"started_at": "int64", "closed_at": "str"}))
    epoch.to_parquet(data / "contacts.parquet")
    (data / "contacts.csv").unlink()
    with pytest.raises(DataQualityError) as caught:
        load_history(data, tmp_path / "rejects")
    message = str(caught.value)
    assert "contacts.parquet" in message and "10 of 10 rows" in message
    assert "started_at" in message and "max_reject_fraction" in message
    assert (tmp_path / "rejects" / "contacts_rejected.csv").exists()  # written before stopping


def test_the_reject_limit_is_configurable(tmp_path):
    export(tmp_path / "d", contact_rows=contacts({}, {"sentiment": "-101"}))
    with pytest.raises(DataQualityError, match=r"50\.0%"):
        load_history(tmp_path / "d", limits=DataConfig(max_reject_fraction=0.4))
    history, _ = load_history(tmp_path / "d", limits=DataConfig(max_reject_fraction=0.5))
    assert len(history.contacts) == 1


@pytest.mark.parametrize("region", ["NA", "None", "null", "N/A"])
def test_text_that_looks_missing_stays_text(tmp_path, region):
    export(tmp_path / "d", customers=[{**CUSTOMER, "region": region}])
    history, report = load_history(tmp_path / "d")
    assert history.customers["region"].tolist() == [region]
    assert report.n_rejected == 0


def test_null_words_in_typed_columns_mean_missing(tmp_path):
    export(tmp_path / "d", contact_rows=contacts({"closed_at": "NULL", "sentiment": "NA"}))
    history, report = load_history(tmp_path / "d")
    assert report.n_rejected == 0
    assert history.contacts["closed_at"].isna().all() and history.contacts["sentiment"].isna().all()


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("wait_seconds", "inf"),
        ("wait_seconds", "1e308"),
        ("handle_seconds", "-inf"),
        ("sentiment", "nan-ish"),
        ("wait_seconds", "Infinity"),
    ],
)
def test_non_finite_and_absurd_numbers_are_set_aside(column, value):
    valid, report = validate_table(contacts({column: value}), CONTACTS)
    assert valid.empty and report.n_rejected == 1
    assert report.rejected["_reason"].iloc[0].startswith(column)


def test_an_overlong_id_is_set_aside():
    valid, report = validate_table(contacts({"contact_id": "K" * 500}), CONTACTS)
    assert valid.empty and "longer than" in report.rejected["_reason"].iloc[0]


@pytest.mark.parametrize(
    ("content", "needle"),
    [(b"", "empty"), (b"customer_id,signup_at\n\xff\xfe,x\n", "not UTF-8")],
)
def test_unreadable_files_are_named(tmp_path, content, needle):
    export(tmp_path / "d")
    (tmp_path / "d" / "customers.csv").write_bytes(content)
    with pytest.raises(ContractError, match=needle) as caught:
        load_history(tmp_path / "d")
    assert "customers.csv" in str(caught.value)


@pytest.mark.parametrize(
    ("value", "needle"), [("2026-05-01T00:00:00", "no time zone"), ("soon", "not a time")]
)
def test_a_bad_manifest_time_is_a_clear_error(tmp_path, value, needle):
    export(tmp_path / "d")
    (tmp_path / "d" / "manifest.json").write_text(json.dumps({"observed_until": value}))
    with pytest.raises(ContractError, match=needle) as caught:
        load_history(tmp_path / "d")
    assert "manifest.json" in str(caught.value)


def test_rejects_of_an_earlier_load_do_not_linger(tmp_path):
    rejects = tmp_path / "rejects"
    export(tmp_path / "bad", contact_rows=contacts({}, {"sentiment": "-101"}))
    load_history(tmp_path / "bad", rejects, DataConfig(max_reject_fraction=1.0))
    assert (rejects / "contacts_rejected.csv").exists()
    export(tmp_path / "clean")
    load_history(tmp_path / "clean", rejects)
    assert sorted(p.name for p in rejects.iterdir()) == ["load_report.json"]


def test_a_table_may_be_a_folder_of_parquet_files(tmp_path):
    """Partitioned exports (one folder per table, Hive-style partitions) load like one file."""
    data = tmp_path / "d"
    export(data)
    rows = contacts(*({"contact_id": f"K{i}"} for i in range(6)))
    rows["month"] = ["2026-02", "2026-03"] * 3
    for month, part in rows.groupby("month"):
        folder = data / "contacts" / f"month={month}"
        folder.mkdir(parents=True)
        part.drop(columns="month").to_parquet(folder / "part-0.parquet")
    (data / "contacts.csv").unlink()
    history, report = load_history(data)
    assert sorted(history.contacts["contact_id"]) == [f"K{i}" for i in range(6)]
    assert report.n_rejected == 0
