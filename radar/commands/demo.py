"""``radar demo``: the whole product once, on a synthetic world."""

from __future__ import annotations

import argparse

from data.fileio import workspace_lock
from radar.commands.common import config_of

NAME = "demo"
HELP = "simulate -> train -> register -> risk list -> service check -> outreach loop"


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--customers", type=int)
    p.add_argument("--days", type=int)
    p.add_argument("--port", type=int)
    p.add_argument("--fresh", action="store_true", help="regenerate the world even if it exists")


def run(args: argparse.Namespace) -> int:
    from radar.demo import run_demo
    from radar.process import service_env

    config = config_of(args)
    with workspace_lock(config.workspace.root, NAME):
        return run_demo(config, args, service_env(config, args.config))
