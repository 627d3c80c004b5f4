"""What a run logs to MLflow: parameters, metrics of every scorer, dataset records, the
evaluation (JSON, plots, HTML report). Public MLflow APIs only."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.data.meta_dataset import MetaDataset
from mlflow.models import infer_signature

from data.fileio import write_json
from data.spark_tables import is_uri
from experiments.config import RadarConfig
from features.catalogue import feature_columns
from training.dataset import Periods
from training.model import CalibratedModel
from training.plots import SHAP_SAMPLE_ROWS, write_plots, write_report
from training.select import Selection

EVALUATION_FILE = "evaluation.json"
REPORT_FILE = "evaluation.html"
SCHEMA_SAMPLE_ROWS = 2000


def log_evaluation(
    evaluation: dict,
    test: pd.DataFrame,
    ranking: dict,
    model: CalibratedModel,
    config: RadarConfig,
    out_dir: Path,
) -> Path:
    """Log evaluation.json, the plots and the HTML report to the active run; keep copies in ``out_dir``."""
    mlflow.log_dict(evaluation, EVALUATION_FILE)
    with tempfile.TemporaryDirectory() as tmp:
        plots = write_plots(
            test, ranking, shap_sample(model, test, config.model.seed), Path(tmp),
            config.evaluation.capacity_fraction, config.evaluation.capacity_k,
        )  # fmt: skip
        mlflow.log_artifacts(tmp, artifact_path="plots")
        report = write_report(evaluation, plots, out_dir / REPORT_FILE)
    mlflow.log_artifact(str(report))
    write_json(out_dir / EVALUATION_FILE, evaluation)
    return report


def log_selection(selection: Selection) -> None:
    """The chosen candidate (its kind a parameter and a tag, so runs can be filtered by
    it) and every candidate's validation score."""
    mlflow.log_params({"model.kind": selection.model.kind, "selection.chosen": selection.chosen})
    mlflow.set_tag("radar.model_kind", selection.model.kind)
    for row in selection.candidates:
        for key, value in row.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                mlflow.log_metric(f"candidate.{row['name']}.{key}", value)
    mlflow.log_dict(selection.as_dict(), "selection.json")


def log_scorer_metrics(evaluation: dict, ranking: dict) -> None:
    """Every float metric of every scorer (the model's unprefixed, peers' as ``peer.metric``)."""
    for scorer in ranking:
        for metric, value in evaluation[scorer].items():
            if isinstance(value, float):
                mlflow.log_metric(f"{scorer}.{metric}" if scorer != "model" else metric, value)


def shap_sample(model: CalibratedModel, test: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Exact contributions (log-odds) of a seeded sample of test rows, one column per feature."""
    sample = test.sample(min(SHAP_SAMPLE_ROWS, len(test)), random_state=seed)
    return pd.DataFrame(model.explain(sample)[:, :-1], columns=model.feature_names)


def dataset_record(frame: pd.DataFrame, data_dir: Path | str, split: str) -> MetaDataset:
    """An MLflow dataset record of one split of ``frame``: a digest over all its rows, the
    schema of a sample.

    MLflow's own pandas dataset infers its schema by scanning every row (~10 s per split
    here); the schema of a sample is the same, and the digest still covers all rows. The
    digest hashes one column at a time, so no copy of the split is made.
    """
    rows = np.flatnonzero(frame["split"].to_numpy() == split)
    columns = [*feature_columns(frame.columns), "label"]
    digest = hashlib.sha256()
    for name in columns:
        values = frame[name].iloc[rows]
        digest.update(pd.util.hash_pandas_object(values, index=False).to_numpy().tobytes())
    sample = frame.iloc[rows[:SCHEMA_SAMPLE_ROWS]][columns]
    where = str(data_dir) if is_uri(data_dir) else str(Path(data_dir).resolve())
    source = mlflow.data.from_pandas(sample.head(1), source=where).source
    schema = infer_signature(sample).inputs
    return MetaDataset(
        source, name=f"complaints-{split}", digest=digest.hexdigest()[:16], schema=schema
    )


def flat_params(config: RadarConfig, data_dir: Path | str, periods: Periods) -> dict[str, object]:
    """The run's parameters: data folder, every setting that shapes the model, the periods."""
    params: dict[str, object] = {"data_dir": str(data_dir)}
    for section in ("labels", "split", "sampling", "model", "evaluation"):
        for key, value in getattr(config, section).model_dump().items():
            params[f"{section}.{key}"] = value
    for split, (first, last) in periods.as_dict().items():
        params[f"period.{split}"] = f"{first}..{last}"
    return params
