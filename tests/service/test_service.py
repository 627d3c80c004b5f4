"""The scoring endpoint in process: happy paths, per-item errors, bad input, readiness."""

from __future__ import annotations

import pytest

from serving.api.histories import history_payload
from tests.service.conftest import make_client

pytestmark = pytest.mark.slow


def top_customer_payload(trained) -> tuple[dict, object]:
    """The posted-history payload of the list's top customer, and the list's cutoff."""
    cid, cutoff = (
        trained["risk_list"]["customer_id"].iloc[0],
        trained["risk_list"]["cutoff_at"].iloc[0],
    )
    return history_payload(trained["history"], cid, cutoff), cutoff


def with_contact(payload: dict, **fields: object) -> dict:
    """``payload`` with one more contact: a dull valid one, changed by ``fields``."""
    contact = {
        "contact_id": "NEW",
        "started_at": "2026-01-05T10:00:00Z",
        "channel": "phone",
        "reason": "billing",
    }
    payload["contacts"].append({**contact, **fields})
    return payload


def test_ready_when_model_and_snapshot_are_loaded(client):
    assert client.get("/readyz").status_code == 200
    assert client.get("/livez").status_code == 200


def test_not_ready_without_a_model(tmp_path, monkeypatch):
    with make_client(tmp_path / "empty", monkeypatch) as c:
        assert c.get("/readyz").status_code == 503
        response = c.post("/score", json={"customer_ids": ["C000001"]})
        assert response.status_code == 503
        assert "not ready" in response.text


def test_score_by_id_matches_the_daily_list(client, trained):
    risk_list = trained["risk_list"]
    ids = risk_list["customer_id"].head(5).tolist()
    as_of = risk_list["cutoff_at"].iloc[0].isoformat()
    body = client.post("/score", json={"customer_ids": ids, "as_of": as_of}).json()
    assert body["model_version"] == trained["result"].version
    assert [r["customer_id"] for r in body["results"]] == ids
    for item, (_, row) in zip(body["results"], risk_list.head(5).iterrows(), strict=True):
        assert item["status"] == "ok" and item["source"] == "online"
        assert item["probability"] == pytest.approx(row["probability"], abs=1e-6)
        assert item["risk_tier"] == row["risk_tier"]
        assert [r["code"] for r in item["reasons"]] == [
            c for c in row["reason_codes"].split(",") if c
        ]
        assert all(r["contribution"] > 0 and r["text"] and r["action"] for r in item["reasons"])
        assert item["snapshot_date"] == row["scored_for"]


def test_unknown_and_ineligible_ids_fail_alone(client, trained):
    snapshot = trained["scorer"]  # noqa: F841 - the fixture guarantees a published snapshot
    known = trained["risk_list"]["customer_id"].iloc[0]
    body = client.post("/score", json={"customer_ids": ["NOPE", known]}).json()
    bad, good = body["results"]
    assert (
        bad["status"] == "error"
        and "unknown customer id" in bad["error"]
        and bad["probability"] is None
    )
    assert good["status"] == "ok"


def test_history_mode_equals_id_mode(client, trained):
    risk_list, history = trained["risk_list"], trained["history"]
    cid, cutoff = risk_list["customer_id"].iloc[0], risk_list["cutoff_at"].iloc[0]
    payload = history_payload(history, cid, cutoff)
    body = client.post(
        "/score", json={"customer_ids": [cid], "histories": [payload], "as_of": cutoff.isoformat()}
    ).json()
    by_id, by_history = body["results"]
    assert by_history["source"] == "history" and by_history["status"] == "ok"
    assert by_history["probability"] == pytest.approx(by_id["probability"], abs=1e-12)
    # The same reasons; a contribution may differ in its last bits (a customer's own running
    # sums against the snapshot's grouped ones feed a linear model's terms directly).
    assert [(r["code"], r["text"], r["features"]) for r in by_history["reasons"]] == [
        (r["code"], r["text"], r["features"]) for r in by_id["reasons"]
    ]
    for mine, theirs in zip(by_history["reasons"], by_id["reasons"], strict=True):
        assert mine["contribution"] == pytest.approx(theirs["contribution"], abs=1e-12)


def test_a_channel_the_model_never_saw_is_pooled_as_written(client, trained):
    """A channel of the customer's own is taken as written (no warning, no error): the model
    counts it with every other value it did not learn, so two such channels score alike."""

    def scored(channel: str) -> dict:
        payload, cutoff = top_customer_payload(trained)
        with_contact(payload, channel=channel)
        body = {"histories": [payload], "as_of": cutoff.isoformat()}
        return client.post("/score", json=body).json()["results"][0]

    fax, telex = scored("fax"), scored("Telex ")
    assert fax["status"] == telex["status"] == "ok"
    assert fax["warnings"] == telex["warnings"] == []
    assert fax["probability"] == pytest.approx(telex["probability"], abs=1e-12)


@pytest.mark.parametrize(
    "body",
    [
        {"customer_ids": "C1"},  # wrong type
        {"customer_ids": ["C1"], "surprise": 1},  # unknown field
        {"histories": [{"customer": {"segment": "retail"}}]},  # no customer id
        {"top_reasons": 99},  # out of range
    ],
)
def test_bad_input_is_a_4xx_not_a_5xx(client, body):
    response = client.post("/score", json=body)
    assert 400 <= response.status_code < 500, response.text


def test_out_of_range_sentiment_is_rejected_with_the_field(client, trained):
    payload, _ = top_customer_payload(trained)
    with_contact(payload, sentiment=140)
    response = client.post("/score", json={"histories": [payload]})
    assert response.status_code == 400
    assert "sentiment" in response.text


def test_openapi_documents_the_score_route(client):
    spec = client.get("/docs.json").json()
    assert "/score" in spec["paths"]
    schemas = spec["components"]["schemas"]
    assert any("CustomerScore" in name for name in schemas)


def test_a_batch_of_histories_keeps_each_items_errors_and_warnings_its_own(client, trained):
    listed = trained["risk_list"]
    cutoff = listed["cutoff_at"].iloc[0]
    a, b, c = (
        history_payload(trained["history"], cid, cutoff) for cid in listed["customer_id"][:3]
    )
    with_contact(b, started_at="2026-01-05T10:00:00Z", closed_at="2026-01-05T09:00:00Z")
    with_contact(c, channel="fax")
    body = {"histories": [a, b, a, c], "as_of": cutoff.isoformat()}
    items = client.post("/score", json=body).json()["results"]

    assert [i["status"] for i in items] == ["ok", "error", "error", "ok"]
    assert "contacts.closed_at" in items[1]["error"] and "before started_at" in items[1]["error"]
    assert "more than once" in items[2]["error"]
    assert all(i["warnings"] == [] for i in items)  # a channel of its own is no problem
    alone = client.post("/score", json={"histories": [a], "as_of": cutoff.isoformat()}).json()
    assert items[0]["probability"] == pytest.approx(alone["results"][0]["probability"], abs=1e-12)
    # A customer alone and in a batch: the same reasons (sums may differ in the last bit:
    # one customer's running sums skip the grouped, compensated path).
    mine, single = items[0]["reasons"], alone["results"][0]["reasons"]
    assert [(r["code"], r["text"]) for r in mine] == [(r["code"], r["text"]) for r in single]
    for r, q in zip(mine, single, strict=True):
        assert r["contribution"] == pytest.approx(q["contribution"], abs=1e-12)


def test_a_history_needs_only_what_the_contract_requires(client, trained):
    # The contract's required columns only: a customer id, contacts with id and start. The
    # profile is optional, sign-up is first sight (as in an export without a customers
    # table); with nothing to date the customer, the item says so.
    payload, cutoff = top_customer_payload(trained)
    bare = {
        "customer": {"customer_id": "NEW1"},
        "contacts": [
            {"contact_id": c["contact_id"], "started_at": c["started_at"]}
            for c in payload["contacts"]
        ],
    }
    nothing = {"customer": {"customer_id": "NEW2"}}
    body = {"histories": [bare, nothing], "as_of": cutoff.isoformat()}
    response = client.post("/score", json=body)
    assert response.status_code == 200
    first, second = response.json()["results"]
    assert first["status"] == "ok" and 0 < first["probability"] < 1
    assert second["status"] == "error" and "signup_at" in second["error"]
