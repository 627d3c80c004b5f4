"""``RiskModel``: LightGBM on the catalogue's features, a calibration step, exact TreeSHAP.

scikit-learn habits: the constructor only stores (the feature list and the validated
``model:`` settings, whose defaults are declared once in ``ModelConfig``), ``fit`` returns
self, fitted state ends in ``_``, randomness comes from ``settings.seed``. The served probability is
``sigmoid(a * raw + b)`` where ``raw`` is the booster's log-odds and ``(a, b)`` is a
logistic (Platt) calibration fitted on the validation period; being monotone, it keeps
the ranking, and explanations stay exact and additive in the raw log-odds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from experiments.config import ModelConfig
from features.catalogue import FEATURES_BY_NAME
from training import drift

MODEL_FILE = "booster.txt"
META_FILE = "risk_model.json"


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


# Up to this many rows, categories are encoded by dictionary look-ups rather than pandas.
SMALL_BATCH = 64


def _threads(matrix: np.ndarray) -> dict[str, int]:
    """Prediction settings for a matrix: a few rows on one thread. Waking LightGBM's thread
    pool for one row costs more than the row, and its threads then spin on the cores that
    the service's other requests need."""
    return {"num_threads": 1} if len(matrix) <= SMALL_BATCH else {}


class RiskModel:
    """Calibrated complaint-risk classifier over a fixed, ordered feature list."""

    def __init__(self, feature_names: Sequence[str], settings: ModelConfig | None = None) -> None:
        self.feature_names = list(feature_names)
        self.settings = settings if settings is not None else ModelConfig()

    # ------------------------------------------------------------------ fitting
    def lgb_params(self) -> dict[str, object]:
        s = self.settings
        monotone = [
            FEATURES_BY_NAME[n].monotone if s.monotone_constraints else 0
            for n in self.feature_names
        ]
        return {
            "objective": "binary",
            "learning_rate": s.learning_rate,
            "num_leaves": s.num_leaves,
            "max_depth": s.max_depth,
            "min_data_in_leaf": s.min_child_samples,
            "bagging_fraction": s.subsample,
            "bagging_freq": 1 if s.subsample < 1 else 0,
            "feature_fraction": s.colsample_bytree,
            "lambda_l2": s.reg_lambda,
            "monotone_constraints": monotone,
            "monotone_constraints_method": "advanced",
            "seed": s.seed,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": 2,
            "verbose": -1,
        }

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        X_val: pd.DataFrame,
        y_val: np.ndarray,
        sample_weight: np.ndarray | None = None,
        validation_weight: np.ndarray | None = None,
    ) -> RiskModel:
        """Train with early stopping on the validation period, then calibrate on it.

        Weights undo negative sampling: the loss, early stopping and calibration all see
        the natural class prior.
        """
        if int(np.sum(y)) == 0 or int(np.sum(y_val)) == 0:
            raise ValueError(
                f"need positives in both periods to train (train {int(np.sum(y))}, validation {int(np.sum(y_val))}); "
                "use a longer or larger history"
            )
        self.categories_ = {
            name: sorted(
                set(X[name].dropna().astype(str)) | set(FEATURES_BY_NAME[name].categories or ())
            )
            for name in self.feature_names
            if FEATURES_BY_NAME[name].categories is not None
        }
        train = lgb.Dataset(
            self._matrix(X),
            label=y,
            weight=sample_weight,
            feature_name=self.feature_names,
            categorical_feature=list(self.categories_),
            free_raw_data=True,
        )
        valid = lgb.Dataset(
            self._matrix(X_val), label=y_val, weight=validation_weight, reference=train
        )
        evals: dict[str, dict[str, list[float]]] = {}
        self.booster_ = lgb.train(
            self.lgb_params(),
            train,
            num_boost_round=self.settings.n_estimators,
            valid_sets=[valid],
            valid_names=["validation"],
            callbacks=[
                lgb.early_stopping(self.settings.early_stopping_rounds, verbose=False),
                lgb.record_evaluation(evals),
            ],
        )
        self.best_iteration_ = int(self.booster_.best_iteration or self.settings.n_estimators)
        self.validation_logloss_ = evals["validation"]["binary_logloss"]
        raw_val = self.raw_score(X_val)
        platt = LogisticRegression(C=1e6, max_iter=1000).fit(
            raw_val.reshape(-1, 1), y_val, sample_weight=validation_weight
        )
        self.calibration_ = (float(platt.coef_[0, 0]), float(platt.intercept_[0]))
        self.reference_ = self._reference(X, sample_weight)
        return self

    def _reference(self, X: pd.DataFrame, weight: np.ndarray | None) -> dict[str, dict]:
        """Each feature's and the probability's distribution on the training rows (weighted
        back to the natural class prior), for drift monitoring against later lists."""
        rows = np.arange(len(X))
        if rows.size > drift.REFERENCE_ROWS:
            rows = np.sort(
                np.random.default_rng(self.settings.seed).choice(
                    rows, drift.REFERENCE_ROWS, replace=False
                )
            )
        matrix = self._matrix(X)[rows]
        w = None if weight is None else np.asarray(weight)[rows]
        features = {
            name: drift.reference_of(matrix[:, j], w) for j, name in enumerate(self.feature_names)
        }
        return {
            "features": features,
            "probability": drift.reference_of(self.predict_proba(matrix), w),
        }

    # --------------------------------------------------------------- prediction
    def encode(self, X: pd.DataFrame | Mapping[str, np.ndarray]) -> np.ndarray:
        """Feature frame (or name -> array mapping) -> float matrix in training order;
        categories -> codes, unseen -> NaN.

        Every prediction method accepts either a feature frame or this matrix, so callers
        that score the same rows repeatedly (the service's snapshot) encode them once.
        """
        missing = [n for n in self.feature_names if n not in X]
        if missing:
            raise ValueError(
                f"feature frame is missing {len(missing)} feature(s), e.g. {missing[:5]}"
            )
        n = len(X) if isinstance(X, pd.DataFrame) else len(next(iter(X.values()), ()))
        matrix = np.empty((n, len(self.feature_names)))
        categories = getattr(self, "categories_", {})
        for j, name in enumerate(self.feature_names):
            values = X[name]
            if name in categories:
                matrix[:, j] = self._category_codes(name, values)
            elif isinstance(values, pd.Series):
                matrix[:, j] = values.to_numpy(dtype=float, na_value=np.nan)
            else:
                matrix[:, j] = values  # numbers, booleans or NaN as float64
        return matrix

    def _category_codes(self, name: str, values: pd.Series | np.ndarray) -> np.ndarray:
        """Codes of a categorical feature as floats; unseen values are NaN."""
        text = values.astype("str") if isinstance(values, pd.Series) else values.astype(str)
        if len(text) <= SMALL_BATCH:  # the service's few rows: a dict beats pandas' set-up
            code_of = {c: float(i) for i, c in enumerate(self.categories_[name])}
            return np.array([code_of.get(v, np.nan) for v in text], dtype=float)
        codes = pd.Categorical(text, categories=self.categories_[name]).codes
        return np.where(codes < 0, np.nan, codes).astype(float)

    def _matrix(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        return X if isinstance(X, np.ndarray) else self.encode(X)

    def raw_score(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Log-odds of the booster (before calibration)."""
        matrix = self._matrix(X)
        return self.booster_.predict(
            matrix, raw_score=True, num_iteration=self.best_iteration_, **_threads(matrix)
        )

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        a, b = self.calibration_
        return _sigmoid(a * raw + b)

    def predict_proba(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Calibrated probability of a complaint within the horizon, one per row."""
        return self.calibrate(self.raw_score(X))

    def explain(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Exact TreeSHAP contributions in raw log-odds: shape (n, n_features + 1).

        The last column is the base value; each row sums to ``raw_score``.
        """
        matrix = self._matrix(X)
        return self.booster_.predict(
            matrix, pred_contrib=True, num_iteration=self.best_iteration_, **_threads(matrix)
        )

    # ------------------------------------------------------------ persistence
    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.booster_.save_model(str(directory / MODEL_FILE), num_iteration=self.best_iteration_)
        meta = {
            "settings": self.settings.model_dump(mode="json"),
            "feature_names": self.feature_names,
            "categories": self.categories_,
            "calibration": list(self.calibration_),
            "best_iteration": self.best_iteration_,
            "reference": getattr(self, "reference_", None),
        }
        (directory / META_FILE).write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, directory: Path) -> RiskModel:
        directory = Path(directory)
        meta = json.loads((directory / META_FILE).read_text())
        model = cls(meta["feature_names"], _saved_settings(meta))
        model.booster_ = lgb.Booster(model_file=str(directory / MODEL_FILE))
        model.categories_ = meta["categories"]
        model.calibration_ = tuple(meta["calibration"])
        model.best_iteration_ = meta["best_iteration"]
        model.reference_ = meta.get("reference")  # None: registered before it was kept
        return model


def _saved_settings(meta: dict) -> ModelConfig:
    """The settings a model was trained with, from any version of the saved format.

    Versions registered before the settings were one object saved them as ``params``, and
    settings that no longer exist (``negative_sample_rate``, now ``sampling:``) say nothing
    about prediction: a registered model must stay loadable after an upgrade.
    """
    saved = meta.get("settings", meta.get("params", {}))
    known = {k: v for k, v in saved.items() if k in ModelConfig.model_fields}
    return ModelConfig.model_validate(known)
