"""Operating the service: authentication, hot reload of champion and snapshot, metrics."""

from __future__ import annotations

import shutil
import time
from datetime import date

import pytest
import yaml

from experiments.config import load_config
from serving.batch.risk_list import score_day
from serving.scorer import Scorer
from tests.service.conftest import make_client
from training import registry
from training.train import train

pytestmark = pytest.mark.slow


def test_scoring_needs_the_bearer_token_when_one_is_set(trained, monkeypatch):
    monkeypatch.setenv("RADAR_API_TOKEN", "s3cret")
    cid = trained["risk_list"]["customer_id"].iloc[0]
    with make_client(trained["root"], monkeypatch) as c:
        assert c.post("/score", json={"customer_ids": [cid]}).status_code == 401
        wrong = c.post(
            "/score", json={"customer_ids": [cid]}, headers={"Authorization": "Bearer nope"}
        )
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        ok = c.post(
            "/score", json={"customer_ids": [cid]}, headers={"Authorization": "Bearer s3cret"}
        )
        assert ok.status_code == 200
        # Probes and docs stay open (metrics: see the real-server test).
        assert c.get("/readyz").status_code == 200
        assert c.get("/docs.json").status_code == 200


def test_a_new_snapshot_and_champion_are_picked_up_without_restart(
    trained, small_world, tmp_path, monkeypatch
):
    ws = tmp_path / "ws"
    shutil.copytree(trained["root"], ws)
    settings = {"serving": {"reload_seconds": 0.5}}
    (tmp_path / "fast_reload.yaml").write_text(yaml.safe_dump(settings))
    monkeypatch.setenv("RADAR_CONFIG", str(tmp_path / "fast_reload.yaml"))
    config = trained["config"].model_copy(
        update={"workspace": trained["config"].workspace.model_copy(update={"root": ws})}
    )
    cid = trained["risk_list"]["customer_id"].iloc[0]
    with make_client(ws, monkeypatch) as c:
        first = c.post("/score", json={"customer_ids": [cid]}).json()
        assert first["model_version"] == "1"

        # A new snapshot for an earlier day, published while the service runs: POST /reload.
        day = date.fromisoformat(first["snapshot_date"]).replace(day=1)
        score_day(
            trained["history"],
            trained["scorer"],
            day,
            config.workspace.risk_lists_dir,
            config.labels,
        )
        reloaded = c.post("/reload").json()
        assert reloaded["reloaded"] and reloaded["snapshot_date"] == day.isoformat()
        assert (
            c.post("/score", json={"customer_ids": [cid]}).json()["snapshot_date"]
            == day.isoformat()
        )

        # A new champion: the watcher notices within a few polls.
        result = train(config, small_world)
        registry.set_alias(
            registry.connect(config), config.registry.model_name, registry.CHAMPION, result.version
        )
        deadline = time.monotonic() + 20
        version = None
        while time.monotonic() < deadline and version != result.version:
            version = c.post("/score", json={"customer_ids": [cid]}).json()["model_version"]
            time.sleep(0.2)
        assert version == result.version
        assert Scorer.from_registry(config).model_version == result.version


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({}, 200, '"results":[]'),  # nobody asked for: nobody answered
        ({"customer_ids": [f"C{i}" for i in range(1001)]}, 400, "customer_ids"),
        # A moment that has not happened: well-formed, so every item fails, not the request.
        ({"customer_ids": ["C1"], "as_of": "2999-01-01T00:00:00Z"}, 200, "as_of: timestamp is in"),
        ({"customer_ids": ["C1"], "as_of": "2026-01-01T00:00:00"}, 400, "as_of"),  # no timezone
    ],
)
def test_request_level_errors_are_specific(client, body, status, needle):
    response = client.post("/score", json=body)
    assert response.status_code == status and needle in response.text


def test_future_contact_in_a_history_is_rejected_and_not_echoed(client, trained):
    from tests.service.test_service import top_customer_payload, with_contact

    payload, _ = top_customer_payload(trained)
    with_contact(payload, started_at="2999-05-05T10:00:00Z")
    response = client.post("/score", json={"histories": [payload]})
    assert response.status_code == 200  # the item fails, not the request
    item = response.json()["results"][0]
    assert item["status"] == "error" and "started_at: timestamp is in the future" in item["error"]
    assert "2999" not in response.text


def test_config_defaults_are_safe():
    serving = load_config().serving
    assert (
        serving.host == "127.0.0.1" and serving.model_version is None and serving.max_batch == 1100
    )


def test_posted_history_values_never_reach_the_logs(client, trained, caplog):
    from tests.service.test_service import top_customer_payload, with_contact

    payload, cutoff = top_customer_payload(trained)
    secret = "SECRET-REGION-4711"
    payload["customer"]["region"] = secret
    with_contact(payload, channel="fax")
    with caplog.at_level("DEBUG"):
        assert (
            client.post(
                "/score", json={"histories": [payload], "as_of": cutoff.isoformat()}
            ).status_code
            == 200
        )
        bad = dict(payload, customer={**payload["customer"], "bill_day": 99})
        assert client.post("/score", json={"histories": [bad]}).status_code == 400
    assert secret not in caplog.text and "fax" not in caplog.text
