"""Two replicas of the service sharing one event journal on a real PostgreSQL server: an
event posted to one changes the other's score within a second, a replica that restarts has
it, and killing a replica under load loses no acknowledged event."""

from __future__ import annotations

import shutil
import threading
import time

import httpx
import pandas as pd
import psutil
import pytest

from radar.process import free_port, service_env, start_service, stop
from serving.api.journal import EventJournal
from tests.postgres import fresh_database

pytestmark = pytest.mark.slow

AGREEMENT_SECONDS = 1.0  # what a CRM behind a load balancer may see differ, at most


class Replicas:
    """Service processes on copies of the trained workspace, all on one journal."""

    def __init__(self, trained, journal_url: str, folder) -> None:
        self.trained, self.journal_url, self.folder = trained, journal_url, folder
        self.procs: dict[str, object] = {}
        self.urls: dict[str, str] = {}

    def start(self, name: str) -> None:
        root = self.folder / name
        if not root.exists():
            shutil.copytree(self.trained["root"], root)
        workspace = self.trained["config"].workspace.model_copy(update={"root": root})
        config = self.trained["config"].model_copy(update={"workspace": workspace})
        env = service_env(config)
        env["RADAR_JOURNAL_URL"] = self.journal_url
        port = free_port(0)
        log = self.folder / f"{name}.log"
        self.procs[name] = start_service(config, port, log, env=env, timeout=120)
        self.urls[name] = f"http://127.0.0.1:{port}"

    def stop(self, name: str) -> None:
        stop(self.procs.pop(name))

    def kill(self, name: str) -> None:
        """kill -9 of the replica: its server and every worker at once."""
        proc = self.procs.pop(name)
        tree = psutil.Process(proc.pid)
        for p in [*tree.children(recursive=True), tree]:
            p.kill()
        proc.wait()

    def score(self, name: str, customer: str, as_of: str) -> float:
        body = {"customer_ids": [customer], "as_of": as_of}
        response = httpx.post(f"{self.urls[name]}/score", json=body, timeout=10)
        result = response.json()["results"][0]
        assert result["status"] == "ok", result
        return result["probability"]

    def post(self, name: str, contacts: list[dict], timeout: float = 10) -> list[str]:
        body = {"contacts": contacts}
        response = httpx.post(f"{self.urls[name]}/events", json=body, timeout=timeout)
        response.raise_for_status()
        return [r["status"] for r in response.json()["results"]]

    def close(self) -> None:
        for name in list(self.procs):
            self.stop(name)


@pytest.fixture(scope="module")
def replicas(trained, postgresql_url, tmp_path_factory):
    group = Replicas(
        trained, fresh_database(postgresql_url, "replicas"), tmp_path_factory.mktemp("replicas")
    )
    try:
        group.start("a")
        group.start("b")
        yield group
    finally:
        group.close()


def angry_contacts(customer: str, start, prefix: str, n: int) -> list[dict]:
    """``n`` angry, unresolved calls an hour apart from ``start``."""
    out = []
    for i in range(n):
        began = start + pd.Timedelta(hours=i)
        out.append({
            "contact_id": f"{prefix}-{i}", "customer_id": customer, "channel": "phone",
            "reason": "payment", "started_at": began.isoformat(),
            "closed_at": (began + pd.Timedelta(minutes=30)).isoformat(),
            "resolved": False, "sentiment": -95,
        })  # fmt: skip
    return out


def test_an_event_posted_to_one_replica_changes_the_others_score_within_a_second(replicas, trained):
    calm = trained["risk_list"].iloc[-1]
    customer, cutoff = calm["customer_id"], calm["cutoff_at"]
    as_of = (cutoff + pd.Timedelta(hours=7)).isoformat()
    before = replicas.score("b", customer, as_of)
    assert replicas.score("a", customer, as_of) == pytest.approx(before, abs=1e-12)

    assert replicas.post("a", angry_contacts(customer, cutoff, "AGREE", 6)) == ["accepted"] * 6
    posted, after_a = time.monotonic(), replicas.score("a", customer, as_of)
    assert after_a > before  # six angry calls raise the risk where they were posted
    while (after_b := replicas.score("b", customer, as_of)) == pytest.approx(before, abs=1e-12):
        assert time.monotonic() - posted < AGREEMENT_SECONDS, "replica b never saw the event"
        time.sleep(0.02)
    assert after_b == pytest.approx(after_a, abs=1e-12)
    print(f"replica b agreed {time.monotonic() - posted:.3f} s after the post to a")

    replicas.stop("b")  # a restarted replica replays the shared journal
    replicas.start("b")
    assert replicas.score("b", customer, as_of) == pytest.approx(after_a, abs=1e-12)


def test_killing_a_replica_under_load_loses_no_acknowledged_event(replicas, trained):
    customer = trained["risk_list"]["customer_id"].iloc[0]
    cutoff = trained["risk_list"]["cutoff_at"].iloc[0]
    acknowledged: list[str] = []

    def load() -> None:
        for n in range(100_000):
            contact = angry_contacts(customer, cutoff, f"LOAD-{n}", 1)[0]
            try:
                status = replicas.post("a", [contact], timeout=5)
            except httpx.HTTPError:
                return  # the replica is gone: nothing after this was acknowledged
            if status == ["accepted"]:
                acknowledged.append(contact["contact_id"])

    poster = threading.Thread(target=load)
    poster.start()
    time.sleep(3)
    replicas.kill("a")
    poster.join(timeout=30)
    assert len(acknowledged) > 20, "the load never got going"
    print(f"{len(acknowledged)} events acknowledged before the kill")
    recorded = set(EventJournal(replicas.journal_url).frames()["contacts"]["contact_id"])
    assert set(acknowledged) <= recorded
    # The surviving replica answers from the same journal: a retry of any of them is known.
    assert replicas.post("b", angry_contacts(customer, cutoff, "LOAD-0", 1)) == ["duplicate"]
