"""The real server: `radar serve` (bentoml serve) on a free loopback port, called with the
BentoML client, then its Prometheus metrics."""

from __future__ import annotations

import bentoml
import httpx
import pytest

from radar.process import free_port, start_service, stop

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(trained, tmp_path_factory):
    port = free_port(0)
    log = tmp_path_factory.mktemp("server") / "service.log"
    proc = start_service(trained["config"], port, log, timeout=120)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def test_bentoml_client_scores_like_the_list(server, trained):
    risk_list = trained["risk_list"]
    ids = risk_list["customer_id"].head(3).tolist()
    with bentoml.SyncHTTPClient(server) as client:
        body = client.score(
            customer_ids=[*ids, "NOPE"], as_of=risk_list["cutoff_at"].iloc[0].isoformat()
        )
    results = body["results"] if isinstance(body, dict) else body.model_dump()["results"]
    assert [r["customer_id"] for r in results] == [*ids, "NOPE"]
    for r, p in zip(results[:3], risk_list["probability"].head(3), strict=True):
        assert r["status"] == "ok" and r["probability"] == pytest.approx(p, abs=1e-6)
    assert results[3]["status"] == "error"


def test_metrics_count_scores_by_tier(server, trained):
    httpx.post(
        f"{server}/score",
        json={"customer_ids": trained["risk_list"]["customer_id"].head(3).tolist()},
        timeout=30,
    )
    text = httpx.get(f"{server}/metrics", timeout=30).text
    assert "complaint_radar_probability_bucket" in text
    assert 'complaint_radar_scored_total{tier="' in text
    assert "bentoml_service_request_duration_seconds" in text
