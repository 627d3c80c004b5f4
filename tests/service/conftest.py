"""An in-process ASGI client of the BentoML service on the trained test workspace."""

from __future__ import annotations

import shutil

import pytest
from prometheus_client import REGISTRY
from starlette.testclient import TestClient


def _forget_bentoml_metrics() -> None:
    # Each ASGI app registers BentoML's request metrics in the global Prometheus registry;
    # a second app in the same process (tests only) must not collide with the first.
    for collector, names in list(REGISTRY._collector_to_names.items()):
        if any(n.startswith("bentoml") for n in names):
            REGISTRY.unregister(collector)


def make_client(workspace, monkeypatch) -> TestClient:
    from serving.api.service import ComplaintRadar

    monkeypatch.setenv("RADAR_WORKSPACE", str(workspace))
    _forget_bentoml_metrics()
    # The service answers to its own host names only (an open service: loopback).
    return TestClient(ComplaintRadar.to_asgi(), base_url="http://127.0.0.1:3000")


@pytest.fixture
def workspace(trained, tmp_path):
    """(folder, config) of a private copy of the trained workspace, so a test may post to
    it, re-score it or break it."""
    ws = tmp_path / "ws"
    shutil.copytree(trained["root"], ws)
    config = trained["config"].model_copy(
        update={"workspace": trained["config"].workspace.model_copy(update={"root": ws})}
    )
    return ws, config


@pytest.fixture(scope="module")
def client(trained):
    mp = pytest.MonkeyPatch()
    with make_client(trained["root"], mp) as c:
        yield c
    mp.undo()
