"""The peers every model is judged beside: the frequent-contact rule used today, a
prior-complaints rule and a logistic regression on the same features."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from features.catalogue import CATEGORICAL


class FrequentContactRule:
    """The baseline outreach teams use today: rank by contacts in the last 7 days.

    Ties break on contacts in the last 30 days. For a fair Brier score, its score is
    mapped to a probability by isotonic regression fitted on the validation period.
    """

    columns = ("contacts_7d", "contacts_30d")  # all the rule reads

    def score(self, features: pd.DataFrame) -> np.ndarray:
        return features["contacts_7d"].to_numpy(dtype=float) + 1e-3 * features[
            "contacts_30d"
        ].to_numpy(dtype=float)

    def fit(
        self, features: pd.DataFrame, label: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> FrequentContactRule:
        self.isotonic_ = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(
            self.score(features), label, sample_weight=sample_weight
        )
        return self

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        return self.isotonic_.predict(self.score(features))


class PriorComplaintsRule(FrequentContactRule):
    """Rank by complaints in the past year (ties: the past 90 days, then recency)."""

    columns = ("complaints_365d", "complaints_90d", "days_since_last_complaint")

    def score(self, features: pd.DataFrame) -> np.ndarray:
        recency = 1.0 / (
            1.0 + features["days_since_last_complaint"].fillna(1e6).to_numpy(dtype=float)
        )
        return (
            features["complaints_365d"].to_numpy(dtype=float)
            + 1e-2 * features["complaints_90d"].to_numpy(dtype=float)
            + 1e-4 * recency
        )


def logistic_regression(seed: int, features: list[str]) -> Pipeline:
    """A scikit-learn logistic regression on the same features: the linear peer."""
    numeric = [n for n in features if n not in CATEGORICAL]
    categorical = [n for n in features if n in CATEGORICAL]
    prepare = ColumnTransformer(
        [
            (
                "numeric",
                make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                    StandardScaler(),
                ),
                numeric,
            ),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
        ]
    )
    return Pipeline(
        [
            ("prepare", prepare),
            ("model", LogisticRegression(C=0.1, max_iter=2000, random_state=seed)),
        ]
    )
