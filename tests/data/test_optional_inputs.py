"""What a real export has is enough: only contacts (id, customer, start) and complaints (id,
customer, filed) are required. Absent columns and tables are named, never forged."""

from __future__ import annotations

import pandas as pd
import pytest

from data.contract import ContractError
from data.load import load_history
from features.build import build_features
from features.catalogue import available_features, unavailable_families


def minimal_export(folder, contacts, complaints=()) -> None:
    folder.mkdir()
    pd.DataFrame(contacts, columns=["contact_id", "customer_id", "started_at"]).to_csv(
        folder / "contacts.csv", index=False
    )
    pd.DataFrame(list(complaints), columns=["complaint_id", "customer_id", "filed_at"]).to_csv(
        folder / "complaints.csv", index=False
    )


def test_customers_are_derived_and_signed_up_when_first_seen(tmp_path):
    minimal_export(
        tmp_path / "d",
        [("K1", "A", "2026-03-02T10:00:00Z"), ("K2", "A", "2026-03-01T09:00:00Z")],
        [("Q1", "B", "2026-03-03T08:00:00Z")],
    )
    history, report = load_history(tmp_path / "d")
    customers = history.customers.set_index("customer_id")
    assert sorted(customers.index) == ["A", "B"]
    assert customers.loc["A", "signup_at"] == pd.Timestamp("2026-03-01T09:00:00Z")
    assert customers.loc["B", "signup_at"] == pd.Timestamp("2026-03-03T08:00:00Z")
    assert customers["segment"].isna().all() and customers["bill_day"].isna().all()
    # Nothing set aside for lacking what was never exported.
    assert report.n_rejected == 0 and len(history.contacts) == 2
    assert {"contacts.sentiment", "customers.segment", "events.event_type"} <= history.absent
    assert "customers.signup_at" not in history.absent
    assert report.summary()["tables"]["contacts"]["absent_columns"][:2] == ["closed_at", "channel"]


def test_absent_inputs_switch_their_families_off(tmp_path):
    minimal_export(tmp_path / "d", [("K1", "A", "2026-03-02T10:00:00Z")])
    history, _ = load_history(tmp_path / "d")
    off = unavailable_families(history.absent)
    assert off["sentiment"] == "needs contacts.closed_at, contacts.sentiment, absent from the data"
    assert {"contact_volume", "complaint_history", "tenure"}.isdisjoint(off)
    features = available_features(history.absent)
    assert features == (
        "contacts_1d",
        "contacts_7d",
        "contacts_30d",
        "contacts_90d",
        "hours_since_last_contact",
        "contacts_decayed",
        "complaints_90d",
        "complaints_365d",
        "days_since_last_complaint",
        "tenure_days",
        "day_of_week",
    )
    cutoffs = pd.DataFrame(
        {"customer_id": ["A"], "cutoff_at": [pd.Timestamp("2026-03-03", tz="UTC")]}
    )
    out = build_features(history, cutoffs)  # every family still builds on the null columns
    assert out.loc[0, "contacts_1d"] == 1 and out.loc[0, "tenure_days"] == pytest.approx(14 / 24)


def test_a_missing_required_column_is_still_one_clear_error(tmp_path):
    folder = tmp_path / "d"
    minimal_export(folder, [("K1", "A", "2026-03-02T10:00:00Z")])
    pd.read_csv(folder / "contacts.csv").drop(columns="started_at").to_csv(
        folder / "contacts.csv", index=False
    )
    with pytest.raises(ContractError, match=r"contacts.*missing required column.*started_at"):
        load_history(folder)


def test_the_profile_uses_whichever_of_its_columns_the_export_has(tmp_path):
    minimal_export(tmp_path / "d", [("K1", "A", "2026-03-02T10:00:00Z")])
    pd.DataFrame({"customer_id": ["A"], "segment": ["Gold"]}).to_csv(
        tmp_path / "d" / "customers.csv", index=False
    )
    history, _ = load_history(tmp_path / "d")
    assert "profile" not in unavailable_families(history.absent)
    features = available_features(history.absent)
    assert "segment" in features and {"region", "age_band", "plan"}.isdisjoint(features)
    # With none of its columns the family is off, and says why.
    assert unavailable_families(
        {"customers.segment", "customers.region", "customers.age_band", "customers.plan"}
    )["profile"].startswith("needs customers.segment")


def test_split_start_auto_skips_stray_early_rows(tmp_path):
    from experiments.config import SplitConfig
    from training.dataset import data_start

    days = pd.date_range("2026-01-01", "2026-04-30", freq="D", tz="UTC")
    contacts = [
        (f"K{i}", f"C{i % 40}", str(day + pd.Timedelta(hours=h)))
        for i, (day, h) in enumerate((d, h) for d in days for h in range(8))
    ]
    contacts += [("OLD1", "C1", "2024-02-03T10:00:00Z"), ("OLD2", "C2", "2024-06-01T10:00:00Z")]
    minimal_export(tmp_path / "d", contacts)
    history, _ = load_history(tmp_path / "d")
    assert data_start(history, SplitConfig()) == pd.Timestamp("2024-02-03", tz="UTC")
    assert data_start(history, SplitConfig(start="auto")) == pd.Timestamp("2026-01-01", tz="UTC")
    assert data_start(history, SplitConfig(start="2026-02-01")) == pd.Timestamp(
        "2026-02-01", tz="UTC"
    )
