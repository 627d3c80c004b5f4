"""``radar config``: the effective configuration as YAML."""

from __future__ import annotations

import argparse

from radar.commands.common import config_of

NAME = "config"
HELP = "print the effective configuration as YAML (copy it to start an experiment)"


def arguments(p: argparse.ArgumentParser) -> None:
    return None


def run(args: argparse.Namespace) -> int:
    from experiments.config import render_yaml

    print(render_yaml(config_of(args)), end="")
    return 0
