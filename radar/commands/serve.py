"""``radar serve``: the BentoML scoring service."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from radar.commands.common import config_of

NAME = "serve"
HELP = "start the BentoML scoring service"
SERVICE = "serving.api.service:ComplaintRadar"


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument(
        "--workers",
        type=int,
        help="processes on the port, each with its own online state, sharing the journal "
        "(default: serving.workers)",
    )


def run(args: argparse.Namespace) -> int:
    from radar.process import port_is_free, service_env
    from serving.api.auth import check_exposure

    config = config_of(args)
    host, port = args.host or config.serving.host, args.port or config.serving.port
    check_exposure(config, host)
    if not port_is_free(port, host):
        raise OSError(f"port {port} on {host} is in use: stop the other server or pass --port")
    workers = args.workers or config.serving.workers
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    env = service_env(config, args.config)
    env[OVERRIDES_ENV] = with_workers(env.get(OVERRIDES_ENV), workers)
    bentoml = str(Path(sys.executable).parent / "bentoml")
    command = [bentoml, "serve", SERVICE, "--host", host, "--port", str(port)]
    os.execve(bentoml, command, env)
    return 0  # not reached


OVERRIDES_ENV = "BENTOML_CONFIG_OVERRIDES"


def with_workers(overrides: str | None, workers: int) -> str:
    """BentoML's configuration overrides (JSON) with the service's worker count set."""
    merged = json.loads(overrides) if overrides else {}
    service = merged.setdefault("services", {}).setdefault("complaint_radar", {})
    service["workers"] = workers
    return json.dumps(merged)
