"""Whom a call helps: the expected change in a customer's 48-hour complaint probability if
put on the contact list, learnt from the lists' randomised assignments, and how to judge a
ranking by it without trusting the model that made it.

Three learners, chosen between on later days (see ``radar uplift``), each row weighted by the
inverse of its chance of landing in the group it is in (contact: the propensity the list
records; holdout: the chance of being assigned times the holdout share), so that explored
rows stand for the customers they were drawn from, in both groups alike:

- ``t``: a T-learner, one LightGBM classifier on the rows assigned ``contact`` and one on
  the rows held out; the effect is the difference of their probabilities.
- ``anchored``: the risk model already knows a customer's complaint probability without a
  call (it learnt from history before any outreach); only how a call shifts it is learnt,
  by one booster on the contacted rows that starts from the risk's log-odds (LightGBM's
  ``init_score``). All the scarce complaints then go to learning the shift, none to
  learning the risk again. Two constants come first: the held-out rows' mean log-odds
  offset from the risk (a list's rows are not the population the risk was calibrated on)
  and the contacted rows' (the average call), so that with little evidence every customer
  is shifted alike and the ranking stays the risk's; the booster learns only departures.
- ``modifiers``: anchored the same way, but the call's shift of the log-odds is linear in a
  few named effect modifiers (:data:`EFFECT_MODIFIERS`: who the customer is, the profile's
  categories, and what their trouble is, its cause, beside the risk itself), a ridge-
  penalised logistic regression. A coefficient per category and cause, not a forest: what
  a hundred complaints can support, and with no evidence every coefficient is 0 and the
  ranking is the risk's. It is the default where there are no notes
  (:data:`DEFAULT_LEARNER`); its reasons name a category or a cause ("helps less: Age band
  18-29").
- ``notes``: learnt from what the calls did rather than from the complaints that followed.
  The team notes a code for every call that reaches a customer (``issue_resolved``,
  ``no_change``, ...), tens of times as many as the complaints, and states what each code is
  worth (``outreach.outcome_values``: the share of the customer's trouble the call settled,
  negative where it made things worse). A LightGBM classifier learns each customer's chances
  of each valued code from the reached calls (their features, their risk and how many of
  their earlier calls made things worse: :func:`calls_made_worse`), with as many trees as
  its cross-validated log-loss keeps falling for. The expected value of a
  customer's code is the share of the way a call moves their complaint log-odds from their
  risk to the risk of a customer without trouble (the rows' least risky tenth), scaled so
  that over the randomised rows it averages the effect the contacted and held-out groups
  measured (a call settling half the trouble of a customer at 20 % risk, with the floor at
  1 %, takes them to 4.8 %, 15.2 points times that scale; the scale is not negative, and no
  effect goes beyond the risk). The default whenever the rows carry at
  least :data:`MIN_NOTES` valued notes (:func:`default_learner`); its reasons name what
  moves the expected code.

The effect is negative where the call prevents complaints. Models on few positives are
noisy; the evaluation below is what says whether a ranking is worth anything, and a ranking
is only trusted over the risk's when the paired interval of the difference says so
(:func:`prevented_difference_interval`).

Evaluation from randomised rows only (no model, no simulator): the Qini curve, the
complaints prevented among the top ``k`` by the ranking, estimated as
``held-out complaint rate x contacted - contacted complaints`` within the top ``k``
(inverse-probability weighted), with a bootstrap interval.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.catalogue import FEATURES_BY_NAME
from training.metrics import Z95

UPLIFT_ARTIFACT = "uplift_model"  # the artifact's name in a logged run
RISK = "probability"  # the column (or key) of each row's risk without a call (anchored)
LEARNERS = ("t", "anchored", "modifiers", "notes")
DEFAULT_LEARNER = "modifiers"  # chosen unless another ranks clearly better (radar uplift)
NOTES_LEARNER = "notes"  # the default instead where the calls' notes are there to learn from
ANCHORED = ("anchored", "modifiers")  # the learners that start from the risk
NOTE = "outcome_code"  # a contacted row's code for a call that reached the customer, else none
# How many of the customer's earlier calls (before the row's cutoff) were noted with a code worth
# less than nothing: a customer a call annoyed is likely annoyed again. Read from the outcome
# store beside the features (:func:`calls_made_worse`); the ``notes`` learner reads it.
CALLS_MADE_WORSE = "calls_made_worse"
DESCRIPTIONS = {CALLS_MADE_WORSE: "Earlier calls noted as making things worse"}
# Fewest valued notes the ``notes`` learner learns from: below it a classifier of four codes
# has a handful of calls per code and the learners on complaints are all there is.
MIN_NOTES = 30
# A recorded chance below this counts as this: one row never stands for more than a thousand.
MIN_CHANCE = 1e-3
# What the ``modifiers`` learner lets a call's effect depend on (those present in the rows):
# who the customer is (the profile's categories; a region is too fine for a few hundred
# complaints) and the cause of their trouble (payments, deliveries, the app, an outage).
EFFECT_MODIFIERS = (
    "segment",
    "age_band",
    "plan",
    "payment_problems_decayed",
    "order_delayed_decayed",
    "app_error_decayed",
    "region_incident_active",
)


@dataclass(frozen=True)
class UpliftSettings:
    """The two boosters' settings: small, since each sees a few thousand rows."""

    n_estimators: int = 200
    learning_rate: float = 0.05
    num_leaves: int = 7
    min_child_samples: int = 50
    reg_lambda: float = 5.0
    # ``modifiers``: the penalty on each standardised coefficient, in rows' worth of
    # evidence (the weights sum to the number of rows).
    ridge: float = 10.0
    # ``notes``: the classifier grows trees (at most ``n_estimators``) while its log-loss on
    # held-out notes still falls: a ``note_folds``-fold cross-validation stopped after
    # ``note_patience`` rounds without improvement. Thousands of notes overfit 200 trees.
    note_folds: int = 5
    note_patience: int = 30
    # ``notes``: a customer without trouble, whom no call can settle anything for, has the
    # risk of this quantile of the customers the rows stand for.
    floor_quantile: float = 0.1


class UpliftModel:
    """Expected change of the 48-hour complaint probability if contacted."""

    def __init__(
        self,
        feature_names: Sequence[str],
        settings: UpliftSettings | None = None,
        seed: int = 0,
        kind: str = "t",
        outcome_values: Mapping[str, float] | None = None,
    ) -> None:
        if kind not in LEARNERS:
            raise ValueError(f"no uplift learner {kind!r}: choose one of {LEARNERS}")
        if kind == NOTES_LEARNER and not outcome_values:
            raise ValueError(
                "the 'notes' learner needs what each code is worth (outreach.outcome_values)"
            )
        self.feature_names = list(feature_names)
        self.settings = settings or UpliftSettings()
        self.seed = seed
        self.kind = kind
        self.outcome_values = dict(outcome_values or {})

    @property
    def input_columns(self) -> list[str]:
        """What a row must hold: the features, and its risk for the learners that use it."""
        uses_risk = self.kind in ANCHORED or self.kind == NOTES_LEARNER
        return [*self.feature_names, *([RISK] if uses_risk else [])]

    def fit(
        self, X: pd.DataFrame, contacted: np.ndarray, complained: np.ndarray, chance: np.ndarray
    ) -> UpliftModel:
        """``contacted``: assigned ``contact`` (else held out); ``chance``: each row's chance
        of the group it is in under the day's design (``randomised_rows``' ``chance``);
        ``complained``: 1 or 0, or for the ``modifiers`` learner also a probability (an
        expected outcome, e.g. a simulator's, to see what unlimited outcomes would teach).
        The ``notes`` learner also reads each contacted row's :data:`NOTE`."""
        contacted = np.asarray(contacted, dtype=bool)
        complained = np.asarray(complained, dtype=float)
        if not ((complained >= 0) & (complained <= 1)).all():  # NaN included
            raise ValueError("complained must be 1, 0 or a probability")
        if self.kind != "modifiers" and not np.isin(complained, (0.0, 1.0)).all():
            raise ValueError(
                f"the {self.kind!r} learner's boosters learn from complaints of 1 or 0; "
                "only the 'modifiers' learner learns from probabilities"
            )
        weight = row_weights(chance)
        if self.kind == NOTES_LEARNER:
            return self._fit_notes(X, contacted, complained, weight)
        self.offsets_, start, self.boosters_ = {}, None, {}
        if self.kind in ANCHORED:
            start = _logit(_risk(X))
            for arm, rows in (("holdout", ~contacted), ("contact", contacted)):
                self.offsets_[arm] = _mean_offset(start[rows], complained[rows], weight[rows])
        arms = [("contact", contacted), *([("holdout", ~contacted)] if self.kind == "t" else [])]
        for arm, rows in arms:
            if complained[rows].sum() == 0:
                raise ValueError(f"no complaint among the {arm} rows: nothing to learn from")
        if self.kind == "modifiers":
            self.shift_ = ModifierShift(self.feature_names, self.settings.ridge).fit(
                X, start, complained[contacted], weight[contacted],
                start[contacted] + self.offsets_["contact"], rows=contacted,
            )  # fmt: skip
            return self
        params = {**self._booster_params(), "objective": "binary"}
        matrix = self._matrix(X)
        for arm, rows in arms:
            data = lgb.Dataset(
                matrix[rows],
                complained[rows],
                weight=weight[rows],
                init_score=None if start is None else start[rows] + self.offsets_[arm],
            )
            self.boosters_[arm] = lgb.train(params, data, self.settings.n_estimators)
        return self

    def _fit_notes(
        self, X: pd.DataFrame, contacted: np.ndarray, complained: np.ndarray, weight: np.ndarray
    ) -> UpliftModel:
        """The classifier of the valued codes on the contacted rows that carry one, the risk
        of a customer without trouble, and the scale that turns the risk the expected code
        settles (:meth:`_settled`) into a change of probability."""
        if NOTE not in X:
            raise KeyError(f"the 'notes' learner needs each contacted row's code in {NOTE!r}")
        codes = pd.Series(np.asarray(X[NOTE], dtype=object)).where(contacted)
        valued = codes.isin(list(self.outcome_values)).to_numpy()
        if valued.sum() < MIN_NOTES:
            raise ValueError(
                f"{valued.sum()} contacted row(s) carry a code valued in outreach.outcome_values "
                f"({', '.join(self.outcome_values)}); the 'notes' learner needs at least "
                f"{MIN_NOTES}"
            )
        # Codes in order of worth; only those noted are classes (a code never noted has no
        # chance to learn).
        self.codes_ = sorted(set(codes[valued]), key=lambda c: (self.outcome_values[c], c))
        self.boosters_, self.offsets_ = {}, {}
        # A text column (the profile's categories) is read as a category of the values seen.
        self.levels_ = {
            name: sorted(map(str, pd.unique(np.asarray(X[name], dtype=object))))
            for name in self.feature_names
            if not _numeric(X[name])
        }
        if len(self.codes_) > 1:
            # Unweighted: which code a call earns given who the customer is does not depend
            # on how likely they were to be called (the draw reads nothing else); weights
            # of a thousand would let a few explored calls decide.
            label = pd.Series(codes[valued]).map({c: i for i, c in enumerate(self.codes_)})
            categories = [self.feature_names.index(name) for name in self.levels_]
            data = lgb.Dataset(
                self._note_matrix(X)[valued], label.to_numpy(), categorical_feature=categories,
                free_raw_data=False,
            )  # fmt: skip
            params = {**self._booster_params(), "objective": "multiclass"}
            params["num_class"] = len(self.codes_)
            rounds = self._note_rounds(params, data, int(valued.sum()))
            self.boosters_[NOTES_LEARNER] = lgb.train(params, data, rounds)
        # Every randomised row (each standing for the customers it was drawn from, as the
        # scale's rows do) tells where the risk of a customer without trouble lies.
        self.floor_ = _weighted_quantile(_risk(X), weight, self.settings.floor_quantile)
        # The scale: over every randomised row (each group standing for the customers it was
        # drawn from), the predicted change averages the measured one. A call cannot turn a
        # code's worth around, so the scale is not negative: its estimate is the mean of the
        # measured ratio's (normal) likelihood above 0, which is the ratio itself when the
        # complaints clearly show prevention and a small positive number when they do not
        # (the notes still rank; the effect shown is small). Not bounded by 1: the floor is
        # a yardstick, not a measurement, and the complaints may show calls settling more
        # than it says (no effect goes beyond the risk; :meth:`predict_effect`).
        predicted = np.average(self._settled(X), weights=weight)
        prevented = _rate_difference(contacted, complained, weight)
        spread = np.sqrt(_adjusted_difference(contacted, complained, weight)[1])
        if predicted == 0 or not np.isfinite(prevented):
            self.scale_ = 0.0
        else:
            self.scale_ = _mean_above_zero(prevented / predicted, spread / abs(predicted))
        return self

    def fitted_params(self) -> dict[str, float]:
        """What the fit chose beyond the settings (for the run's record): the notes
        learner's trees, its risk of a customer without trouble and its scale."""
        if self.kind != NOTES_LEARNER:
            return {}
        trees = (
            self.boosters_[NOTES_LEARNER].num_trees() // len(self.codes_) if self.boosters_ else 0
        )
        return {"notes_trees": trees, "risk_floor": self.floor_, "effect_scale": self.scale_}

    def _note_rounds(self, params: dict, data: lgb.Dataset, rows: int) -> int:
        """How many trees the notes' classifier grows: as many as its cross-validated
        log-loss keeps falling for (at most ``n_estimators``)."""
        folds = min(self.settings.note_folds, rows)
        if folds < 2:
            return self.settings.n_estimators
        found = lgb.cv(
            params, data, self.settings.n_estimators, nfold=folds, stratified=False,
            shuffle=True, seed=self.seed,
            callbacks=[lgb.early_stopping(self.settings.note_patience, verbose=False)],
        )  # fmt: skip
        return max(1, len(next(iter(found.values()))))

    def _settled(self, X: pd.DataFrame | Mapping[str, np.ndarray]) -> np.ndarray:
        """The risk a call removes if the trouble is settled as far as the expected worth of
        its code says: the customer's log-odds move that share of the way from their risk
        to the risk of a customer without trouble (:attr:`floor_`); all of it for a code
        worth 1, half for 0.5, none for 0, and as far the other way for -1. The risk above
        the floor is the trouble's part, on the log-odds scale where one more problem adds
        alike: so of two customers whose calls settle the same share, the riskier gains
        more than in proportion to their risk."""
        risk = _risk(X)
        start = _logit(risk)
        trouble = np.maximum(start - _logit(np.clip(self.floor_, 1e-6, 1 - 1e-6)), 0.0)
        settled = risk - _sigmoid(start - self._expected_value(X) * trouble)
        return np.where(trouble > 0, settled, 0.0)  # not the rounding of risk - risk

    def _expected_value(self, X: pd.DataFrame | Mapping[str, np.ndarray]) -> np.ndarray:
        """Each row's expected worth of the code its reached call would earn."""
        return self._code_chances(X) @ np.array([self.outcome_values[c] for c in self.codes_])

    def _code_chances(self, X: pd.DataFrame | Mapping[str, np.ndarray]) -> np.ndarray:
        booster = self.boosters_.get(NOTES_LEARNER)
        if booster is None:  # one code noted: every call earns it
            return np.ones((len(np.asarray(X[RISK])), 1))
        return booster.predict(self._note_matrix(X)).reshape(-1, len(self.codes_))

    def _note_matrix(self, X: pd.DataFrame | Mapping[str, np.ndarray]) -> np.ndarray:
        """The features and the risk, as the notes' classifier reads them: a text column as
        the index of its value among those seen at fit (a value never seen: missing)."""
        columns = []
        for name in self.feature_names:
            if name in self.levels_:
                text = np.asarray(X[name], dtype=object).astype(str)
                code = pd.Categorical(text, categories=self.levels_[name]).codes
                columns.append(np.where(code < 0, np.nan, code).astype(float))
            else:
                columns.append(np.asarray(X[name], dtype=float))
        return np.column_stack([*columns, _risk(X)])

    def _booster_params(self) -> dict:
        return {
            "learning_rate": self.settings.learning_rate,
            "num_leaves": self.settings.num_leaves,
            "min_child_samples": self.settings.min_child_samples,
            "reg_lambda": self.settings.reg_lambda,
            "seed": self.seed,
            "deterministic": True,
            "verbose": -1,
            "num_threads": 1,
        }

    def predict_effect(self, X: pd.DataFrame | Mapping[str, np.ndarray]) -> np.ndarray:
        """Expected change of each customer's complaint probability if contacted (the
        ``anchored`` learner reads each row's risk without a call from ``probability``)."""
        if self.kind == NOTES_LEARNER:
            risk = _risk(X)  # a call prevents at most the risk, adds at most the rest
            return np.clip(-self.scale_ * self._settled(X), -risk, 1 - risk)
        if self.kind in ANCHORED:
            start = _logit(_risk(X))
            if self.kind == "modifiers":
                shift = self.shift_.shift(X, start)
            else:
                shift = self.boosters_["contact"].predict(self._matrix(X), raw_score=True)
            held = self.offsets_.get("holdout", 0.0)
            return _sigmoid(start + self.offsets_.get("contact", 0.0) + shift) - _sigmoid(
                start + held
            )
        matrix = self._matrix(X)
        return self.boosters_["contact"].predict(matrix) - self.boosters_["holdout"].predict(matrix)

    def effect_reasons(self, X: pd.DataFrame | Mapping[str, np.ndarray], top: int = 2) -> list[str]:
        """Per row, in words, what moves its expected effect most (the boosters'
        contributions to the call's shift, contact minus holdout, in log-odds), e.g.
        "a call helps more: Payment failed events in the last 7 days (2); helps less: Incidents
        active in the customer's region at the cutoff (1)"."""
        if self.kind == "modifiers":
            contributions, words = self.shift_.contributions(X, _logit(_risk(X)))
        elif self.kind == NOTES_LEARNER:
            contributions, words = self._note_contributions(X)
        else:
            matrix = self._matrix(X)
            contributions = self.boosters_["contact"].predict(matrix, pred_contrib=True)[:, :-1]
            if "holdout" in self.boosters_:
                contributions -= self.boosters_["holdout"].predict(matrix, pred_contrib=True)[
                    :, :-1
                ]

            def words(row: int, column: int) -> str:
                return f"{_describe(self.feature_names[column])} ({_n(matrix[row, column])})"

        order = np.argsort(-np.abs(contributions), axis=1)[:, :top]
        texts = []
        for row, features in enumerate(order):
            parts = {"a call helps more": [], "helps less": []}
            for j in features:
                if contributions[row, j] == 0:
                    continue
                key = "a call helps more" if contributions[row, j] < 0 else "helps less"
                parts[key].append(words(row, j))
            texts.append("; ".join(f"{k}: {', '.join(v)}" for k, v in parts.items() if v))
        if self.kind == NOTES_LEARNER:  # at the floor: nothing for a call to settle
            risk = _risk(X)
            for row in np.flatnonzero(risk <= self.floor_):
                texts[row] = (
                    f"helps less: Risk of a complaint without a call ({risk[row]:.1%}), "
                    "that of a customer without trouble"
                )
        return texts

    def _note_contributions(
        self, X: pd.DataFrame | Mapping[str, np.ndarray]
    ) -> tuple[np.ndarray, Callable[[int, int], str]]:
        """Per row and input, its part of the change of the expected code's worth, signed as
        a change of the effect (negative: a call helps more). Each input's contributions to
        the codes' log-odds are weighed by how the expected worth moves with each code's
        log-odds (its chance times its worth above the expected), the first-order change."""
        matrix, names = self._note_matrix(X), [*self.feature_names, RISK]
        booster = self.boosters_.get(NOTES_LEARNER)
        if booster is None:
            contributions = np.zeros(matrix.shape)
        else:
            k = len(self.codes_)
            raw = booster.predict(matrix, pred_contrib=True).reshape(len(matrix), k, -1)
            chances = self._code_chances(X)
            values = np.array([self.outcome_values[c] for c in self.codes_])
            slope = chances * (values - (chances @ values)[:, None])  # d worth / d log-odds
            contributions = -np.einsum("rk,rkj->rj", slope, raw[:, :, :-1])

        def words(row: int, column: int) -> str:
            name, value = names[column], matrix[row, column]
            if name == RISK:
                return f"Risk of a complaint without a call ({value:.1%})"
            if name in self.levels_:
                return f"{_describe(name)} {np.asarray(X[name], dtype=object)[row]}"
            return f"{_describe(name)} ({_n(value)})"

        return contributions, words

    def save(self, folder: Path) -> None:
        """The boosters as LightGBM text and the rest as JSON (no pickles)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for arm, booster in self.boosters_.items():
            booster.save_model(str(folder / f"{arm}.txt"))
        meta = {
            "feature_names": self.feature_names,
            "settings": asdict(self.settings),
            "seed": self.seed,
            "kind": self.kind,
            "offsets": self.offsets_,
            **({"shift": self.shift_.to_dict()} if self.kind == "modifiers" else {}),
        }
        if self.kind == NOTES_LEARNER:
            meta |= {"outcome_values": self.outcome_values, "codes": self.codes_}
            meta |= {"scale": self.scale_, "levels": self.levels_, "floor": self.floor_}
        (folder / "uplift.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, folder: Path) -> UpliftModel:
        folder = Path(folder)
        meta = json.loads((folder / "uplift.json").read_text())
        kind = meta.get("kind", "t")
        model = cls(
            meta["feature_names"], UpliftSettings(**meta["settings"]), meta["seed"], kind,
            meta.get("outcome_values"),
        )  # fmt: skip
        arms = {"t": ("contact", "holdout"), "anchored": ("contact",)}.get(kind, ())
        if kind == NOTES_LEARNER:
            model.codes_, model.scale_ = list(meta["codes"]), float(meta["scale"])
            model.levels_ = {name: list(v) for name, v in meta["levels"].items()}
            if "floor" not in meta:
                raise ValueError(
                    f"{folder} holds a notes learner saved before its risk floor was kept: "
                    "run radar uplift again"
                )
            model.floor_ = float(meta["floor"])
            arms = (NOTES_LEARNER,) if len(model.codes_) > 1 else ()
        model.boosters_ = {arm: lgb.Booster(model_file=str(folder / f"{arm}.txt")) for arm in arms}
        model.offsets_ = {arm: float(v) for arm, v in meta.get("offsets", {}).items()}
        if kind == "modifiers":
            model.shift_ = ModifierShift.from_dict(meta["shift"])
        return model

    def _matrix(self, X: pd.DataFrame | Mapping[str, np.ndarray]) -> np.ndarray:
        if isinstance(X, pd.DataFrame):
            return X[self.feature_names].to_numpy(dtype=float, na_value=np.nan)
        return np.column_stack([np.asarray(X[n], dtype=float) for n in self.feature_names])


# A list ranked by expected prevention breaks ties (e.g. no effect expected of anyone) by the
# risk; this weight of the risk in one score does the same and is far below any effect the
# list tells apart (it rounds effects to 1e-6).
RISK_TIE_BREAK = 1e-9


def prevention_score(effect: np.ndarray, risk: np.ndarray) -> np.ndarray:
    """The order a list ranked by expected prevention takes, as one score (highest first):
    the most prevented first, ties by the risk."""
    return -np.asarray(effect, dtype=float) + RISK_TIE_BREAK * np.asarray(risk, dtype=float)


def calls_made_worse(
    at: pd.DataFrame, notes: pd.DataFrame, outcome_values: Mapping[str, float]
) -> np.ndarray:
    """For each row of ``at`` (``customer_id``, ``date``): how many of ``notes`` (the codes
    noted for calls that reached a customer: ``customer_id``, :data:`NOTE`,
    ``contacted_at``) are the customer's calls made before the row's day began (its list's
    cutoff, midnight UTC) with a code worth below 0. A call made later, whichever list it
    came from, is not counted: a list made at the cutoff could not have known it."""
    worth = notes[NOTE].map(dict(outcome_values)).to_numpy(dtype=float)
    worse = notes.loc[worth < 0, ["customer_id", "contacted_at"]]
    rows = pd.DataFrame(
        {"row": np.arange(len(at)), "customer_id": np.asarray(at["customer_id"]),
         "cutoff": pd.to_datetime(np.asarray(at["date"])).tz_localize("UTC")}
    )  # fmt: skip
    pairs = rows.merge(worse.assign(made=pd.to_datetime(worse["contacted_at"], utc=True)),
                       on="customer_id")  # fmt: skip
    earlier = (pairs["made"] < pairs["cutoff"]).groupby(pairs["row"]).sum()
    return earlier.reindex(rows["row"], fill_value=0).to_numpy(dtype=int)


def valued_notes(rows: pd.DataFrame, outcome_values: Mapping[str, float]) -> int:
    """How many ``rows`` carry a code ``outcome_values`` values (in :data:`NOTE`: only a
    contacted row's call has one)."""
    if NOTE not in rows or not outcome_values:
        return 0
    return int(rows[NOTE].isin(list(outcome_values)).sum())


def default_learner(rows: pd.DataFrame, outcome_values: Mapping[str, float]) -> str:
    """The learner chosen unless another ranks clearly better: the ``notes`` learner where
    the rows carry :data:`MIN_NOTES` valued notes (tens of times the complaints' evidence),
    else :data:`DEFAULT_LEARNER` (of the learners on complaints, the fewest parameters)."""
    return NOTES_LEARNER if valued_notes(rows, outcome_values) >= MIN_NOTES else DEFAULT_LEARNER


class ModifierShift:
    """The change a call makes to a customer's complaint log-odds, linear in named effect
    modifiers: each category of a text column its own indicator, each number on a signed
    log scale (counts and amounts are skewed), the risk's log-odds one more term; each
    standardised on the rows it was fitted on and penalised by ``ridge`` (so with no
    evidence every customer is shifted alike)."""

    def __init__(self, modifiers: Sequence[str], ridge: float) -> None:
        self.modifiers = list(modifiers)
        self.ridge = ridge

    def fit(
        self,
        X: pd.DataFrame | Mapping[str, np.ndarray],
        risk_logit: np.ndarray,
        complained: np.ndarray,
        weight: np.ndarray,
        offset: np.ndarray,
        rows: np.ndarray,
    ) -> ModifierShift:
        """Fit on ``rows`` of ``X`` (every row's risk log-odds given; the fitted rows'
        outcomes, weights and log-odds offsets): weighted ridge logistic regression by
        Newton's method, intercept unpenalised."""
        self.levels_ = {
            name: sorted(map(str, pd.unique(np.asarray(X[name], dtype=object)[rows])))
            for name in self.modifiers
            if not _numeric(X[name])
        }
        design = self._raw(X, risk_logit)[0][rows]
        self.mean_ = design.mean(axis=0)
        self.scale_ = np.where(design.std(axis=0) > 0, design.std(axis=0), 1.0)
        z = np.column_stack([np.ones(len(design)), (design - self.mean_) / self.scale_])
        w = weight / weight.mean()
        penalty = np.eye(z.shape[1]) * self.ridge
        penalty[0, 0] = 0.0
        beta = np.zeros(z.shape[1])
        for _ in range(100):
            p = _sigmoid(offset + z @ beta)
            gradient = z.T @ (w * (complained - p)) - penalty @ beta
            hessian = (z * (w * p * (1 - p))[:, None]).T @ z + penalty
            step = np.linalg.solve(hessian, gradient)
            beta += step
            if np.abs(step).max() < 1e-9:
                break
        self.intercept_, self.coef_ = float(beta[0]), beta[1:]
        return self

    def shift(
        self, X: pd.DataFrame | Mapping[str, np.ndarray], risk_logit: np.ndarray
    ) -> np.ndarray:
        """The call's shift of each row's log-odds."""
        design, _ = self._raw(X, risk_logit)
        return self.intercept_ + ((design - self.mean_) / self.scale_) @ self.coef_

    def contributions(
        self, X: pd.DataFrame | Mapping[str, np.ndarray], risk_logit: np.ndarray
    ) -> tuple[np.ndarray, Callable[[int, int], str]]:
        """Per row and modifier (then the risk), its part of the shift against the average
        customer (a category's indicators summed: being in one band is also not being in
        the others), and ``words(row, modifier)`` naming the row's own value (e.g. "Age band
        18-29", "Failed payments ... (none)")."""
        design, shown = self._raw(X, risk_logit)
        parts = (design - self.mean_) / self.scale_ * self.coef_
        group = [self.modifiers.index(name) for name, _ in self._columns()]
        group.append(len(self.modifiers))  # the risk's own term
        summed = np.zeros((len(parts), len(self.modifiers) + 1))
        np.add.at(summed.T, np.asarray(group), parts.T)
        text = {name: np.asarray(X[name]).astype(str) for name in self.levels_}
        numbers = {name: j for j, (name, level) in enumerate(self._columns()) if level is None}

        def words(row: int, modifier: int) -> str:
            if modifier == len(self.modifiers):
                return f"Risk of a complaint without a call ({shown[row, -1]:.1%})"
            name = self.modifiers[modifier]
            if name in text:
                return f"{_describe(name)} {text[name][row]}"
            # A cause's absence moves the effect too; a decayed count that has faded below
            # what two decimals show is an absence as well.
            value = shown[row, numbers[name]]
            return f"{_describe(name)} ({'none' if round(value, 2) == 0 else _n(value)})"

        return summed, words

    def _columns(self) -> list[tuple[str, str | None]]:
        """(modifier, category) per design column but the risk's (category None: a number)."""
        return [
            (name, level) for name in self.modifiers for level in self.levels_.get(name, [None])
        ]

    def _raw(
        self, X: pd.DataFrame | Mapping[str, np.ndarray], risk_logit: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The design before standardising, and the value each column shows in words (the
        number before its log scale; NaN for a category)."""
        columns, shown = [], []
        text = {name: np.asarray(X[name]).astype(str) for name in self.levels_}
        for name, level in self._columns():
            if level is not None:
                columns.append((text[name] == level).astype(float))
                shown.append(np.full(len(risk_logit), np.nan))
            else:
                number = np.nan_to_num(np.asarray(X[name], dtype=float), nan=0.0)
                columns.append(np.sign(number) * np.log1p(np.abs(number)))
                shown.append(number)
        columns.append(risk_logit)
        shown.append(_sigmoid(risk_logit))
        return np.column_stack(columns), np.column_stack(shown)

    def to_dict(self) -> dict:
        return {
            "modifiers": self.modifiers, "ridge": self.ridge, "levels": self.levels_,
            "mean": self.mean_.tolist(), "scale": self.scale_.tolist(),
            "intercept": self.intercept_, "coef": self.coef_.tolist(),
        }  # fmt: skip

    @classmethod
    def from_dict(cls, meta: dict) -> ModifierShift:
        shift = cls(meta["modifiers"], meta["ridge"])
        shift.levels_ = {k: list(v) for k, v in meta["levels"].items()}
        shift.mean_, shift.scale_ = np.asarray(meta["mean"]), np.asarray(meta["scale"])
        shift.intercept_, shift.coef_ = float(meta["intercept"]), np.asarray(meta["coef"])
        return shift


def _numeric(values: object) -> bool:
    return pd.api.types.is_numeric_dtype(np.asarray(values))


def _risk(X: pd.DataFrame | Mapping[str, np.ndarray]) -> np.ndarray:
    if RISK not in X:
        raise KeyError(f"the anchored uplift learner needs each row's risk in {RISK!r}")
    return np.clip(np.asarray(X[RISK], dtype=float), 1e-6, 1 - 1e-6)


def _describe(name: str) -> str:
    feature = FEATURES_BY_NAME.get(name)
    if feature is not None:
        return feature.description
    return DESCRIPTIONS.get(name, name.replace("_", " "))


def _n(value: float) -> str:
    return "unknown" if np.isnan(value) else f"{value:.3g}"


def _mean_offset(start: np.ndarray, complained: np.ndarray, weight: np.ndarray) -> float:
    """The one constant that, added to ``start`` (log-odds), makes the weighted predicted
    complaints equal the observed ones (Newton's method on the logistic likelihood)."""
    offset = 0.0
    for _ in range(50):
        p = _sigmoid(start + offset)
        step = np.sum(weight * (complained - p)) / max(np.sum(weight * p * (1 - p)), 1e-12)
        offset += step
        if abs(step) < 1e-10:
            break
    return float(offset)


def _mean_above_zero(mean: float, sd: float) -> float:
    """The mean of a normal (``mean``, ``sd``) truncated to the positive numbers."""
    if sd <= 0:
        return max(mean, 0.0)
    z = mean / sd
    if z < -35:  # Phi(z) underflows below here; the mean tends to sd / |z| (Mills' ratio)
        return sd / -z
    density = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    return mean + sd * density / (math.erfc(-z / math.sqrt(2)) / 2)


def _weighted_quantile(values: np.ndarray, weight: np.ndarray, q: float) -> float:
    """The value below which a share ``q`` of the weight lies."""
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(np.asarray(weight, dtype=float)[order])
    at = np.searchsorted(cumulative, q * cumulative[-1])
    return float(np.asarray(values)[order][min(at, len(order) - 1)])


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1 - p))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def row_weights(chance: np.ndarray) -> np.ndarray:
    """Each randomised row's weight: the inverse of its chance of the group it is in, so that
    an explored row stands for the customers it was drawn from."""
    return 1 / np.clip(np.asarray(chance, dtype=float), MIN_CHANCE, 1.0)


def prevented_in_top(
    order: np.ndarray,
    contacted: np.ndarray,
    complained: np.ndarray,
    chance: np.ndarray,
    k: int,
) -> float:
    """Complaints prevented by contacting the first ``k`` rows of ``order`` (best first),
    estimated from their randomised groups: the held-out rate times the contacted count,
    minus the contacted complaints, each row weighted by 1 / ``chance`` (its chance of the
    group it is in); NaN without both groups."""
    top = np.asarray(order)[:k]
    c = np.asarray(contacted, dtype=bool)[top]
    y = np.asarray(complained, dtype=float)[top]
    return len(top) * _rate_difference(c, y, row_weights(np.asarray(chance)[top]))


def _rate_difference(contacted: np.ndarray, complained: np.ndarray, weight: np.ndarray) -> float:
    """The held-out rows' weighted complaint rate minus the contacted rows'; NaN without
    both groups."""
    if not contacted.any() or contacted.all():
        return float("nan")
    held, called = ~contacted, contacted
    return float(
        np.average(complained[held], weights=weight[held])
        - np.average(complained[called], weights=weight[called])
    )


def prevented_rate_interval(
    contacted: np.ndarray, complained: np.ndarray, chance: np.ndarray
) -> tuple[float, float, float]:
    """(estimate, 2.5 %, 97.5 %) of the complaint rate a call removes over these rows: the
    held-out rate minus the contacted rate, each row weighted by 1 / ``chance``; NaN without
    both groups. The interval is Wald's with one complaint and one quiet row added to each
    group at the group's mean weight (Agresti and Caffo's adjustment, weighted), the
    variance linearised. An explored row of low propensity weighs a hundred top rows, so a
    group's rate can rest on a few complaints: a bootstrap's percentiles are then too narrow
    (where none of a group's held-out rows complained, every resample says the same), and so
    is Wald's interval alone; this one errs on the wide side (``benchmarks/uplift_loop.py``
    measures its coverage on loops' rows randomised again)."""
    c = np.asarray(contacted, dtype=bool)
    y = np.asarray(complained, dtype=float)
    w = row_weights(chance)
    estimate = _rate_difference(c, y, w)
    if np.isnan(estimate):
        return (estimate,) * 3
    centre, variance = _adjusted_difference(c, y, w)
    half = Z95 * np.sqrt(variance)
    return estimate, float(centre - half), float(centre + half)


def _adjusted_difference(
    contacted: np.ndarray, complained: np.ndarray, weight: np.ndarray
) -> tuple[float, float]:
    """(centre, variance) of the held-out minus the contacted weighted complaint rate, one
    complaint and one quiet row added to each group at its mean weight (see
    :func:`prevented_rate_interval`)."""
    adjusted, variances = [], []
    for arm in (~contacted, contacted):  # held out, contacted
        wa = np.r_[weight[arm], weight[arm].mean(), weight[arm].mean()]
        ya = np.r_[complained[arm], 1.0, 0.0]
        mean = np.sum(wa * ya) / np.sum(wa)
        adjusted.append(mean)
        variances.append(np.sum(wa**2 * (ya - mean) ** 2) / np.sum(wa) ** 2)
    return float(adjusted[0] - adjusted[1]), float(sum(variances))


def qini_curve(
    score: np.ndarray,
    contacted: np.ndarray,
    complained: np.ndarray,
    chance: np.ndarray,
    points: int = 10,
) -> pd.DataFrame:
    """Complaints prevented among the top ``share`` of rows ranked by ``score`` (highest
    first: rank by expected prevention, i.e. ``-effect``), at ``points`` shares."""
    order = np.argsort(-np.asarray(score), kind="stable")
    n = len(order)
    shares = np.linspace(0, 1, points + 1)[1:]
    return pd.DataFrame(
        {
            "share": shares,
            "prevented": [
                prevented_in_top(order, contacted, complained, chance, max(1, round(s * n)))
                for s in shares
            ],
        }
    )


def prevented_interval(
    score: np.ndarray,
    contacted: np.ndarray,
    complained: np.ndarray,
    chance: np.ndarray,
    k: int,
    samples: int = 200,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(estimate, 2.5 %, 97.5 %) of the complaints prevented among the top ``k`` by
    ``score``, the interval from resampling the rows (the ranking kept)."""
    score = np.asarray(score)
    groups = (np.asarray(contacted, dtype=bool), np.asarray(complained), np.asarray(chance))

    def prevented(rows: np.ndarray) -> float:
        return prevented_in_top(rows[np.argsort(-score[rows], kind="stable")], *groups, k)

    return _resampled(prevented, len(score), samples, seed)


def prevented_difference_interval(
    score: np.ndarray,
    peer: np.ndarray,
    contacted: np.ndarray,
    complained: np.ndarray,
    chance: np.ndarray,
    k: int,
    samples: int = 200,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(estimate, 2.5 %, 97.5 %) of the complaints the top ``k`` by ``score`` prevented
    beyond the top ``k`` by ``peer``, both rankings judged on the same resampled rows each
    time (paired: the noise the two share cancels)."""
    score, peer = np.asarray(score), np.asarray(peer)
    groups = (np.asarray(contacted, dtype=bool), np.asarray(complained), np.asarray(chance))

    def difference(rows: np.ndarray) -> float:
        by_score = rows[np.argsort(-score[rows], kind="stable")]
        by_peer = rows[np.argsort(-peer[rows], kind="stable")]
        return prevented_in_top(by_score, *groups, k) - prevented_in_top(by_peer, *groups, k)

    return _resampled(difference, len(score), samples, seed)


def _resampled(
    statistic: Callable[[np.ndarray], float], n: int, samples: int, seed: int
) -> tuple[float, float, float]:
    """(the statistic on all ``n`` rows, 2.5 % and 97.5 % of it on rows drawn with
    replacement)."""
    rng = np.random.default_rng(seed)
    draws = [statistic(rng.integers(0, n, n)) for _ in range(samples)]
    low, high = np.nanpercentile(draws, [2.5, 97.5])
    return statistic(np.arange(n)), float(low), float(high)
