"""``radar train``: train, evaluate, log to MLflow, register, maybe promote."""

from __future__ import annotations

import argparse

from data.fileio import workspace_lock
from experiments.config import with_section
from radar.commands.common import config_of, data_source, engine_argument, mapping_argument

NAME = "train"
HELP = "train, evaluate, log to MLflow, register, maybe promote"


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        type=data_source,
        required=True,
        help="folder of contract tables (Parquet or CSV); with --engine spark also a URI "
        "(hdfs://, s3a://, gs://...)",
    )
    p.add_argument(
        "--search",
        action="store_true",
        help="run the search grid first (nested MLflow runs) and train with the best trial",
    )
    engine_argument(
        p,
        "where labels and features are built: in this process, or on Apache Spark (the spark: "
        "section of the config); the model is fitted here either way",
    )
    mapping_argument(p)


def run(args: argparse.Namespace) -> int:
    from radar.console import print_evaluation
    from training.train import train

    config = config_of(args)
    if args.search:
        config = with_section(config, "search", enabled=True)
    with workspace_lock(config.workspace.root, NAME):
        result = train(config, args.data, engine=args.engine)
        print_evaluation(result.evaluation)
        print(f"evaluation: {result.evaluation_path}")
        return 0
