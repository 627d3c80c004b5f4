"""``radar train``: history -> training set -> candidate models (chosen on validation) ->
evaluation -> MLflow run -> registered version (``challenger``) -> ``champion`` if it
passes the gate.

The alias moves last: the run, its report and ``evaluation.json`` are complete before it
does, so a crash at any point never leaves a champion without its evaluation.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd

from data.contract import ContractError
from data.fileio import write_json, write_text
from data.mapping import SPARK_READS_THE_CONTRACT
from data.spark_tables import is_uri
from experiments.config import RadarConfig, with_section
from features.catalogue import catalogue_frame, unavailable_families
from features.parameters import FeatureParameters
from training import promote, registry, tracking
from training.dataset import load_training_frame
from training.evaluate import evaluate_model
from training.search import search_frame
from training.select import choose_model

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    run_id: str
    version: str
    promoted: bool
    evaluation: dict
    evaluation_path: Path


def train(config: RadarConfig, data_dir: Path | str, engine: str = "embedded") -> TrainResult:
    """Run the whole training job; return the registered version and its evaluation.

    ``engine``: where the training set is assembled, in process (``embedded``) or on Apache
    Spark (``spark``); fitting, evaluation and registration run here either way.
    """
    started = time.perf_counter()
    data_dir = data_dir if is_uri(data_dir) else Path(data_dir)

    def test_rows(parameters: FeatureParameters) -> pd.DataFrame:
        """The test period again, its features built with other parameters (a champion's)."""
        frame, _, _ = load_training_frame(config, data_dir, parameters)
        return frame[frame["split"].to_numpy() == "test"]

    frame, periods, load_summary = _training_frame(config, data_dir, engine)
    parameters = FeatureParameters.from_dict(load_summary["feature_parameters"])
    client = registry.connect(config)
    registry.fail_dead_runs(client, config.registry.experiment)
    search_run = None
    if config.search.enabled:
        found = search_frame(frame, config, parameters)
        search_run = found.run_id
        config = with_section(config, "model", **found.best_params)
        log.info("search chose %s (MLflow run %s)", found.best_params, search_run)
    unavailable = unavailable_families(load_summary.get("absent_inputs", ()))
    for family, why in unavailable.items():
        log.warning("feature family %s is off: it %s", family, why)

    selection = choose_model(frame, config, parameters)
    model = selection.model
    n_train = int((frame["split"] == "train").sum())
    log.info(
        "chose %s (%s) on validation; trained on %d rows (%d features), calibration a=%.3f b=%.3f",
        *(selection.chosen, model.kind, n_train, len(model.feature_names), *model.calibration_),
    )
    test, evaluation, ranking = evaluate_model(frame, model, config)
    for warning in evaluation["too_few_positives"]:
        log.warning("%s", warning)
    decision = promote.judge(
        client, config, test, evaluation, parameters, None if engine == "spark" else test_rows
    )

    name = config.registry.model_name
    tags = registry.owner_tags() | ({"radar.search_run": search_run} if search_run else {})
    with mlflow.start_run(tags=tags) as run:
        mlflow.log_params(tracking.flat_params(config, data_dir, periods))
        mlflow.log_param("engine", engine)
        _log_what_was_learnt(frame, data_dir, selection, evaluation, ranking, load_summary)
        version = registry.register(client, registry.log_risk_model(model, test), name)
        evaluation.update(
            registered_model=name,
            version=str(version.version),
            run_id=run.info.run_id,
            promoted_to_champion=False,
            champion_comparison=decision.as_dict(),
            periods=periods.as_dict(),
            model_kind=model.kind,
            feature_parameters=parameters.as_dict(),
            model_shape=model.describe(),
            selection=selection.as_dict(),
            features=len(model.feature_names),
            unavailable_families=unavailable,
            eligibility=load_summary.get("periods", {}),
            search_run_id=search_run,
            train_seconds=round(time.perf_counter() - started, 1),
        )
        out_dir = config.workspace.runs_dir / run.info.run_id
        report = tracking.log_evaluation(evaluation, test, ranking, model, config, out_dir)
    write_text(config.workspace.root / tracking.REPORT_FILE, report.read_text())
    write_json(config.workspace.root / tracking.EVALUATION_FILE, evaluation)
    promoted = _promote(client, config, run.info.run_id, evaluation, decision, out_dir)
    return TrainResult(
        run.info.run_id,
        str(version.version),
        promoted,
        evaluation,
        config.workspace.root / tracking.EVALUATION_FILE,
    )


def _promote(client, config: RadarConfig, run_id: str, evaluation: dict, decision, out_dir) -> bool:
    """Move the champion alias if the gate passed and nobody moved it meanwhile; the
    evaluation (in the run's folder and the workspace) says what happened and why."""
    version = evaluation["version"]
    promoted, reason = promote.promote_if_unchanged(client, config, version, decision)
    evaluation.update(promoted_to_champion=promoted)
    evaluation["champion_comparison"]["reason"] = reason
    client.set_tag(run_id, "radar.promoted", str(promoted).lower())
    for folder in (out_dir, config.workspace.root):
        write_json(folder / tracking.EVALUATION_FILE, evaluation)
    log.info("evaluation report: %s", config.workspace.root / tracking.REPORT_FILE)
    return promoted


def _training_frame(config: RadarConfig, data_dir: Path | str, engine: str):
    """The labelled feature frame, its periods and the load summary, from either engine."""
    if engine == "spark" and config.data.mapping is not None:
        raise ContractError(SPARK_READS_THE_CONTRACT)
    if engine == "spark":
        from training.spark_dataset import spark_training_frame

        return spark_training_frame(config, data_dir)
    if is_uri(data_dir):
        raise ContractError(
            f"{data_dir}: the embedded engine reads local folders; use --engine spark for a "
            "cluster's file system"
        )
    return load_training_frame(config, data_dir)


def _log_what_was_learnt(frame, data_dir, selection, evaluation, ranking, load_summary) -> None:
    """Into the active run: the candidates, every scorer's metrics, the three periods as
    datasets, the feature catalogue and the load report."""
    tracking.log_selection(selection)
    tracking.log_scorer_metrics(evaluation, ranking)
    for split in ("train", "validation", "test"):
        mlflow.log_input(tracking.dataset_record(frame, data_dir, split), context=split)
    mlflow.log_dict({"features": catalogue_frame()}, "feature_catalogue.json")
    mlflow.log_dict(load_summary, "load_report.json")
