"""Evaluation on the out-of-time test period, over all eligible customer-days.

Every scorer is judged the same way: ranking (ROC-AUC, average precision), what the
outreach team gets (daily precision and recall at capacity: the top k eligible customers
of each test day, averaged over days) and probability quality (Brier score).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

METRICS = ("roc_auc", "average_precision", "precision_at_capacity", "recall_at_capacity", "brier")


def daily_capacity(n_eligible: int, capacity_fraction: float, capacity_k: int | None) -> int:
    """How many customers the outreach team can call on a day with ``n_eligible``."""
    if capacity_k is not None:
        return min(capacity_k, n_eligible)
    return max(1, math.ceil(capacity_fraction * n_eligible))


def precision_recall_at_capacity(
    day: pd.Series,
    label: np.ndarray,
    score: np.ndarray,
    capacity_fraction: float,
    capacity_k: int | None,
    seed: int = 0,
) -> tuple[float, float]:
    """Daily precision and recall of the top-k by score, averaged over days.

    Ties are broken at random (seeded), so a coarse score such as a contact count is
    not flattered by the order of the rows.
    """
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {"day": day.to_numpy(), "y": label, "s": score, "tie": rng.random(len(label))}
    )
    frame = frame.sort_values(["day", "s", "tie"], ascending=[True, False, True])
    frame["rank"] = frame.groupby("day").cumcount()
    n = frame.groupby("day")["y"].transform("size")
    k = n.map(lambda m: daily_capacity(int(m), capacity_fraction, capacity_k))
    top = frame[frame["rank"] < k]
    hits = top.groupby("day")["y"].sum()
    per_day = pd.DataFrame(
        {"hits": hits, "k": top.groupby("day").size(), "pos": frame.groupby("day")["y"].sum()}
    )
    precision = (per_day["hits"] / per_day["k"]).mean()
    with_pos = per_day[per_day["pos"] > 0]
    recall = (with_pos["hits"] / with_pos["pos"]).mean() if len(with_pos) else float("nan")
    return float(precision), float(recall)


def score_metrics(
    day: pd.Series,
    label: np.ndarray,
    score: np.ndarray,
    probability: np.ndarray,
    capacity_fraction: float,
    capacity_k: int | None,
) -> dict[str, float]:
    """All metrics of one scorer; ``score`` ranks, ``probability`` is judged for calibration."""
    precision, recall = precision_recall_at_capacity(
        day, label, score, capacity_fraction, capacity_k
    )
    both = len(np.unique(label)) == 2
    return {
        "roc_auc": float(roc_auc_score(label, score)) if both else float("nan"),
        "average_precision": float(average_precision_score(label, score)) if both else float("nan"),
        "precision_at_capacity": precision,
        "recall_at_capacity": recall,
        "brier": float(brier_score_loss(label, np.clip(probability, 0, 1))),
    }


class FrequentContactRule:
    """The baseline outreach teams use today: rank by contacts in the last 7 days.

    Ties break on contacts in the last 30 days. For a fair Brier score, its score is
    mapped to a probability by isotonic regression fitted on the validation period.
    """

    def score(self, features: pd.DataFrame) -> np.ndarray:
        return features["contacts_7d"].to_numpy(dtype=float) + 1e-3 * features[
            "contacts_30d"
        ].to_numpy(dtype=float)

    def fit(self, features: pd.DataFrame, label: np.ndarray) -> FrequentContactRule:
        self.isotonic_ = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(
            self.score(features), label
        )
        return self

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        return self.isotonic_.predict(self.score(features))
