"""The models a registered version can hold, behind one interface the scorer uses.

``RiskModel`` is LightGBM on the catalogue's features with exact TreeSHAP;
``LinearRiskModel`` is a sign-constrained logistic regression whose exact reasons are
coefficient x (value - reference) on the log-odds. Both are calibrated the same way: the
served probability is ``sigmoid(a * raw + b)`` where ``raw`` is the model's log-odds and
``(a, b)`` is a logistic (Platt) calibration fitted on the validation period; being
monotone, it keeps the ranking, and explanations stay exact and additive in ``raw``.

scikit-learn habits: the constructor only stores (the feature list and the validated
settings, whose defaults are declared once in ``experiments.config``), ``fit`` returns
self, fitted state ends in ``_``, randomness comes from the settings' seed.
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
from features.parameters import DEFAULT_PARAMETERS, FeatureParameters
from training import drift

MODEL_FILE = "booster.txt"
META_FILE = "risk_model.json"
LINEAR_FILE = "linear_model.json"
# A linear model learns from a seeded uniform sample of at most this many train rows: past
# a few hundred thousand rows it gains nothing from more, and its design matrix is dense.
LINEAR_ROWS = 300_000


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


# Up to this many rows, categories are encoded by dictionary look-ups rather than pandas.
SMALL_BATCH = 64


def _threads(matrix: np.ndarray) -> dict[str, int]:
    """Prediction settings for a matrix: a few rows on one thread. Waking LightGBM's thread
    pool for one row costs more than the row, and its threads then spin on the cores that
    the service's other requests need."""
    return {"num_threads": 1} if len(matrix) <= SMALL_BATCH else {}


DAY_NS = 86_400 * 10**9  # a day in nanoseconds: training rows to day numbers


class CalibratedModel:
    """What every kind of model shares: the ordered feature list, the encoding of a feature
    frame into a float matrix, the calibration, the drift reference and the saved form.

    Subclasses provide ``raw_score`` and ``explain`` (exact, additive in the log-odds, the
    base value last) and their own fitted state.
    """

    kind = ""
    feature_names: list[str]
    seed: int
    # The thresholds and costs the features were built with (see features.parameters):
    # the list and the service build features with the model's own.
    feature_parameters: FeatureParameters = DEFAULT_PARAMETERS

    def raw_score(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def explain(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def describe(self) -> dict[str, object]:
        """The fitted shape in a few numbers, for logs and the evaluation."""
        return {"kind": self.kind}

    def _learn_categories(self, X: pd.DataFrame) -> None:
        self.categories_ = {
            name: sorted(
                set(X[name].dropna().astype(str)) | set(FEATURES_BY_NAME[name].categories or ())
            )
            for name in self.feature_names
            if FEATURES_BY_NAME[name].categories is not None
        }

    def _fit_calibration(
        self, X_val: pd.DataFrame, y_val: np.ndarray, weight: np.ndarray | None
    ) -> None:
        raw_val = self.raw_score(X_val)
        platt = LogisticRegression(C=1e6, max_iter=1000).fit(
            raw_val.reshape(-1, 1), y_val, sample_weight=weight
        )
        self.calibration_ = (float(platt.coef_[0, 0]), float(platt.intercept_[0]))

    def _reference(self, X: pd.DataFrame, weight: np.ndarray | None) -> dict[str, dict]:
        """Each feature's and the probability's distribution on the training rows (weighted
        back to the natural class prior), for drift monitoring against later lists."""
        rows = np.arange(len(X))
        if rows.size > drift.REFERENCE_ROWS:
            rows = np.sort(
                np.random.default_rng(self.seed).choice(rows, drift.REFERENCE_ROWS, replace=False)
            )
        matrix = self._matrix(X)[rows]
        w = None if weight is None else np.asarray(weight)[rows]
        features = {
            name: drift.reference_of(matrix[:, j], w) for j, name in enumerate(self.feature_names)
        }
        if "cutoff_at" in X:  # how far each feature moves between the training period's weeks
            days = pd.DatetimeIndex(X["cutoff_at"]).as_unit("ns").asi8[rows] // DAY_NS
            for j, name in enumerate(self.feature_names):
                features[name]["window_psi"] = drift.window_psi(
                    features[name], matrix[:, j], days, w
                )
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

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        a, b = self.calibration_
        return _sigmoid(a * raw + b)

    def predict_proba(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Calibrated probability of a complaint within the horizon, one per row."""
        return self.calibrate(self.raw_score(X))


class RiskModel(CalibratedModel):
    """LightGBM with the catalogue's monotone constraints, calibrated; exact TreeSHAP."""

    kind = "lightgbm"

    def __init__(
        self,
        feature_names: Sequence[str],
        settings: ModelConfig | None = None,
        feature_parameters: FeatureParameters = DEFAULT_PARAMETERS,
    ) -> None:
        self.feature_names = list(feature_names)
        self.settings = settings if settings is not None else ModelConfig()
        self.feature_parameters = feature_parameters

    @property
    def seed(self) -> int:  # type: ignore[override]
        return self.settings.seed

    def describe(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "trees": self.best_iteration_,
            "min_child_samples": self.min_child_samples_,
        }

    # ------------------------------------------------------------------ fitting
    def leaf_rows(self, rows: int, positives: int) -> int:
        """Fewest rows in a leaf: ``min_child_samples``, raised so that a leaf holds on
        average ``min_positives_per_leaf`` positives at the training rate (few positives:
        bigger leaves, or single complaints become leaves of their own)."""
        s = self.settings
        if not s.min_positives_per_leaf or positives == 0:
            return s.min_child_samples
        scaled = int(np.ceil(s.min_positives_per_leaf * rows / positives))
        return max(s.min_child_samples, min(scaled, max(rows // 2, 1)))

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
            "min_data_in_leaf": getattr(self, "min_child_samples_", s.min_child_samples),
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
        self._learn_categories(X)
        self.min_child_samples_ = self.leaf_rows(len(y), int(np.sum(y)))
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
        self._fit_calibration(X_val, y_val, validation_weight)
        self.reference_ = self._reference(X, sample_weight)
        return self

    def raw_score(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Log-odds of the booster (before calibration)."""
        matrix = self._matrix(X)
        return self.booster_.predict(
            matrix, raw_score=True, num_iteration=self.best_iteration_, **_threads(matrix)
        )

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
            "min_child_samples": self.min_child_samples_,
            "reference": getattr(self, "reference_", None),
            "kind": self.kind,
            "feature_parameters": self.feature_parameters.as_dict(),
        }
        (directory / META_FILE).write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, directory: Path) -> RiskModel:
        directory = Path(directory)
        meta = _read_json(directory / META_FILE)
        model = cls(meta["feature_names"], _saved_settings(meta), _saved_parameters(meta))
        try:
            model.booster_ = lgb.Booster(model_file=str(directory / MODEL_FILE))
        except Exception as exc:  # LightGBM says what broke, never in which file
            raise ModelFileError(f"{directory / MODEL_FILE} cannot be read: {exc}") from None
        model.categories_ = meta["categories"]
        model.calibration_ = tuple(meta["calibration"])
        model.best_iteration_ = meta["best_iteration"]
        model.min_child_samples_ = meta.get("min_child_samples", model.settings.min_child_samples)
        model.reference_ = meta.get("reference")  # None: registered before it was kept
        return model


def _saved_parameters(meta: dict) -> FeatureParameters:
    """The feature parameters a model was trained with; versions saved before they were
    kept were trained with what are now the configuration's defaults."""
    saved = meta.get("feature_parameters")
    return DEFAULT_PARAMETERS if saved is None else FeatureParameters.from_dict(saved)


def _saved_settings(meta: dict) -> ModelConfig:
    """The settings a model was trained with, from any version of the saved format.

    Versions registered before the settings were one object saved them as ``params``, and
    settings that no longer exist (``negative_sample_rate``, now ``sampling:``) say nothing
    about prediction: a registered model must stay loadable after an upgrade.
    """
    saved = meta.get("settings", meta.get("params", {}))
    known = {k: v for k, v in saved.items() if k in ModelConfig.model_fields}
    return ModelConfig.model_validate(known)


class LinearRiskModel(CalibratedModel):
    """A logistic regression on the catalogue's features, calibrated like the booster.

    Each numeric feature enters as a signed log (counts and durations are heavy-tailed),
    clipped to its training range, standardised, missing values at the training mean with
    an indicator; each category as one indicator per value. A feature with a known risk
    direction whose coefficient comes out the other way is dropped and the model refitted,
    so more trouble never lowers the risk here either.

    Reasons are exact: a feature's contribution is the sum over its design columns of
    coefficient x (value - reference), the reference being the weighted training mean; the
    base value is the log-odds at the reference, and a row's contributions plus the base
    value are its log-odds.
    """

    kind = "linear"

    def __init__(
        self,
        feature_names: Sequence[str],
        c: float = 0.1,
        seed: int = 42,
        feature_parameters: FeatureParameters = DEFAULT_PARAMETERS,
    ) -> None:
        self.feature_names = list(feature_names)
        self.c = c
        self.seed = seed
        self.feature_parameters = feature_parameters

    def describe(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "c": self.c,
            "nonzero_features": int(
                sum(
                    np.any(self.coef_[self._owner_ == j] != 0)
                    for j in range(len(self.feature_names))
                )
            ),
        }

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        X_val: pd.DataFrame,
        y_val: np.ndarray,
        sample_weight: np.ndarray | None = None,
        validation_weight: np.ndarray | None = None,
    ) -> LinearRiskModel:
        """Fit on (a seeded sample of at most ``LINEAR_ROWS`` of) the train rows, then
        calibrate on the validation period."""
        y = np.asarray(y)
        if int(y.sum()) == 0 or int(np.sum(y_val)) == 0:
            raise ValueError(
                f"need positives in both periods to train (train {int(y.sum())}, validation "
                f"{int(np.sum(y_val))}); use a longer or larger history"
            )
        weight = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
        if len(y) > LINEAR_ROWS:
            rows = np.sort(
                np.random.default_rng(self.seed).choice(len(y), LINEAR_ROWS, replace=False)
            )
            X, y, weight = X.iloc[rows], y[rows], weight[rows]
        self._learn_categories(X)
        matrix = self.encode(X)
        self._fit_design(matrix, weight)
        design = self._design(matrix)
        free = np.ones(design.shape[1], dtype=bool)
        direction = (
            np.array([FEATURES_BY_NAME[self.feature_names[j]].monotone for j in self._owner_])
            * ~self._indicator_
        )
        self.reference_design_ = np.average(design, axis=0, weights=weight)
        # Warm-started refits: a dropped feature's columns are zeroed (the L2 penalty then
        # holds their coefficients at exactly zero), so each refit starts where the last ended.
        fitted = LogisticRegression(C=self.c, max_iter=2000, warm_start=True)
        for _ in range(len(self.feature_names)):
            fitted.fit(design, y, sample_weight=weight)
            coef = np.where(free, fitted.coef_[0], 0.0)
            wrong = free & (direction * coef < 0)
            if not wrong.any():
                break
            # Drop the feature (all of its columns) whose coefficient goes against its
            # known direction, and fit again.
            for j in np.unique(self._owner_[wrong]):
                free &= self._owner_ != j
            design[:, ~free] = 0.0
        self.coef_, self.intercept_ = coef, float(fitted.intercept_[0])
        self._fit_calibration(X_val, y_val, validation_weight)
        self.reference_ = self._reference(X, weight)
        return self

    def _fit_design(self, matrix: np.ndarray, weight: np.ndarray) -> None:
        """Learn the transformation of the encoded matrix into the design matrix."""
        owner, indicator, columns = [], [], []
        low, high, centre, scale = (np.zeros(len(self.feature_names)) for _ in range(4))
        for j, name in enumerate(self.feature_names):
            values = matrix[:, j]
            if name in self.categories_:
                for code in range(len(self.categories_[name])):
                    owner.append(j), indicator.append(False), columns.append(("category", j, code))
                continue
            present = ~np.isnan(values)
            logged = _signed_log(values[present])
            if logged.size:
                low[j], high[j] = np.quantile(logged, [0.001, 0.999])
                clipped = np.clip(logged, low[j], high[j])
                centre[j] = np.average(clipped, weights=weight[present])
                spread = np.sqrt(np.average((clipped - centre[j]) ** 2, weights=weight[present]))
                scale[j] = spread if spread > 0 else 1.0
            else:
                scale[j] = 1.0
            owner.append(j), indicator.append(False), columns.append(("value", j, 0))
            if not present.all():
                owner.append(j), indicator.append(True), columns.append(("missing", j, 0))
        self._owner_ = np.array(owner, dtype=np.int64)
        self._indicator_ = np.array(indicator, dtype=bool)
        self.columns_ = columns
        self.transform_ = {"low": low, "high": high, "centre": centre, "scale": scale}

    def _design(self, matrix: np.ndarray) -> np.ndarray:
        t = self.transform_
        design = np.zeros((len(matrix), len(self.columns_)))
        for k, (what, j, code) in enumerate(self.columns_):
            values = matrix[:, j]
            if what == "category":
                design[:, k] = values == code
            elif what == "missing":
                design[:, k] = np.isnan(values)
            else:
                z = np.clip(_signed_log(values), t["low"][j], t["high"][j]) - t["centre"][j]
                design[:, k] = np.nan_to_num(z / t["scale"][j], nan=0.0)
        return design

    # --------------------------------------------------------------- prediction
    def raw_score(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Log-odds of the logistic regression (before calibration)."""
        return self._design(self._matrix(X)) @ self.coef_ + self.intercept_

    def explain(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Exact linear contributions in raw log-odds: shape (n, n_features + 1), the base
        value (the log-odds at the reference) last; each row sums to ``raw_score``."""
        terms = (self._design(self._matrix(X)) - self.reference_design_) * self.coef_
        out = np.zeros((len(terms), len(self.feature_names) + 1))
        np.add.at(out.T, self._owner_, terms.T)
        out[:, -1] = self.intercept_ + float(self.reference_design_ @ self.coef_)
        return out

    # ------------------------------------------------------------ persistence
    def save(self, directory: Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        linear = {
            "columns": [list(c) for c in self.columns_],
            "indicator": self._indicator_.tolist(),
            "coef": self.coef_.tolist(),
            "intercept": self.intercept_,
            "reference_design": self.reference_design_.tolist(),
            "transform": {k: v.tolist() for k, v in self.transform_.items()},
        }
        (directory / LINEAR_FILE).write_text(json.dumps(linear, indent=2))
        meta = {
            "kind": self.kind,
            "settings": {"c": self.c, "seed": self.seed},
            "feature_names": self.feature_names,
            "categories": self.categories_,
            "calibration": list(self.calibration_),
            "reference": getattr(self, "reference_", None),
            "feature_parameters": self.feature_parameters.as_dict(),
        }
        (directory / META_FILE).write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, directory: Path) -> LinearRiskModel:
        directory = Path(directory)
        meta = _read_json(directory / META_FILE)
        linear = _read_json(directory / LINEAR_FILE)
        model = cls(
            meta["feature_names"], **meta["settings"], feature_parameters=_saved_parameters(meta)
        )
        model.categories_ = meta["categories"]
        model.calibration_ = tuple(meta["calibration"])
        model.reference_ = meta.get("reference")
        model.columns_ = [tuple(c) for c in linear["columns"]]
        model._owner_ = np.array([c[1] for c in model.columns_], dtype=np.int64)
        model._indicator_ = np.array(linear["indicator"], dtype=bool)
        model.coef_ = np.array(linear["coef"])
        model.intercept_ = float(linear["intercept"])
        model.reference_design_ = np.array(linear["reference_design"])
        model.transform_ = {k: np.array(v) for k, v in linear["transform"].items()}
        return model


def _signed_log(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.log1p(np.abs(values))


MODEL_KINDS: dict[str, type[CalibratedModel]] = {
    RiskModel.kind: RiskModel,
    LinearRiskModel.kind: LinearRiskModel,
}


class ModelFileError(ValueError):
    """A saved model that cannot be read: names the file."""


def _read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{path} cannot be read: {exc}") from None


def load_model(directory: Path) -> CalibratedModel:
    """Whichever kind of model was saved in ``directory`` (versions saved before kinds
    existed are LightGBM); a damaged file is an error that names it."""
    directory = Path(directory)
    meta = _read_json(directory / META_FILE)
    kind = meta.get("kind", RiskModel.kind)
    if kind not in MODEL_KINDS:
        raise ModelFileError(
            f"{directory / META_FILE}: unknown model kind {kind!r}; known: {sorted(MODEL_KINDS)}"
        )
    try:
        return MODEL_KINDS[kind].load(directory)
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError) as exc:  # a file that parses but is not a model
        raise ModelFileError(
            f"the {kind} model saved in {directory} is incomplete or damaged: "
            f"{type(exc).__name__}: {exc}"
        ) from None
