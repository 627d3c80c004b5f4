"""``radar search``: the hyperparameter grid, each trial judged on validation."""

from __future__ import annotations

import argparse
from pathlib import Path

from data.fileio import workspace_lock
from radar.commands.common import config_of, mapping_argument

NAME = "search"
HELP = "hyperparameter grid on validation, one nested MLflow run per trial"


def arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, required=True)
    mapping_argument(p)


def run(args: argparse.Namespace) -> int:
    from training.search import SEARCH_FILE, search

    config = config_of(args)
    with workspace_lock(config.workspace.root, NAME):
        result = search(config, args.data)
        metric = config.search.metric
        print(f"{'trial':>5}  {'validation ' + metric:>30}  {'trees':>5}  params")
        for i, trial in enumerate(result.trials, start=1):
            score = trial["validation"][metric]
            print(f"{i:>5}  {score:>30.4f}  {trial['trees']:>5}  {trial['params']}")
        print(f"best: {result.best_params} (MLflow run {result.run_id})")
        print(
            f"to train with it, put these under model: in your experiment YAML: {result.best_params}"
        )
        print(f"trials: {config.workspace.root / SEARCH_FILE}")
        return 0
