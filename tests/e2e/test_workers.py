"""`radar serve --workers 2`: each worker listens on the port itself, so the kernel spreads
connections, and an event posted through one worker reaches the others' scores."""

from __future__ import annotations

import shutil
import time

import httpx
import pandas as pd
import psutil
import pytest

from radar.process import free_port, start_service, stop

pytestmark = pytest.mark.slow


def test_two_workers_each_listen_and_agree(trained, tmp_path):
    root = tmp_path / "ws"  # a copy: the event posted below must not reach other tests
    shutil.copytree(trained["root"], root)
    workspace = trained["config"].workspace.model_copy(update={"root": root})
    config = trained["config"].model_copy(update={"workspace": workspace})
    port = free_port(0)
    proc = start_service(config, port, tmp_path / "service.log", workers=2)
    try:
        listening = {
            p.pid
            for p in psutil.Process(proc.pid).children(recursive=True)
            for c in p.net_connections(kind="tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == port
        }
        assert len(listening) == 2  # one socket per worker, not one shared by both

        calm = trained["risk_list"].iloc[-1]
        as_of = (calm["cutoff_at"] + pd.Timedelta(hours=2)).isoformat()
        url = f"http://127.0.0.1:{port}"
        body = {"customer_ids": [calm["customer_id"]], "as_of": as_of}

        def scores() -> set[float]:  # new connections: each may reach either worker
            return {
                round(httpx.post(f"{url}/score", json=body).json()["results"][0]["probability"], 12)
                for _ in range(20)
            }

        before = scores()
        contact = {
            "contact_id": "W-1", "customer_id": calm["customer_id"], "channel": "phone",
            "reason": "payment", "started_at": calm["cutoff_at"].isoformat(),
            "closed_at": (calm["cutoff_at"] + pd.Timedelta(minutes=40)).isoformat(),
            "resolved": False, "sentiment": -95,
        }  # fmt: skip
        posted = httpx.post(f"{url}/events", json={"contacts": [contact]}).json()
        assert [r["status"] for r in posted["results"]] == ["accepted"]
        time.sleep(1.0)  # the other worker follows the journal every 0.25 s
        after = scores()
        assert len(before) == 1 and len(after) == 1 and after != before
    finally:
        stop(proc)
