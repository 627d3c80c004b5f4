"""``radar train``: history -> training set -> LightGBM + calibration -> evaluation ->
MLflow run -> registered version (``challenger``) -> ``champion`` if it beats the current one.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.types.utils import _infer_schema

from data.load import load_history
from features.catalogue import FEATURE_NAMES, catalogue_frame
from radar.config import RadarConfig, with_section
from radar.fileio import write_json
from training import registry
from training.dataset import Periods, assemble, read_true_risk
from training.evaluate import evaluate, score_metrics
from training.model import RiskModel
from training.plots import SHAP_SAMPLE_ROWS, write_plots, write_report
from training.search import search_frame

log = logging.getLogger(__name__)

EVALUATION_FILE = "evaluation.json"
REPORT_FILE = "evaluation.html"


@dataclass
class TrainResult:
    run_id: str
    version: str
    promoted: bool
    evaluation: dict
    evaluation_path: Path


def sample_negatives(
    frame: pd.DataFrame, rate: float, seed: int
) -> tuple[pd.DataFrame, np.ndarray]:
    """Keep all positives and a ``rate`` share of negatives, weighted 1/rate (unbiased)."""
    if rate >= 1.0:
        return frame, np.ones(len(frame))
    rng = np.random.default_rng(seed)
    keep = (frame["label"].to_numpy() == 1) | (rng.random(len(frame)) < rate)
    sampled = frame[keep]
    return sampled, np.where(sampled["label"].to_numpy() == 1, 1.0, 1.0 / rate)


def fit_model(frame: pd.DataFrame, config: RadarConfig) -> RiskModel:
    train, weight = sample_negatives(
        frame[frame["split"] == "train"], config.model.negative_sample_rate, config.model.seed
    )
    val = frame[frame["split"] == "validation"]
    params = config.model.model_dump(exclude={"negative_sample_rate"})
    model = RiskModel(FEATURE_NAMES, **params)
    return model.fit(
        train, train["label"].to_numpy(), val, val["label"].to_numpy(), sample_weight=weight
    )


def train(config: RadarConfig, data_dir: Path | str) -> TrainResult:
    """Run the whole training job; return the registered version and its evaluation."""
    started = time.perf_counter()
    data_dir = Path(data_dir)
    history, load_report = load_history(data_dir, config.workspace.rejects_dir)
    frame, periods = assemble(history, config.labels, config.split, read_true_risk(data_dir))
    client = registry.connect(config)
    search_run = None
    if config.search.enabled:
        found = search_frame(frame, config)
        search_run = found.run_id
        config = with_section(config, "model", **found.best_params)
        log.info("search chose %s (MLflow run %s)", found.best_params, search_run)
    log.info(
        "training LightGBM on %d rows (%d features)",
        int((frame["split"] == "train").sum()),
        len(FEATURE_NAMES),
    )
    model = fit_model(frame, config)
    log.info(
        "stopped at %d trees; calibration a=%.3f b=%.3f", model.best_iteration_, *model.calibration_
    )
    test = frame[frame["split"] == "test"]
    evaluation, ranking = evaluate(
        frame, model.predict_proba(test), config.evaluation, config.model.seed
    )

    name = config.registry.model_name
    tags = {"radar.search_run": search_run} if search_run else None
    with mlflow.start_run(tags=tags) as run:
        mlflow.log_params(_flat_params(config, data_dir, periods))
        _log_scorer_metrics(evaluation, ranking)
        mlflow.log_metric("best_iteration", model.best_iteration_)
        for split in ("train", "validation", "test"):
            mlflow.log_input(
                _dataset(frame[frame["split"] == split], data_dir, split), context=split
            )
        mlflow.log_dict({"features": catalogue_frame()}, "feature_catalogue.json")
        mlflow.log_dict(load_report.summary(), "load_report.json")
        version = registry.log_risk_model(model, test, name)
        registry.set_alias(client, name, registry.CHALLENGER, version.version)
        promoted, comparison = _maybe_promote(
            client, config, name, version.version, test, evaluation
        )
        evaluation.update(
            registered_model=name,
            version=str(version.version),
            run_id=run.info.run_id,
            promoted_to_champion=promoted,
            champion_comparison=comparison,
            periods=periods.as_dict(),
            best_iteration=model.best_iteration_,
            search_run_id=search_run,
            train_seconds=round(time.perf_counter() - started, 1),
        )
        report = _log_evaluation(
            evaluation, test, ranking, model, config, config.workspace.runs_dir / run.info.run_id
        )
    write_json(config.workspace.root / EVALUATION_FILE, evaluation)
    shutil.copyfile(report, config.workspace.root / REPORT_FILE)
    log.info("evaluation report: %s", config.workspace.root / REPORT_FILE)
    return TrainResult(
        run.info.run_id,
        str(version.version),
        promoted,
        evaluation,
        config.workspace.root / EVALUATION_FILE,
    )


def evaluate_version(
    config: RadarConfig, data_dir: Path | str, version: int | None = None
) -> tuple[dict, Path]:
    """``radar evaluate``: judge a registered version (default: the champion) on the test
    period of ``data_dir``, beside the same peers as training; log it as an MLflow run."""
    data_dir = Path(data_dir)
    client = registry.connect(config)
    name = config.registry.model_name
    version = registry.resolve_version(client, name, version)
    model = registry.load_version(config, version)
    history, _ = load_history(data_dir, config.workspace.rejects_dir)
    frame, periods = assemble(history, config.labels, config.split, read_true_risk(data_dir))
    test = frame[frame["split"] == "test"]
    evaluation, ranking = evaluate(
        frame, model.predict_proba(test), config.evaluation, config.model.seed
    )
    out_dir = config.workspace.root / "evaluations" / f"v{version}"
    with mlflow.start_run(
        run_name=f"evaluate v{version}", tags={"radar.evaluation_of": f"{name}/{version}"}
    ) as run:
        mlflow.log_params({"data_dir": str(data_dir), "model_version": version})
        _log_scorer_metrics(evaluation, ranking)
        evaluation.update(
            registered_model=name,
            version=str(version),
            run_id=run.info.run_id,
            periods=periods.as_dict(),
        )
        report = _log_evaluation(evaluation, test, ranking, model, config, out_dir)
    return evaluation, report


def _log_evaluation(
    evaluation: dict,
    test: pd.DataFrame,
    ranking: dict,
    model: RiskModel,
    config: RadarConfig,
    out_dir: Path,
) -> Path:
    """Log evaluation.json, the plots and the HTML report to the active run; keep copies in ``out_dir``."""
    mlflow.log_dict(evaluation, EVALUATION_FILE)
    with tempfile.TemporaryDirectory() as tmp:
        plots = write_plots(
            test, ranking, _shap_sample(model, test, config.model.seed), Path(tmp),
            config.evaluation.capacity_fraction, config.evaluation.capacity_k,
        )  # fmt: skip
        mlflow.log_artifacts(tmp, artifact_path="plots")
        report = write_report(evaluation, plots, out_dir / REPORT_FILE)
    mlflow.log_artifact(str(report))
    write_json(out_dir / EVALUATION_FILE, evaluation)
    return report


def _log_scorer_metrics(evaluation: dict, ranking: dict) -> None:
    for scorer in ranking:
        for metric, value in evaluation[scorer].items():
            if isinstance(value, float):
                mlflow.log_metric(f"{scorer}.{metric}" if scorer != "model" else metric, value)


def _maybe_promote(
    client, config: RadarConfig, name: str, version: str, test: pd.DataFrame, evaluation: dict
) -> tuple[bool, dict]:
    """Move ``champion`` to ``version`` only if it beats the current champion on this test period."""
    metric = config.evaluation.promote_metric
    mine = evaluation["model"][metric]
    champion = registry.alias_version(client, name, registry.CHAMPION)
    if champion is None:
        registry.set_alias(client, name, registry.CHAMPION, version)
        return True, {
            "metric": metric,
            "challenger": mine,
            "champion": None,
            "reason": "no champion yet",
        }
    try:
        current = registry.load_version(config, champion.version).predict_proba(test)
        day, label = test["cutoff_at"].dt.date.to_numpy(), test["label"].to_numpy()
        theirs = score_metrics(day, label, current, current, config.evaluation)[metric]
    except Exception as exc:  # an incompatible old champion must not break training
        log.warning(
            "champion v%s cannot score this test period (%s); keeping it", champion.version, exc
        )
        return False, {
            "metric": metric,
            "challenger": mine,
            "champion_version": str(champion.version),
            "reason": f"champion cannot be evaluated: {exc}",
        }
    promoted = mine > theirs
    if promoted:
        registry.set_alias(client, name, registry.CHAMPION, version)
    reason = "challenger better" if promoted else "champion at least as good"
    log.info(
        "%s: challenger v%s %.4f vs champion v%s %.4f -> %s",
        metric,
        version,
        mine,
        champion.version,
        theirs,
        reason,
    )
    return promoted, {
        "metric": metric,
        "challenger": mine,
        "champion": theirs,
        "champion_version": str(champion.version),
        "reason": reason,
    }


def _shap_sample(model: RiskModel, test: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Exact SHAP values (log-odds) of a seeded sample of test rows, one column per feature."""
    sample = test.sample(min(SHAP_SAMPLE_ROWS, len(test)), random_state=seed)
    return pd.DataFrame(model.explain(sample)[:, :-1], columns=model.feature_names)


def _dataset(
    part: pd.DataFrame, data_dir: Path, split: str
) -> mlflow.data.pandas_dataset.PandasDataset:
    """An MLflow dataset record of one split (digest over all rows, schema from a sample)."""
    part = part[[*FEATURE_NAMES, "label"]]
    digest = hashlib.sha256(
        pd.util.hash_pandas_object(part, index=False).to_numpy().tobytes()
    ).hexdigest()[:16]
    dataset = mlflow.data.from_pandas(
        part,
        source=str(data_dir.resolve()),
        name=f"complaints-{split}",
        targets="label",
        digest=digest,
    )
    # MLflow infers the schema by scanning every row (~10 s per split here); a sample says the same.
    dataset.__dict__["schema"] = _infer_schema(part.head(2000))
    return dataset


def _flat_params(config: RadarConfig, data_dir: Path, periods: Periods) -> dict[str, object]:
    params: dict[str, object] = {"data_dir": str(data_dir)}
    for section in ("labels", "split", "model", "evaluation"):
        for key, value in getattr(config, section).model_dump().items():
            params[f"{section}.{key}"] = value
    for split, (first, last) in periods.as_dict().items():
        params[f"period.{split}"] = f"{first}..{last}"
    return params
