"""Evaluation on the out-of-time test period, over all eligible customer-days, beside the
peers; and ``radar evaluate``, the job that judges any registered version that way.

Beside the model: the frequent-contact rule used today, a prior-complaints rule, a
logistic regression on the same features and, on synthetic data, the simulator's true
risk (the ceiling).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from experiments.config import EvaluationConfig, RadarConfig
from features.catalogue import feature_columns
from training import registry, tracking
from training.dataset import load_training_frame
from training.metrics import bootstrap_intervals, daily_capacity, score_metrics
from training.model import LINEAR_ROWS, CalibratedModel
from training.peers import FrequentContactRule, PriorComplaintsRule, logistic_regression

SEGMENT_COLUMN = "segment"
PREDICT_CHUNK_ROWS = 500_000


def evaluate(
    frame: pd.DataFrame,
    model_proba: np.ndarray,
    ev: EvaluationConfig,
    seed: int,
    test_customer_fraction: float = 1.0,
    test: pd.DataFrame | None = None,
    features: list[str] | None = None,
) -> tuple[dict, dict[str, np.ndarray]]:
    """The evaluation block of ``evaluation.json`` and the ranking score of each scorer.

    ``frame`` holds train, validation and test rows (column ``split``); ``model_proba`` is
    the model's probability for the test rows, in order. When the test rows are a uniform
    sample of customers (``test_customer_fraction`` < 1), an absolute daily capacity is
    scaled to the sample and the intervals resample customers as well as days. The logistic
    regression peer learns from ``features`` (default: every feature of the frame).
    """
    sampled = test_customer_fraction < 1
    if sampled and ev.capacity_k is not None:
        scaled = max(1, round(ev.capacity_k * test_customer_fraction))
        ev = ev.model_copy(update={"capacity_k": scaled})
    # Rows are picked by position and only the columns each peer reads are copied: at a
    # million customers the frame is gigabytes, and a copy per split would double it.
    split = frame["split"].to_numpy()
    if test is None:
        test = frame[split == "test"]
    y, day = test["label"].to_numpy(), test["cutoff_at"].dt.date.to_numpy()
    probability, ranking = _peer_scores(frame, test, model_proba, seed, features)
    intervals, differences = (
        bootstrap_intervals(
            day, y, ranking, ev, seed, test["customer_id"].to_numpy() if sampled else None
        )
        if ev.bootstrap_samples
        else ({}, {})
    )
    result: dict[str, object] = {}
    for name in ranking:
        metrics = score_metrics(day, y, ranking[name], probability[name], ev)
        metrics["intervals_95"] = intervals.get(name, {})
        if name in differences:
            metrics["model_minus_this_95"] = differences[name]
        result[name] = metrics
    per_day = pd.Series(day).value_counts()
    daily_k = [daily_capacity(int(n), ev.capacity_fraction, ev.capacity_k) for n in per_day]
    result.update(
        capacity={
            "fraction": ev.capacity_fraction,
            "k": ev.capacity_k,
            "mean_daily_k": float(np.mean(daily_k)),
        },
        positive_rate=float(y.mean()),
        test_customer_fraction=test_customer_fraction,
        n_test_rows=len(test),
        n_test_days=len(per_day),
        by_segment=_by_segment(test, ranking, probability, ev),
        **period_sizes(frame, ev.min_positives),
    )
    return result, ranking


def _peer_scores(
    frame: pd.DataFrame,
    test: pd.DataFrame,
    model_proba: np.ndarray,
    seed: int,
    features: list[str] | None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Each scorer's probability and ranking score on the test rows: the model, both rules
    (fitted on validation), the logistic regression (on train) and, when known, the truth."""
    split = frame["split"].to_numpy()
    rule_columns = [*FrequentContactRule.columns, *PriorComplaintsRule.columns]
    val = frame.loc[split == "validation", [*rule_columns, "label", "weight"]]
    y_val, w_val = val["label"].to_numpy(), val["weight"].to_numpy()
    freq = FrequentContactRule().fit(val, y_val, w_val)
    prior = PriorComplaintsRule().fit(val, y_val, w_val)
    # The linear peer learns from a seeded uniform sample of at most LINEAR_ROWS train rows:
    # its preprocessing copies the matrix several times, and past a few hundred thousand
    # rows a linear model gains nothing from more.
    train_rows = pd.Series(np.flatnonzero(split == "train"))
    picked = train_rows.sample(n=min(len(train_rows), LINEAR_ROWS), random_state=seed)
    learn = frame.iloc[picked.to_numpy()]
    features = features or feature_columns(frame.columns)  # the model's, when given
    linear = logistic_regression(seed, features).fit(
        learn[features],
        learn["label"].to_numpy(),
        model__sample_weight=learn["weight"].to_numpy(),
    )
    del learn
    probability = {
        "model": model_proba,
        "rule_frequent_contact": freq.predict_proba(test),
        "rule_prior_complaints": prior.predict_proba(test),
        "logistic_regression": in_chunks(
            lambda part: linear.predict_proba(part[features])[:, 1], test
        ),
    }
    ranking = {
        **probability,
        "rule_frequent_contact": freq.score(test),
        "rule_prior_complaints": prior.score(test),
    }
    if "true_risk" in test and test["true_risk"].notna().all():
        probability["oracle"] = ranking["oracle"] = test["true_risk"].to_numpy()
    return probability, ranking


def _by_segment(
    test: pd.DataFrame,
    ranking: dict[str, np.ndarray],
    probability: dict[str, np.ndarray],
    ev: EvaluationConfig,
) -> dict[str, dict]:
    """Every scorer's metrics within each customer segment (sizes only where none complained)."""
    y, day = test["label"].to_numpy(), test["cutoff_at"].dt.date.to_numpy()
    segments = {}
    by_segment = test[SEGMENT_COLUMN] if SEGMENT_COLUMN in test else pd.Series(dtype=str)
    for segment in sorted(by_segment.dropna().unique()):
        rows = (by_segment == segment).to_numpy()
        segments[segment] = {"n_rows": int(rows.sum()), "positives": int(y[rows].sum())}
        if y[rows].sum() == 0:
            continue
        segments[segment].update(
            {
                name: score_metrics(
                    day[rows], y[rows], ranking[name][rows], probability[name][rows], ev
                )
                for name in ranking
            }
        )
    return segments


# What a period with too few positives undermines.
TOO_FEW = {
    "train": "the model has too few complaints to learn from",
    "validation": "early stopping and calibration rest on too few complaints",
    "test": "its metrics and intervals cannot tell the model from the peers",
}


def period_sizes(frame: pd.DataFrame, min_positives: int) -> dict[str, object]:
    """Positives (complaint customer-days, unweighted) per period, and a plain sentence for
    each period below ``min_positives``."""
    split, label = frame["split"].to_numpy(), frame["label"].to_numpy()
    positives = {name: int(label[split == name].sum()) for name in TOO_FEW}
    warnings = [
        f"the {name} period has only {n} positive customer-days (fewer than "
        f"evaluation.min_positives = {min_positives}): {TOO_FEW[name]}"
        for name, n in positives.items()
        if n < min_positives
    ]
    return {"positives_by_period": positives, "too_few_positives": warnings}


def evaluate_model(
    frame: pd.DataFrame, model: CalibratedModel, config: RadarConfig
) -> tuple[pd.DataFrame, dict, dict[str, np.ndarray]]:
    """(test rows, evaluation, ranking scores) of ``model`` on the frame's test period."""
    test = frame[frame["split"].to_numpy() == "test"]
    evaluation, ranking = evaluate(
        frame,
        in_chunks(model.predict_proba, test),
        config.evaluation,
        config.model.seed,
        config.sampling.test_customer_fraction,
        test=test,
        features=list(model.feature_names),
    )
    return test, evaluation, ranking


def in_chunks(
    predict: Callable[[pd.DataFrame], np.ndarray],
    rows: pd.DataFrame,
    size: int = PREDICT_CHUNK_ROWS,
) -> np.ndarray:
    """``predict`` over ``rows`` a chunk at a time: a model's float matrix (and a pipeline's
    copies of it) then stays the size of one chunk."""
    if len(rows) <= size:
        return predict(rows)
    return np.concatenate([predict(rows.iloc[i : i + size]) for i in range(0, len(rows), size)])


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
    frame, periods, _ = load_training_frame(config, data_dir, model.feature_parameters)
    test, evaluation, ranking = evaluate_model(frame, model, config)
    out_dir = config.workspace.root / "evaluations" / f"v{version}"
    with mlflow.start_run(
        run_name=f"evaluate v{version}", tags={"radar.evaluation_of": f"{name}/{version}"}
    ) as run:
        mlflow.log_params({"data_dir": str(data_dir), "model_version": version})
        tracking.log_scorer_metrics(evaluation, ranking)
        evaluation.update(
            registered_model=name,
            version=str(version),
            run_id=run.info.run_id,
            periods=periods.as_dict(),
        )
        report = tracking.log_evaluation(evaluation, test, ranking, model, config, out_dir)
    return evaluation, report
