"""The outcome store on SQLite and on a real PostgreSQL server, and the file import."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from experiments.config import RadarConfig
from radar.outcomes import import_outcomes, read_outcomes
from serving.api.scoring import expected_effects
from serving.api.state import made_worse_calls, with_made_worse
from serving.batch.risk_list import with_expected_effect
from serving.outreach.outcomes import OutcomeStore, call_notes, without_password
from serving.outreach.page import OUTCOME_CODES
from training.uplift import CALLS_MADE_WORSE, NOTE, UpliftModel, calls_made_worse

CONTACTED = datetime(2026, 5, 20, 9, 30, tzinfo=UTC)
VALUES_BY_DEFAULT = RadarConfig().outreach.outcome_values


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
    assert notes.drop(columns="contacted_at").to_dict("records") == [
        {"date": date(2026, 5, 20), "customer_id": "C002", "outcome_code": "customer_upset"},
        {"date": date(2026, 5, 20), "customer_id": "C001", "outcome_code": "customer_calmed"},
    ]
    assert notes["contacted_at"].tolist() == [pd.Timestamp(CONTACTED), pd.Timestamp(later)]


def test_the_codes_valued_by_default_are_the_page_s_own():
    assert set(RadarConfig().outreach.outcome_values) <= set(OUTCOME_CODES)
    with pytest.raises(ValueError, match=r"must lie in \[-1, 1\]"):
        RadarConfig.model_validate({"outreach": {"outcome_values": {"issue_resolved": 2.0}}})


def test_the_service_and_the_list_read_the_calls_that_made_things_worse(store_url, monkeypatch):
    # A notes learner that learnt who minds a call from their earlier calls: the service's
    # state counts them from the store as the day's list does, and both give the effect
    # the model gives with those counts (a customer upset twice before the day: less help).
    monkeypatch.delenv("RADAR_OUTCOMES_URL", raising=False)
    config = RadarConfig.model_validate({"outreach": {"outcomes_url": store_url}})
    store = OutcomeStore(store_url)
    store.record([
        outcome(customer_id="C002", outcome_code="customer_upset"),
        outcome(customer_id="C002", contacted_at=CONTACTED + timedelta(days=1),
                list_date=date(2026, 5, 21), outcome_code="customer_upset"),
        outcome(customer_id="C003", outcome_code="customer_upset",
                contacted_at=CONTACTED + timedelta(days=2), list_date=date(2026, 5, 22)),
        outcome(customer_id="C004", outcome_code="customer_upset", reached=False),
    ])  # fmt: skip
    store.close()
    model = minding_learner()
    assert made_worse_calls(config, None, "2026-05-22") is None  # no model: no store read
    # The day's own calls are not counted (the list is made before them).
    assert made_worse_calls(config, model, "2026-05-22") == {"C002": 2}
    counts = made_worse_calls(config, model, "2026-05-23")
    assert counts == {"C002": 2, "C003": 1}
    ids = np.array(["C001", "C002", "C003", "C004"], dtype=object)
    features = {"customer_id": ids, "billing": np.ones(4)}
    state = SimpleNamespace(uplift=model, made_worse=counts)
    served = expected_effects(state, features, np.full(4, 0.2)).effect
    frame = pd.DataFrame({"billing": 1.0, "probability": 0.2, CALLS_MADE_WORSE: [0, 2, 1, 0]})
    assert np.allclose(served, model.predict_effect(frame))
    assert served[0] < 0 < min(served[1], served[2]) and served[0] == served[3]
    listed = with_expected_effect(
        pd.DataFrame({"customer_id": ids, "probability": 0.2, "rank": range(1, 5)}),
        pd.DataFrame({"customer_id": ids, "billing": 1.0}),
        model,
        "prevented",
        calls_made_worse(pd.DataFrame({"customer_id": ids, "date": date(2026, 5, 23)}),
                         call_notes(store_url), config.outreach.outcome_values),
    )  # fmt: skip
    assert np.allclose(listed.set_index("customer_id").loc[ids, "expected_effect"], served)
    assert set(listed["customer_id"].tolist()[-2:]) == {"C002", "C003"}  # helped least: last


def minding_learner() -> UpliftModel:
    """A notes learner on calls that resolve everyone's problem but upset those whom an
    earlier call upset."""
    rng = np.random.default_rng(0)
    n = 3000
    worse = (rng.random(n) < 0.3) * rng.integers(1, 3, n)
    rows = pd.DataFrame({"billing": 1.0, "probability": rng.uniform(0.01, 0.3, n),
                         CALLS_MADE_WORSE: worse})  # fmt: skip
    contacted = rng.random(n) < 0.5
    code = np.where(worse > 0, "customer_upset", "issue_resolved")
    rows[NOTE] = np.where(contacted, code, None)
    complained = rng.random(n) < rows["probability"] * np.where(contacted & (worse == 0), 0.5, 1)
    model = UpliftModel(
        ["billing", CALLS_MADE_WORSE], kind="notes", outcome_values=VALUES_BY_DEFAULT
    )
    return model.fit(rows, contacted, complained, np.full(n, 0.5))


def test_an_unreadable_outcome_store_leaves_the_service_without_effects_not_wrong_ones(
    caplog, monkeypatch
):
    monkeypatch.delenv("RADAR_OUTCOMES_URL", raising=False)
    down = "postgresql+psycopg://radar:secret@127.0.0.1:9/outcomes?connect_timeout=2"
    config = RadarConfig.model_validate({"outreach": {"outcomes_url": down}})
    model = minding_learner()
    fields = with_made_worse(config, model, "7", "2026-05-23")
    # No version either: the watcher sees the champion differ and tries again.
    assert fields == {"uplift": None, "uplift_version": None, "made_worse": None}
    assert "outcome store unavailable" in caplog.text and "secret" not in caplog.text
    # A model that does not read the notes never touches the store.
    plain = UpliftModel(["billing"], kind="notes", outcome_values=VALUES_BY_DEFAULT)
    assert with_made_worse(config, plain, "8", "2026-05-23")["uplift_version"] == "8"
