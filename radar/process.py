"""Helpers for the processes the commands start: the service's environment, a free port,
waiting for readiness, stopping."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from experiments.config import CONFIG_ENV, DEFAULT_CONFIG, WORKSPACE_ENV, RadarConfig

READY_TIMEOUT_SECONDS = 180
# BentoML's process manager picks its own control ports free, lets them go and binds them a
# moment later; a connection opened meanwhile (any client's, ours polling readiness too) can
# take one. A start that lost such a race is tried again, this many times in all.
START_ATTEMPTS = 3
_PORT_TAKEN = re.compile(r"Address already in use \(addr='tcp://[^']*:(\d+)'\)")


def service_env(config: RadarConfig, config_path: Path | None = None) -> dict[str, str]:
    """Environment for a service process: the same config file, workspace and MLflow store.

    The store is set explicitly because MLflow writes ``MLFLOW_TRACKING_URI`` into this
    process's environment whenever a store is used, whichever store that was.
    """
    env = dict(os.environ)
    env[CONFIG_ENV] = str(
        Path(config_path or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG).resolve()
    )
    env[WORKSPACE_ENV] = str(config.workspace.root.resolve())
    env["MLFLOW_TRACKING_URI"] = config.workspace.mlflow_uri
    env.setdefault("BENTOML_DO_NOT_TRACK", "true")
    return env


def free_port(preferred: int, host: str = "127.0.0.1") -> int:
    """``preferred`` if it is free on ``host``, else any free port."""
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise OSError("no free port")


def start_service(
    config: RadarConfig,
    port: int,
    log_path: Path,
    env: dict[str, str] | None = None,
    timeout: float = READY_TIMEOUT_SECONDS,
    workers: int = 1,
) -> subprocess.Popen:
    """``radar serve`` on ``port`` of the configured host, output to ``log_path``; returns
    once it is ready, every worker of it (the process is stopped if it never gets there)."""
    host = config.serving.host
    command = [sys.executable, "-m", "radar.cli", "serve", "--port", str(port), "--host", host]
    # Each new connection may reach another worker: several answers in a row mean all.
    answers = 1 if workers == 1 else 10 * workers
    for attempt in range(1, START_ATTEMPTS + 1):
        since = log_path.stat().st_size if attempt > 1 else 0  # this attempt's part of the log
        with log_path.open("w" if attempt == 1 else "a") as log_file:
            proc = subprocess.Popen(
                [*command, "--workers", str(workers)],
                env=env or service_env(config),
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_ready(f"http://{host}:{port}/readyz", proc, log_path, timeout, answers)
            return proc
        except RuntimeError:
            stop(proc)
            if attempt == START_ATTEMPTS or not lost_a_port_race(log_path, port, since):
                raise
        except BaseException:
            stop(proc)
            raise
    raise AssertionError("unreachable")


def lost_a_port_race(log_path: Path, port: int, since: int = 0) -> bool:
    """Whether a server that exited while starting (its log from byte ``since``) found one
    of the process manager's own ports taken (worth another try), not ``port``, the one
    asked for (not worth one)."""
    with log_path.open("rb") as log:
        log.seek(since)
        taken = _PORT_TAKEN.findall(log.read().decode(errors="replace"))
    return bool(taken) and int(taken[-1]) != port


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def stop(proc: subprocess.Popen, timeout: float = 30) -> None:
    """Ask a server to stop; kill it if it has not within ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()


def wait_ready(
    url: str,
    proc: subprocess.Popen,
    log_path: Path,
    timeout: float = READY_TIMEOUT_SECONDS,
    answers: int = 1,
) -> None:
    """Poll ``url`` until it answers 200 ``answers`` times in a row, each on a new connection;
    fail early if ``proc`` dies (its log says why)."""
    deadline, in_a_row = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}; see {log_path}")
        try:
            in_a_row = in_a_row + 1 if httpx.get(url, timeout=2).status_code == 200 else 0
        except httpx.HTTPError:
            in_a_row = 0
        if in_a_row >= answers:
            return
        if in_a_row == 0:
            time.sleep(0.3)
    raise TimeoutError(f"server not ready after {timeout:.0f} s; see {log_path}")
