"""The outcome store on SQLite and on a real PostgreSQL server, and the file import."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pandas as pd
import pytest

from experiments.config import RadarConfig
from radar.outcomes import import_outcomes, read_outcomes
from serving.outreach.outcomes import OutcomeStore, call_notes, without_password
from serving.outreach.page import OUTCOME_CODES

CONTACTED = datetime(2026, 5, 20, 9, 30, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'nested' / 'outcomes.db'}"
    url = request.getfixturevalue("postgresql_url")
    store = OutcomeStore(url)  # each test starts from an empty table
    with store.engine.begin() as db:
        db.exec_driver_sql("DELETE FROM outreach_outcomes")
    store.close()
    return url


def outcome(**changes):
    return {
        "customer_id": "C001",
        "contacted_at": CONTACTED,
        "list_date": date(2026, 5, 20),
        "reached": True,
        "outcome_code": "issue_resolved",
        "note": "refund promised",
    } | changes


def test_outcomes_are_idempotent_corrected_and_kept(store_url):
    store = OutcomeStore(store_url)
    other_zone = CONTACTED.astimezone(timezone(timedelta(hours=2)))  # the same moment
    assert store.record([outcome(), outcome(customer_id="C002", reached=False)]) == [
        "accepted",
        "accepted",
    ]
    assert store.record([outcome(contacted_at=other_zone)]) == ["duplicate"]
    assert store.record([outcome(note="refund sent")]) == ["updated"]
    store.close()
    kept = OutcomeStore(store_url).frame()  # a new connection sees what was committed
    assert list(kept["customer_id"]) == ["C001", "C002"]
    assert kept.loc[0, "note"] == "refund sent"
    assert kept.loc[0, "contacted_at"] == pd.Timestamp(CONTACTED)
    assert list(kept["reached"]) == [True, False]
    store = OutcomeStore(store_url)
    store.record([outcome(customer_id="C003", list_date=date(2026, 5, 21))])
    assert list(store.frame(date(2026, 5, 21))["customer_id"]) == ["C003"]
    assert list(store.frame(date(2026, 5, 20))["customer_id"]) == ["C001", "C002"]


def test_one_bad_outcome_records_none_of_its_batch(store_url):
    store = OutcomeStore(store_url)
    with pytest.raises(ValueError, match="time-zone-aware"):
        store.record([outcome(), outcome(contacted_at=datetime(2026, 5, 20, 9, 30))])
    assert store.frame().empty


def test_a_password_never_reaches_a_message():
    message = without_password(OSError("no route to postgresql+psycopg://bob:s3cr@t@db:5432/x"))
    assert "s3cr" not in message and "bob:***@db:5432" in message


def test_a_file_import_sets_bad_rows_aside_and_records_the_rest(tmp_path):
    path = tmp_path / "outcomes.csv"
    path.write_text(
        "customer_id,contacted_at,list_date,reached,outcome_code,note\n"
        "C001,2026-05-20T09:30:00Z,2026-05-20,true,issue_resolved,NA\n"
        "C002,2026-05-20T10:00:00+02:00,,false,no_answer,\n"
        "C003,yesterday,2026-05-20,true,issue_resolved,\n"
        "C004,2026-05-20T11:00:00,2026-05-20,maybe,issue_resolved,\n"
    )
    url = f"sqlite:///{tmp_path / 'outcomes.db'}"
    counts = import_outcomes(path, url, tmp_path / "rejects")
    assert counts == {"accepted": 2, "updated": 0, "duplicate": 0, "rejected": 2}
    rejects = pd.read_csv(tmp_path / "rejects" / "outcomes.csv")
    assert list(rejects["_line"]) == [4, 5]
    assert "contacted_at" in rejects.loc[0, "_reason"]
    assert "contacted_at" in rejects.loc[1, "_reason"]  # no time zone
    kept = OutcomeStore(url).frame().set_index("customer_id")
    assert list(kept.index) == ["C002", "C001"]  # oldest contact first: 08:00 UTC, 09:30 UTC
    assert kept.loc["C001", "note"] == "NA"  # text that looks missing stays text
    assert pd.isna(kept.loc["C002", "list_date"]) and pd.isna(kept.loc["C002", "note"])
    again = import_outcomes(path, url, tmp_path / "rejects")
    assert again["duplicate"] == 2 and again["accepted"] == 0


def test_a_file_without_a_required_column_is_refused(tmp_path):
    path = tmp_path / "outcomes.csv"
    path.write_text("customer_id,reached\nC001,true\n")
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['contacted_at', 'outcome_code'\]"):
        read_outcomes(path)


def test_the_notes_an_uplift_learner_reads_are_each_list_day_s_last_reached_call(store_url):
    store = OutcomeStore(store_url)
    later = CONTACTED + timedelta(hours=3)
    store.record([
        outcome(outcome_code="no_answer", reached=False),  # unreached: no note
        outcome(contacted_at=later, outcome_code="customer_calmed"),  # reached later that day
        outcome(customer_id="C002", outcome_code="customer_upset", list_date=None),
        outcome(customer_id="C003", outcome_code="no_answer", reached=False),
    ])  # fmt: skip
    store.close()
    notes = call_notes(store_url)
    assert notes.to_dict("records") == [
        {"date": date(2026, 5, 20), "customer_id": "C002", "outcome_code": "customer_upset"},
        {"date": date(2026, 5, 20), "customer_id": "C001", "outcome_code": "customer_calmed"},
    ]


def test_the_codes_valued_by_default_are_the_page_s_own():
    assert set(RadarConfig().outreach.outcome_values) <= set(OUTCOME_CODES)
    with pytest.raises(ValueError, match=r"must lie in \[-1, 1\]"):
        RadarConfig.model_validate({"outreach": {"outcome_values": {"issue_resolved": 2.0}}})
