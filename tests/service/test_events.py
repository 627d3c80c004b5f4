"""POST /events: contract-checked, idempotent, durable across a restart, folded into the
next daily list."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.service.conftest import make_client

pytestmark = pytest.mark.slow


def angry_contact(cid: str, n: int, closed: bool) -> dict:
    contact = {
        "contact_id": f"LIVE-{n}",
        "customer_id": cid,
        "started_at": "2026-03-21T09:00:00Z",
        "channel": "phone",
        "reason": "payment",
    }
    if closed:
        contact |= {"closed_at": "2026-03-21T09:40:00Z", "resolved": False, "sentiment": -95}
    return contact


def test_events_are_recorded_once_updated_and_kept_across_a_restart(
    trained, workspace, monkeypatch
):
    cid = trained["risk_list"]["customer_id"].iloc[-1]
    with make_client(workspace[0], monkeypatch) as c:
        first = c.post("/events", json={"contacts": [angry_contact(cid, 1, closed=False)]})
        assert first.status_code == 200, first.text
        assert [r["status"] for r in first.json()["results"]] == ["accepted"]
        again = c.post("/events", json={"contacts": [angry_contact(cid, 1, closed=False)]})
        assert again.json()["results"][0]["status"] == "duplicate"
        closed = c.post("/events", json={"contacts": [angry_contact(cid, 1, closed=True)]})
        assert closed.json()["results"][0]["status"] == "updated"
    with make_client(workspace[0], monkeypatch) as c:  # a restart
        replay = c.post("/events", json={"contacts": [angry_contact(cid, 1, closed=True)]})
        assert replay.json()["results"][0]["status"] == "duplicate"


def test_each_item_fails_on_its_own(trained, workspace, monkeypatch):
    cid = trained["risk_list"]["customer_id"].iloc[0]
    bad_event = {"customer_id": cid, "occurred_at": "2026-03-21T07:00:00Z", "event_type": "x"}
    body = {
        "contacts": [angry_contact("NO-SUCH-CUSTOMER", 2, True), angry_contact(cid, 3, True)],
        "events": [{**bad_event, "amount": -2e9}],
    }
    with make_client(workspace[0], monkeypatch) as c:
        response = c.post("/events", json=body)
    assert response.status_code == 400  # the amount breaks the request schema: nothing kept
    with make_client(workspace[0], monkeypatch) as c:
        body["events"] = [bad_event]
        results = c.post("/events", json=body).json()["results"]
    assert [r["status"] for r in results] == ["error", "accepted", "accepted"]
    assert "unknown customer" in results[0]["error"]


def test_posted_events_reach_the_next_daily_list(trained, small_world, workspace, monkeypatch):
    from radar.cli import main

    calm = trained["risk_list"].iloc[-1]
    with make_client(workspace[0], monkeypatch) as c:
        contacts = [angry_contact(calm["customer_id"], n, closed=True) for n in range(6)]
        for n, contact in enumerate(contacts):  # six angry, unresolved calls in a day
            contact["started_at"] = f"2026-03-21T0{n}:00:00Z"
            contact["closed_at"] = f"2026-03-21T0{n}:30:00Z"
        assert c.post("/events", json={"contacts": contacts}).json()["recorded"] == 6
    day = "2026-03-22"
    out = workspace[0] / "lists"
    args = ["--workspace", str(workspace[0]), "score", "--data", str(small_world), "--date", day]
    assert main([*args, "--out", str(out)]) == 0
    relisted = pd.read_parquet(out / day / "risk_list.parquet").set_index("customer_id")
    assert relisted.loc[calm["customer_id"], "probability"] > calm["probability"]
