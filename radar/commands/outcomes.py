"""``radar outcomes import``: what happened when customers were contacted, from a file."""

from __future__ import annotations

import argparse
from pathlib import Path

from radar.commands.common import config_of

NAME = "outcomes"
HELP = "outreach outcomes (what happened when customers were contacted)"


def arguments(p: argparse.ArgumentParser, common: argparse.ArgumentParser | None = None) -> None:
    actions = p.add_subparsers(dest="action", required=True)
    i = actions.add_parser(
        "import",
        parents=[common] if common else [],
        help="record outcomes from a CSV or Parquet file",
    )
    i.add_argument(
        "file",
        type=Path,
        help="columns customer_id, contacted_at, reached, outcome_code, and optionally "
        "list_date and note (as POST /outcomes takes them)",
    )


def run(args: argparse.Namespace) -> int:
    from radar.outcomes import import_outcomes
    from serving.publication import known_customers

    config = config_of(args)
    known = known_customers(config.workspace.risk_lists_dir)  # as POST /outcomes knows them
    counts = import_outcomes(
        args.file, config.outcomes_url(), config.workspace.outcome_rejects_dir, known
    )
    print(
        f"outcomes from {args.file}: {counts['accepted']} new, {counts['updated']} corrected, "
        f"{counts['duplicate']} already recorded, {counts['rejected']} set aside"
    )
    return 0
