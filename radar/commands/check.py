"""``radar check``: profile a data folder before training on it."""

from __future__ import annotations

import argparse
from pathlib import Path

from radar.commands.common import config_of, mapping_argument

NAME = "check"
HELP = (
    "profile a data folder before training: tables, feature families, validation, positives "
    "per period (exit 1 when it is not ready to train and judge)"
)


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, required=True, help="folder of contract tables")
    p.add_argument("--json", type=Path, help="also write the report here as JSON")
    mapping_argument(p)


def run(args: argparse.Namespace) -> int:
    from data.fileio import write_json
    from radar.check import check_data, render

    report = check_data(config_of(args), args.data)
    print(render(report))
    if args.json:
        write_json(args.json, report)
        print(f"report: {args.json}")
    return 0 if report["ready"] else 1
