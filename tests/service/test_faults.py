"""The service under faults and hostile input: a re-scored day, a broken snapshot, auth
misconfiguration, oversized or absurd requests, slow histories, quiet 4xx logs."""

from __future__ import annotations

import json
import logging
import shutil

import pandas as pd
import pytest
import yaml

from data.history import History
from serving.batch.risk_list import score_day
from serving.publication import LATEST, SNAPSHOT_FEATURES, SNAPSHOT_HISTORY
from tests.service.conftest import make_client
from tests.service.test_service import top_customer_payload, with_contact

pytestmark = pytest.mark.slow


def use_settings(tmp_path, monkeypatch, **serving) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump({"serving": serving}))
    monkeypatch.setenv("RADAR_CONFIG", str(path))


def test_rescoring_the_served_day_is_picked_up(trained, workspace, monkeypatch):
    ws, config = workspace
    cid = trained["risk_list"]["customer_id"].iloc[0]
    day = pd.Timestamp(trained["risk_list"]["cutoff_at"].iloc[0]).date()
    h = trained["history"]
    calmer = History.from_frames(
        h.customers,
        h.contacts[h.contacts["customer_id"] != cid],
        h.complaints,
        h.events[h.events["customer_id"] != cid],
        h.incidents,
        h.observed_until,
    ).with_observed_from(h.observed_from)
    at_list = {"customer_ids": [cid], "as_of": pd.Timestamp(day).tz_localize("UTC").isoformat()}
    with make_client(ws, monkeypatch) as c:
        before = c.post("/score", json=at_list).json()["results"][0]
        _, relisted = score_day(
            calmer, trained["scorer"], day, config.workspace.risk_lists_dir, config.labels
        )
        assert c.post("/reload").json()["reloaded"]
        after = c.post("/score", json=at_list).json()["results"][0]
    new = relisted.set_index("customer_id").loc[cid, "probability"]
    assert after["probability"] == pytest.approx(new, abs=1e-6)
    assert abs(after["probability"] - before["probability"]) > 1e-3


def test_a_snapshot_missing_a_column_keeps_the_old_state_and_never_crashes(
    trained, workspace, monkeypatch
):
    ws, config = workspace
    cid = trained["risk_list"]["customer_id"].iloc[0]
    # One moment for both answers: as of now, a second boundary between them moves features.
    ask = {"customer_ids": [cid], "as_of": trained["risk_list"]["cutoff_at"].iloc[0].isoformat()}
    lists = config.workspace.risk_lists_dir
    with make_client(ws, monkeypatch) as c:
        served = c.post("/score", json=ask).json()
        pointer = json.loads((lists / LATEST).read_text())
        published = lists / pointer["path"] / SNAPSHOT_FEATURES
        pd.read_parquet(published).drop(columns=["contacts_7d"]).to_parquet(published)
        (lists / LATEST).write_text(json.dumps({**pointer, "publication": "broken"}))
        answer = c.post("/reload")
        assert answer.status_code == 200
        body = answer.json()
        assert not body["reloaded"] and "contacts_7d" in body["problems"][0]
        again = c.post("/score", json=ask).json()
        assert again["results"][0]["probability"] == served["results"][0]["probability"]
    # A restart on the broken snapshot: alive, not ready, no crash.
    with make_client(ws, monkeypatch) as c:
        assert c.get("/livez").status_code == 200
        assert c.get("/readyz").status_code == 503
        assert "contacts_7d" in c.post("/score", json={"customer_ids": [cid]}).text


def test_a_snapshot_without_its_history_says_how_to_fix_it(trained, workspace, monkeypatch):
    ws, config = workspace
    lists = config.workspace.risk_lists_dir
    pointer = json.loads((lists / LATEST).read_text())
    shutil.rmtree(lists / pointer["path"] / SNAPSHOT_HISTORY)  # as an older version wrote it
    with make_client(ws, monkeypatch) as c:
        assert c.get("/readyz").status_code == 503
        problem = c.post("/reload").json()["problems"][0]
    assert "no published history" in problem and "radar score" in problem


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_token_closes_the_scoring_routes(trained, monkeypatch, blank):
    monkeypatch.setenv("RADAR_API_TOKEN", blank)
    cid = trained["risk_list"]["customer_id"].iloc[0]
    with make_client(trained["root"], monkeypatch) as c:
        response = c.post("/score", json={"customer_ids": [cid]})
        assert response.status_code == 503 and "RADAR_API_TOKEN" in response.text
        assert c.post("/reload").status_code == 503
        assert c.get("/livez").status_code == 200


def test_bodies_over_the_limit_are_refused_before_parsing(trained, tmp_path, monkeypatch):
    use_settings(tmp_path, monkeypatch, max_body_bytes=4096)
    big = {"customer_ids": ["C" * 100] * 60}  # ~6 kB
    with make_client(trained["root"], monkeypatch) as c:
        assert c.post("/score", json=big).status_code == 413
        chunks = (json.dumps(big)[i : i + 500].encode() for i in range(0, 7000, 500))
        chunked = c.post("/score", content=chunks, headers={"content-type": "application/json"})
        assert chunked.status_code == 413
        small = c.post("/score", json={"customer_ids": ["C000001"]})
        assert small.status_code == 200


def test_slow_history_scoring_is_cut_off(trained, tmp_path, monkeypatch):
    use_settings(tmp_path, monkeypatch, history_timeout_seconds=1e-6)
    payload, cutoff = top_customer_payload(trained)
    with make_client(trained["root"], monkeypatch) as c:
        response = c.post("/score", json={"histories": [payload], "as_of": cutoff.isoformat()})
    assert response.status_code == 503 and "history_timeout_seconds" in response.text


@pytest.mark.parametrize(
    "fields",
    [
        {"wait_seconds": 1e308},
        {"handle_seconds": 10**12},
        {"contact_id": "K" * 500},
        {"channel": "x" * 1000},
    ],
)
def test_absurd_values_in_a_history_are_a_400(client, trained, fields):
    payload, cutoff = top_customer_payload(trained)
    with_contact(payload, **fields)
    response = client.post("/score", json={"histories": [payload], "as_of": cutoff.isoformat()})
    assert response.status_code == 400, response.text


def test_infinity_is_not_a_number(client, trained):
    payload, cutoff = top_customer_payload(trained)
    with_contact(payload, wait_seconds="__INF__")
    body = json.dumps({"histories": [payload], "as_of": cutoff.isoformat()})
    body = body.replace('"__INF__"', "Infinity")
    response = client.post("/score", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400 and "wait_seconds" in response.text


def test_an_overlong_id_is_a_400(client):
    assert client.post("/score", json={"customer_ids": ["C" * 1000]}).status_code == 400


def test_a_400_is_one_quiet_line_not_an_error_traceback(client, caplog):
    with caplog.at_level(logging.DEBUG):
        assert client.post("/score", json={"customer_ids": "nope"}).status_code == 400
        assert client.post("/score", json={"top_reasons": 11}).status_code == 400
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "Traceback" not in caplog.text


def test_large_id_batches_leave_the_event_loop(client, trained, monkeypatch):
    import anyio.to_thread

    calls = []
    real = anyio.to_thread.run_sync

    async def spy(fn, *args, **kwargs):
        calls.append(fn.__name__)
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", spy)
    ids = trained["risk_list"]["customer_id"].head(200).tolist()
    assert client.post("/score", json={"customer_ids": ids[:1]}).status_code == 200
    assert calls == []
    assert client.post("/score", json={"customer_ids": ids}).status_code == 200
    assert calls == ["_score"]
