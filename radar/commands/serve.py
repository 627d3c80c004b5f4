"""``radar serve``: the BentoML scoring service."""

from __future__ import annotations

import argparse
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


def run(args: argparse.Namespace) -> int:
    from radar.process import port_is_free, service_env
    from serving.api.auth import check_exposure

    config = config_of(args)
    host, port = args.host or config.serving.host, args.port or config.serving.port
    check_exposure(config, host)
    if not port_is_free(port, host):
        raise OSError(f"port {port} on {host} is in use: stop the other server or pass --port")
    bentoml = str(Path(sys.executable).parent / "bentoml")
    command = [bentoml, "serve", SERVICE, "--host", host, "--port", str(port)]
    os.execve(bentoml, command, service_env(config, args.config))
    return 0  # not reached
