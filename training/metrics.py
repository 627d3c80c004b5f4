"""Metrics of one scorer on the test period, and day-bootstrap intervals.

Ranking (ROC-AUC, average precision, lift), what the outreach team gets (daily precision
and recall at capacity: the top k eligible customers of each test day, averaged over days)
and probability quality (Brier score, log loss, expected calibration error). Confidence
intervals resample whole test days, the same days for every scorer, so that model-minus-
peer intervals are paired.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from experiments.config import EvaluationConfig

SCORERS = (
    "model",
    "logistic_regression",
    "rule_frequent_contact",
    "rule_prior_complaints",
    "oracle",
)
CALIBRATION_BINS = 10
# The normal quantile of a two-sided 95 % interval.
Z95 = 1.959963984540054
LIFT_SHARES = {"lift_top_1pct": 0.01, "lift_top_5pct": 0.05, "lift_top_10pct": 0.10}
INTERVAL_METRICS = ("average_precision", "precision_at_capacity", "roc_auc")
# The metrics every table shows (CLI, HTML report), in this order.
REPORT_METRICS = (
    "roc_auc",
    "average_precision",
    "precision_at_capacity",
    "recall_at_capacity",
    "lift_top_1pct",
    "lift_top_5pct",
    "brier",
    "ece",
    "log_loss",
)


def daily_capacity(n_eligible: int, capacity_fraction: float, capacity_k: int | None) -> int:
    """How many customers the outreach team can call on a day with ``n_eligible``."""
    if capacity_k is not None:
        return min(capacity_k, n_eligible)
    return max(1, math.ceil(capacity_fraction * n_eligible))


def top_rows(day: np.ndarray, score: np.ndarray, ev: EvaluationConfig, seed: int = 0) -> np.ndarray:
    """Whether each row is within its day's capacity (the top k by score). Ties break at
    random (seeded), so a coarse score such as a contact count is not flattered by the
    order of the rows."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"day": day, "s": score, "tie": rng.random(len(score))})
    frame = frame.sort_values(["day", "s", "tie"], ascending=[True, False, True])
    rank = frame.groupby("day").cumcount()
    n = frame.groupby("day")["s"].transform("size")
    k = n.map(lambda m: daily_capacity(int(m), ev.capacity_fraction, ev.capacity_k))
    top = np.zeros(len(score), dtype=bool)
    top[frame.index.to_numpy()] = (rank < k).to_numpy()
    return top


def _daily_hits(
    day: np.ndarray, label: np.ndarray, score: np.ndarray, ev: EvaluationConfig, seed: int = 0
) -> pd.DataFrame:
    """Per test day: capacity k, hits in the top k, positives."""
    top = top_rows(day, score, ev, seed)
    frame = pd.DataFrame({"day": day, "y": label, "top": top})
    return pd.DataFrame(
        {
            "hits": frame[top].groupby("day")["y"].sum(),
            "k": frame[top].groupby("day").size(),
            "pos": frame.groupby("day")["y"].sum(),
        }
    )


def _precision_recall(per_day: pd.DataFrame) -> tuple[float, float]:
    precision = float((per_day["hits"] / per_day["k"]).mean())
    with_pos = per_day[per_day["pos"] > 0]
    recall = float((with_pos["hits"] / with_pos["pos"]).mean()) if len(with_pos) else float("nan")
    return precision, recall


def expected_calibration_error(
    label: np.ndarray, probability: np.ndarray, bins: int = CALIBRATION_BINS
) -> float:
    """Mean |observed rate - predicted probability| over equal-count bins, weighted by size."""
    order = np.argsort(probability, kind="stable")
    error = 0.0
    for part in np.array_split(order, bins):
        if len(part):
            error += len(part) * abs(label[part].mean() - probability[part].mean())
    return float(error / len(label))


def lift(label: np.ndarray, score: np.ndarray, share: float) -> float:
    """Positive rate among the top ``share`` of rows by score over the overall positive rate."""
    k = max(1, round(share * len(label)))
    top = np.argsort(-score, kind="stable")[:k]
    base = label.mean()
    return float(label[top].mean() / base) if base > 0 else float("nan")


def score_metrics(
    day: np.ndarray,
    label: np.ndarray,
    score: np.ndarray,
    probability: np.ndarray,
    ev: EvaluationConfig,
) -> dict[str, float]:
    """All metrics of one scorer; ``score`` ranks, ``probability`` is judged for calibration."""
    precision, recall = _precision_recall(_daily_hits(day, label, score, ev))
    both = len(np.unique(label)) == 2
    p = np.clip(probability, 1e-7, 1 - 1e-7)
    return {
        "roc_auc": float(roc_auc_score(label, score)) if both else float("nan"),
        "average_precision": float(average_precision_score(label, score)) if both else float("nan"),
        "precision_at_capacity": precision,
        "recall_at_capacity": recall,
        "brier": float(brier_score_loss(label, p)),
        "log_loss": float(log_loss(label, p, labels=[0, 1])),
        "ece": expected_calibration_error(label, p),
        **{name: lift(label, score, share) for name, share in LIFT_SHARES.items()},
    }


class RankedScores:
    """One scorer's test rows sorted once, so that average precision and ROC-AUC of any
    resample of whole days cost two weighted running sums instead of a sort.

    A resample that draws a day ``m`` times (and a customer ``c`` times) is the original
    rows weighted ``m * c``; the metrics equal scikit-learn's on the concatenated resample
    (ties in score are grouped as there).
    """

    def __init__(self, score: np.ndarray, label: np.ndarray) -> None:
        self.order = np.argsort(-score, kind="mergesort")
        ranked = score[self.order]
        self.label = label[self.order].astype(float)
        # Last row of each run of equal scores: the thresholds of the curves.
        self.ends = np.r_[np.flatnonzero(ranked[1:] != ranked[:-1]), ranked.size - 1]

    def metrics(self, row_weight: np.ndarray) -> tuple[float, float]:
        """(average precision, ROC-AUC) with each row weighted by its multiplicity."""
        w = row_weight[self.order]
        tp = np.cumsum(w * self.label)[self.ends]
        fp = np.cumsum(w * (1.0 - self.label))[self.ends]
        precision = tp / np.maximum(tp + fp, np.finfo(float).tiny)
        recall, fpr = tp / tp[-1], fp / fp[-1]
        ap = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
        tpr, fpr = np.r_[0.0, recall], np.r_[0.0, fpr]
        auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
        return ap, auc


def bootstrap_intervals(
    day: np.ndarray,
    label: np.ndarray,
    scores: dict[str, np.ndarray],
    ev: EvaluationConfig,
    seed: int,
    customer: np.ndarray | None = None,
) -> tuple[dict[str, dict[str, list[float]]], dict[str, dict[str, list[float]]]]:
    """95 % intervals of the headline metrics, resampling whole test days with replacement
    (and, when ``customer`` is given because the test customers are a sample, customers
    too: each resample weighs a row by its day's and its customer's multiplicity).

    Every scorer is judged on the same resamples, so besides each scorer's own interval
    this gives a *paired* interval of ``model - scorer``: the honest test of "clearly
    better", since the luck both share cancels out. Precision at capacity keeps each
    day's top k of the full sample and weighs its hits by the multiplicities.
    Returns ``(intervals by scorer, paired differences model - scorer)``.
    """
    days, day_index = np.unique(day, return_inverse=True)
    customers, customer_index = (
        np.unique(customer, return_inverse=True) if customer is not None else (None, None)
    )
    label = np.asarray(label, dtype=float)
    ranked = {name: RankedScores(s, label) for name, s in scores.items()}
    top = {name: top_rows(day, s, ev).astype(float) for name, s in scores.items()}
    rng = np.random.default_rng(seed)
    samples = {name: {m: [] for m in INTERVAL_METRICS} for name in scores}
    for _ in range(ev.bootstrap_samples):
        pick = rng.choice(len(days), size=len(days), replace=True)
        weight = np.bincount(pick, minlength=len(days)).astype(float)[day_index]
        if customers is not None:
            drawn = rng.choice(len(customers), size=len(customers), replace=True)
            weight = weight * np.bincount(drawn, minlength=len(customers))[customer_index]
        positives = weight @ label
        if positives == 0 or positives == weight.sum():
            continue  # one class only: ranking metrics are undefined
        for name in scores:
            ap, auc = ranked[name].metrics(weight)
            samples[name]["average_precision"].append(ap)
            samples[name]["roc_auc"].append(auc)
            samples[name]["precision_at_capacity"].append(
                _resampled_precision(day_index, pick, label, top[name], weight)
            )

    def interval(values: np.ndarray) -> list[float]:
        return [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))]

    intervals = {
        name: {m: interval(np.array(v)) for m, v in by_metric.items() if v}
        for name, by_metric in samples.items()
    }
    differences = {}
    if "model" in samples:
        for name in scores:
            if name != "model":
                differences[name] = {
                    m: interval(np.array(samples["model"][m]) - np.array(samples[name][m]))
                    for m in INTERVAL_METRICS
                    if samples["model"][m]
                }
    return intervals, differences


def _resampled_precision(
    day_index: np.ndarray, pick: np.ndarray, label: np.ndarray, top: np.ndarray, weight: np.ndarray
) -> float:
    """Mean over the drawn days of the weighted hit rate in each day's top k."""
    n_days = int(day_index.max()) + 1
    unit = weight / np.maximum(np.bincount(pick, minlength=n_days)[day_index], 1)
    hits = np.bincount(day_index, weights=top * unit * label, minlength=n_days)
    k = np.bincount(day_index, weights=top * unit, minlength=n_days)
    with np.errstate(invalid="ignore", divide="ignore"):
        daily = hits / k
    return float(np.nanmean(daily[pick]))


def paired_differences(evaluation: dict) -> list[tuple[str, str, float, float, str]]:
    """(peer, metric, low, high, verdict) rows of the paired model-minus-peer intervals."""
    rows = []
    for name in SCORERS:
        for metric, (low, high) in evaluation.get(name, {}).get("model_minus_this_95", {}).items():
            verdict = (
                "model better" if low > 0 else "peer better" if high < 0 else "no clear difference"
            )
            rows.append((name, metric, low, high, verdict))
    return rows
