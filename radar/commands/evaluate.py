"""``radar evaluate``: judge a registered version on a data folder's test period."""

from __future__ import annotations

import argparse
from pathlib import Path

from radar.commands.common import config_of, mapping_argument

NAME = "evaluate"
HELP = "evaluate a registered version (default: champion) on a data folder"


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--version", type=int, help="registered version (default: the champion)")
    mapping_argument(p)


def run(args: argparse.Namespace) -> int:
    from radar.console import print_evaluation
    from training.evaluate import evaluate_version

    evaluation, report = evaluate_version(config_of(args), args.data, args.version)
    print_evaluation(evaluation)
    print(f"report: {report}")
    return 0
