"""POST /outcomes: what happened when outreach contacted a customer, kept in the workspace's
outcome database, idempotent, one status per item."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from serving.outreach.outcomes import OutcomeStore
from tests.service.conftest import make_client

pytestmark = pytest.mark.slow


def test_outcomes_are_recorded_once_corrected_and_unknown_customers_refused(
    trained, workspace, monkeypatch
):
    ws, config = workspace
    labels = {"status": "accepted"}
    before = REGISTRY.get_sample_value("complaint_radar_outcomes_total", labels) or 0.0
    listed = trained["risk_list"]
    cid = listed["customer_id"].iloc[0]
    item = {
        "customer_id": cid,
        "contacted_at": "2026-05-30T09:15:00Z",
        "list_date": str(listed["scored_for"].iloc[0]),
        "reached": True,
        "outcome_code": "issue_resolved",
    }
    unknown = {**item, "customer_id": "NO-SUCH-CUSTOMER"}
    with make_client(ws, monkeypatch) as c:
        first = c.post("/outcomes", json={"outcomes": [item, unknown]})
        assert first.status_code == 200, first.text
        assert [r["status"] for r in first.json()["results"]] == ["accepted", "error"]
        assert "unknown customer" in first.json()["results"][1]["error"]
        again = c.post("/outcomes", json={"outcomes": [item]})
        assert again.json()["results"][0]["status"] == "duplicate"
        fixed = c.post("/outcomes", json={"outcomes": [{**item, "note": "called back"}]})
        assert fixed.json()["results"][0]["status"] == "updated"
        naive = c.post("/outcomes", json={"outcomes": [{**item, "contacted_at": "2026-05-30"}]})
        assert naive.status_code == 400
    assert REGISTRY.get_sample_value("complaint_radar_outcomes_total", labels) == before + 1
    kept = OutcomeStore(config.outcomes_url()).frame()
    assert list(kept["customer_id"]) == [cid] and kept.loc[0, "note"] == "called back"


def test_outcomes_need_the_token_when_one_is_set(workspace, monkeypatch):
    monkeypatch.setenv("RADAR_API_TOKEN", "s3cret")
    with make_client(workspace[0], monkeypatch) as c:
        assert c.post("/outcomes", json={"outcomes": []}).status_code == 401
