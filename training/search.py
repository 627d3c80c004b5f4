"""``radar search``: a small hyperparameter grid, one nested MLflow run per trial.

Every trial trains on the train period (early stopping and calibration on validation, as
in ``radar train``) and is judged on the validation period. The test period is never
looked at here, so choosing the best trial cannot flatter the test metrics that
``radar train`` reports afterwards.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd

from data.fileio import write_json
from data.load import load_history
from experiments.config import RadarConfig, with_section
from features.parameters import DEFAULT_PARAMETERS, FeatureParameters
from training import registry
from training.dataset import assemble
from training.fit import fit_model
from training.metrics import score_metrics

log = logging.getLogger(__name__)

SEARCH_FILE = "search.json"


@dataclass(frozen=True)
class SearchResult:
    run_id: str
    best_params: dict[str, object]
    trials: list[dict[str, object]]  # params, validation metrics, trees, seconds


def grid_trials(grid: dict[str, list]) -> list[dict[str, object]]:
    """Every combination of the grid, in a stable order."""
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())]


def search_frame(
    frame: pd.DataFrame, config: RadarConfig, parameters: FeatureParameters = DEFAULT_PARAMETERS
) -> SearchResult:
    """Run the grid on an assembled frame (its features built with ``parameters``); log a
    parent run with one nested run per trial."""
    trials = grid_trials(config.search.grid)
    metric = config.search.metric
    val = frame[frame["split"] == "validation"]
    day, label = val["cutoff_at"].dt.date.to_numpy(), val["label"].to_numpy()
    results: list[dict[str, object]] = []
    with mlflow.start_run(run_name="search", tags={"radar.kind": "search"}) as parent:
        mlflow.log_params({"search.metric": metric, "search.trials": len(trials)})
        mlflow.log_dict(config.search.grid, "grid.json")
        for i, params in enumerate(trials, start=1):
            started = time.perf_counter()
            trial_config = with_section(config, "model", **params)
            with mlflow.start_run(run_name=f"trial {i}", nested=True):
                model = fit_model(frame, trial_config, parameters)
                p = model.predict_proba(val)
                metrics = score_metrics(day, label, p, p, config.evaluation)
                mlflow.log_params(trial_config.model.model_dump())
                mlflow.log_metrics({f"validation.{k}": v for k, v in metrics.items()})
                mlflow.log_metric("best_iteration", model.best_iteration_)
            results.append(
                {
                    "params": params,
                    "validation": metrics,
                    "trees": model.best_iteration_,
                    "seconds": round(time.perf_counter() - started, 1),
                }
            )
            log.info(
                "trial %d/%d %s: validation %s %.4f (%d trees)",
                i,
                len(trials),
                params,
                metric,
                metrics[metric],
                model.best_iteration_,
            )
        best = max(results, key=lambda r: r["validation"][metric])
        mlflow.log_params({f"best.{k}": v for k, v in best["params"].items()})
        mlflow.log_metric(f"best.validation.{metric}", best["validation"][metric])
        mlflow.log_dict({"trials": results, "best": best}, SEARCH_FILE)
    return SearchResult(parent.info.run_id, dict(best["params"]), results)


def search(config: RadarConfig, data_dir: Path | str) -> SearchResult:
    """``radar search``: load, assemble, run the grid; write ``search.json`` to the workspace."""
    history, _ = load_history(Path(data_dir), config.workspace.data_rejects_dir, config.data)
    frame, _, parameters, _ = assemble(history, config)
    registry.connect(config)
    result = search_frame(frame, config, parameters)
    write_json(
        config.workspace.root / SEARCH_FILE,
        {"run_id": result.run_id, "best_params": result.best_params, "trials": result.trials},
    )
    return result
