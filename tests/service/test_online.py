"""Scores by id as of now: posted events count at once, exactly as the offline build would
count them, and every new snapshot is checked against the state that served the day."""

from __future__ import annotations

import pandas as pd
import pytest
from prometheus_client import REGISTRY

from data.contract import CONTACTS, validate_table
from data.history import History
from features.build import build_features
from serving.api.journal import fold
from serving.batch.risk_list import score_day
from tests.service.conftest import make_client

pytestmark = pytest.mark.slow


def angry_morning(cid: str, start: pd.Timestamp) -> list[dict]:
    """Two unresolved, very negative calls and a third still open."""
    calls = []
    for i in range(3):
        started = start + pd.Timedelta(minutes=50 * i)
        call = {
            "contact_id": f"MORNING-{i}",
            "customer_id": cid,
            "started_at": started.isoformat(),
            "channel": "phone",
            "reason": "payment",
        }
        if i < 2:
            call |= {
                "closed_at": (started + pd.Timedelta(minutes=30)).isoformat(),
                "wait_seconds": 1800,
                "resolved": False,
                "sentiment": -95,
            }
        calls.append(call)
    return calls


def test_posted_contacts_count_as_of_now_exactly_as_the_offline_build(
    trained, workspace, monkeypatch
):
    ws, _ = workspace
    history, scorer = trained["history"], trained["scorer"]
    risk_list = trained["risk_list"]
    cid = risk_list.loc[risk_list["risk_tier"] == "low", "customer_id"].iloc[-1]
    morning = history.observed_until + pd.Timedelta(hours=8)
    as_of = (morning + pd.Timedelta(hours=3)).isoformat()
    calls = angry_morning(cid, morning)

    def ask(c, when: str) -> dict:
        body = c.post("/score", json={"customer_ids": [cid], "as_of": when}).json()
        return body["results"][0]

    with make_client(ws, monkeypatch) as c:
        before = ask(c, as_of)
        posted = c.post("/events", json={"contacts": calls}).json()
        assert posted["recorded"] == 3, posted
        after = ask(c, as_of)
        earlier = ask(c, morning.isoformat())  # the calls lie after it: they must not count

    contacts, report = validate_table(pd.DataFrame(calls, columns=CONTACTS.column_names), CONTACTS)
    assert report.n_rejected == 0
    known = fold(history, {"contacts": contacts})
    offline = scorer.score(
        build_features(
            known,
            pd.DataFrame({"customer_id": [cid], "cutoff_at": [pd.Timestamp(as_of)]}),
            parameters=scorer.model.feature_parameters,
        )
    ).iloc[0]
    assert after["status"] == "ok" and after["source"] == "online"
    assert after["probability"] == pytest.approx(offline["probability"], abs=1e-12)
    assert [r["code"] for r in after["reasons"]] == [r.code for r in offline["reasons"]]
    assert after["probability"] > 2 * before["probability"]
    assert earlier["probability"] == pytest.approx(before["probability"], rel=0.5)
    unposted = scorer.score(
        build_features(
            history,
            pd.DataFrame({"customer_id": [cid], "cutoff_at": [morning.floor("s")]}),
            parameters=scorer.model.feature_parameters,
        )
    ).iloc[0]
    assert earlier["probability"] == pytest.approx(unposted["probability"], abs=1e-12)


def test_a_stale_state_is_named_in_the_answer(client, trained):
    cid = trained["risk_list"]["customer_id"].iloc[0]
    item = client.post("/score", json={"customer_ids": [cid]}).json()["results"][0]  # now
    assert item["status"] == "ok"
    assert any("published data ends" in w for w in item["warnings"]), item["warnings"]
    at_list = trained["risk_list"]["cutoff_at"].iloc[0].isoformat()
    fresh = client.post("/score", json={"customer_ids": [cid], "as_of": at_list}).json()
    assert fresh["results"][0]["warnings"] == []


def test_each_new_snapshot_is_checked_against_the_state_that_served(
    trained, workspace, monkeypatch
):
    ws, config = workspace
    h = trained["history"]
    cid = trained["risk_list"]["customer_id"].iloc[0]
    day = pd.Timestamp(trained["risk_list"]["cutoff_at"].iloc[0]).date()
    # The next build learns of a correction the service never saw: this customer's contacts
    # were someone else's.
    corrected = History.from_frames(
        h.customers,
        h.contacts[h.contacts["customer_id"] != cid],
        h.complaints,
        h.events,
        h.incidents,
        h.observed_until,
    ).with_observed_from(h.observed_from)
    # Counters are process-wide: compare with their values before this service started.
    start = {
        "loaded": metric("checked", check="loaded"),
        "previous": metric("checked", check="previous"),
        "differ_loaded": disagreements("loaded"),
        "differ_previous": metric("disagreements", check="previous", feature="contacts_90d"),
    }
    with make_client(ws, monkeypatch) as c:
        checked = metric("checked", check="loaded") - start["loaded"]
        assert checked > 0 and disagreements("loaded") == start["differ_loaded"]
        score_day(corrected, trained["scorer"], day, config.workspace.risk_lists_dir, config.labels)
        assert c.post("/reload").json()["reloaded"]
    assert metric("checked", check="loaded") - start["loaded"] == 2 * checked
    assert metric("checked", check="previous") - start["previous"] == checked
    assert disagreements("loaded") == start["differ_loaded"]
    moved = metric("disagreements", check="previous", feature="contacts_90d")
    assert moved - start["differ_previous"] == 1


def metric(name: str, **labels: str) -> float:
    value = REGISTRY.get_sample_value(f"complaint_radar_online_offline_{name}_total", labels)
    return value or 0.0


def disagreements(check: str) -> float:
    return sum(
        s.value
        for m in REGISTRY.collect()
        for s in m.samples
        if s.name == "complaint_radar_online_offline_disagreements_total"
        and s.labels["check"] == check
    )
