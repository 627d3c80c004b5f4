"""A team's MLflow: a real ``mlflow server`` with its backend store on PostgreSQL and the
artifacts it serves itself. One workspace trains and registers; another, which shares
nothing with the first but the server, publishes a list and serves the champion."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pandas as pd
import pytest

from experiments.config import user_tracking_uri
from radar.cli import main
from radar.process import free_port, service_env, start_service, stop, wait_ready
from tests.conftest import small_config
from tests.postgres import fresh_database

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tracking_server(postgresql_url, tmp_path_factory):
    """http://... of an MLflow server: runs and registry in PostgreSQL, artifacts served."""
    folder = tmp_path_factory.mktemp("mlflow-server")
    port = free_port(0)
    mlflow = Path(sys.executable).parent / "mlflow"
    command = [
        mlflow, "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", fresh_database(postgresql_url, "mlflow"),
        "--serve-artifacts", "--artifacts-destination", str(folder / "artifacts"),
    ]  # fmt: skip
    log = folder / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_ready(f"http://127.0.0.1:{port}/health", proc, log, timeout=120)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


@pytest.fixture
def team_store(tracking_server, monkeypatch):
    """MLFLOW_TRACKING_URI at the server for this test only (the product reads the variable
    once per process: forgotten before and after)."""
    before = user_tracking_uri()  # what this process read first (MLflow rewrites the variable)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_server)
    user_tracking_uri.cache_clear()
    yield tracking_server
    user_tracking_uri.cache_clear()
    with pytest.MonkeyPatch.context() as mp:  # the next tests read what this process read
        if before is None:
            mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        else:
            mp.setenv("MLFLOW_TRACKING_URI", before)
        assert user_tracking_uri() == before


def test_train_on_one_workspace_and_serve_the_champion_from_another(
    team_store, small_world, tmp_path
):
    from training.train import train

    laptop, server = tmp_path / "laptop", tmp_path / "serving-host"
    result = train(small_config(laptop), small_world)
    assert result.promoted
    shutil.rmtree(laptop)  # the serving host must need nothing from the training machine
    assert not any(server.glob("**/*"))

    base = ["--workspace", str(server)]
    assert main([*base, "score", "--data", str(small_world)]) == 0
    assert not (server / "mlflow.db").exists() and not (server / "mlartifacts").exists()

    config = small_config(server)
    port = free_port(0)
    proc = start_service(config, port, tmp_path / "service.log", env=service_env(config))
    try:
        info = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
        assert info.status_code == 200
        listed = pd.read_parquet(next(server.glob("risk_lists/*/risk_list.parquet")))
        body = {"customer_ids": listed["customer_id"].head(2).tolist(), "top_reasons": 2}
        scored = httpx.post(f"http://127.0.0.1:{port}/score", json=body, timeout=30).json()
        assert scored["model_version"] == str(result.version)
        assert [r["status"] for r in scored["results"]] == ["ok", "ok"]
    finally:
        stop(proc)
