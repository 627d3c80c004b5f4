"""``radar score``: the day's risk list with today's outreach, and the service's snapshot."""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

from data.fileio import workspace_lock
from experiments.config import RadarConfig, with_section
from radar.commands.common import (
    config_of,
    data_source,
    engine_argument,
    load_export,
    mapping_argument,
)

NAME = "score"
HELP = "write the daily risk list and the service snapshot"


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data", type=data_source, required=True, help="as for train (a URI: --engine spark)"
    )
    p.add_argument("--date", help="YYYY-MM-DD (default: the day the data ends)")
    p.add_argument(
        "--out",
        type=data_source,
        help="default: WORKSPACE/risk_lists (spark: spark.output, may be a URI)",
    )
    engine_argument(
        p,
        "spark: scores and reasons on Apache Spark, Parquet partitioned by date (no outreach "
        "assignment or page; see docs/scale.md)",
    )
    mapping_argument(p)


def run(args: argparse.Namespace) -> int:
    config = config_of(args)
    with workspace_lock(config.workspace.root, NAME):
        if args.engine == "spark":
            return _on_spark(config, args)
        if isinstance(args.data, str):
            raise SystemExit(
                f"{args.data}: a URI needs --engine spark (the embedded engine reads local folders)"
            )
        day = date.fromisoformat(args.date) if args.date else None
        out = Path(args.out) if args.out else None
        path, risk_list = score(config, args.data, day, out)
        from serving.batch.risk_list import preview

        print(preview(risk_list, 10))
        drawn = risk_list["assignment"].value_counts()
        print(
            f"today: {drawn.get('contact', 0)} to contact, {drawn.get('holdout', 0)} held out "
            "at random as the control group"
        )
        print(f"risk list: {path / 'risk_list.html'} (also .csv, .parquet)")
        return 0


def score(
    config: RadarConfig, data: Path, day: date | None, out: Path | None
) -> tuple[Path, object]:
    """Load the export, fold in what the service journaled since, score and publish ``day``
    (default: the day the data ends)."""
    history = history_to_score(config, data)
    return score_history(config, history, day or history.observed_until.date(), out)


def history_to_score(config: RadarConfig, data: Path):
    """The export, validated, with what the service journaled since folded in."""
    from serving.api.journal import EventJournal, journal_exists
    from training.dataset import observed_from_the_start

    history = load_export(config, data)
    history = observed_from_the_start(history, config.split)
    if journal_exists(config.journal_url()):  # events posted to the service since
        history = EventJournal(config.journal_url()).fold_into(history)
    return history


def score_history(
    config: RadarConfig, history, day: date, out: Path | None = None
) -> tuple[Path, object]:
    """Score and publish ``day`` of ``history`` with the registered champion."""
    from serving.batch.risk_list import score_day
    from serving.outreach.outcomes import call_notes
    from serving.scorer import Scorer
    from training.registry import load_uplift
    from training.uplift import CALLS_MADE_WORSE

    uplift = load_uplift(config)
    reads_notes = uplift is not None and CALLS_MADE_WORSE in uplift[0].feature_names
    return score_day(
        history,
        Scorer.from_registry(config),
        day,
        out or config.workspace.risk_lists_dir,
        config.labels,
        config.evaluation,
        config.outreach,
        uplift,
        call_notes(config.outcomes_url()) if reads_notes else None,
    )


def _on_spark(config: RadarConfig, args: argparse.Namespace) -> int:
    from data.contract import ContractError
    from data.mapping import SPARK_READS_THE_CONTRACT
    from serving.batch.spark_scoring import score_on_spark
    from serving.scorer import Scorer

    if args.out:
        config = with_section(config, "spark", output=str(args.out))
    if not args.date:
        raise SystemExit("radar score --engine spark needs --date YYYY-MM-DD")
    if config.data.mapping is not None:
        raise ContractError(SPARK_READS_THE_CONTRACT)
    day = date.fromisoformat(args.date)
    summary = score_on_spark(config, args.data, day, Scorer.from_registry(config))
    print(json.dumps(summary, indent=2))
    return 0
