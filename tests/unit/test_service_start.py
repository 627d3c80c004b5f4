"""Starting the service: a start that lost a race for one of BentoML's own ports is tried
again; one whose asked-for port is taken, or that failed otherwise, is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from radar import process

LOST = "zmq.error.ZMQError: Address already in use (addr='tcp://127.0.0.1:44817')\n"


class FakeServer:
    """A server process that has already exited, or is running."""

    def __init__(self, log: str, exited: bool) -> None:
        self.log, self.returncode = log, 1 if exited else None

    def poll(self) -> int | None:
        return self.returncode

    def terminate(self) -> None:
        self.returncode = self.returncode or -15

    def wait(self, timeout: float | None = None) -> int | None:
        return self.returncode


def start_with(monkeypatch, tmp_path: Path, config, servers: list[FakeServer]):
    """``start_service`` with each launch handing out the next of ``servers`` (its log line
    written as the real process would), readiness as the fake says; the launches made."""
    launched = []

    def popen(command, env, stdout, stderr):
        server = servers[len(launched)]
        stdout.write(server.log)
        launched.append(server)
        return server

    def wait_ready(url, proc, log_path, timeout, answers):
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}; see {log_path}")

    monkeypatch.setattr(process.subprocess, "Popen", popen)
    monkeypatch.setattr(process, "wait_ready", wait_ready)
    log = tmp_path / "service.log"
    return launched, log, lambda: process.start_service(config, 3000, log, env={})


@pytest.fixture
def config():
    from experiments.config import load_config

    return load_config()


def test_a_start_that_lost_a_race_for_bentoml_s_own_port_is_tried_again(
    monkeypatch, tmp_path, config
):
    servers = [FakeServer(LOST, exited=True), FakeServer("ready\n", exited=False)]
    launched, log, start = start_with(monkeypatch, tmp_path, config, servers)
    assert start() is servers[1]
    assert len(launched) == 2
    assert log.read_text() == LOST + "ready\n"  # both attempts kept


def test_a_start_is_not_tried_again_when_the_asked_for_port_is_taken_or_it_failed_otherwise(
    monkeypatch, tmp_path, config
):
    own = LOST.replace("44817", "3000")
    for first in (own, "ImportError: no module named x\n"):
        servers = [FakeServer(first, exited=True), FakeServer("ready\n", exited=False)]
        launched, _, start = start_with(monkeypatch, tmp_path, config, servers)
        with pytest.raises(RuntimeError, match="server exited"):
            start()
        assert len(launched) == 1


def test_races_lost_on_every_attempt_end_in_the_error(monkeypatch, tmp_path, config):
    servers = [FakeServer(LOST, exited=True) for _ in range(process.START_ATTEMPTS)]
    launched, _, start = start_with(monkeypatch, tmp_path, config, servers)
    with pytest.raises(RuntimeError, match="server exited"):
        start()
    assert len(launched) == process.START_ATTEMPTS


def test_only_the_latest_attempt_s_part_of_the_log_decides(tmp_path):
    log = tmp_path / "service.log"
    log.write_text(LOST + "ImportError: no module named x\n")
    assert process.lost_a_port_race(log, 3000)
    assert not process.lost_a_port_race(log, 3000, since=len(LOST))
    assert not process.lost_a_port_race(log, 44817)
