"""The one scoring object: a pinned registered model version that predicts calibrated
probabilities and explains them as reason codes. Used by the daily risk list and the
service alike.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from experiments.config import RadarConfig, ServingConfig
from features.catalogue import FEATURES_BY_NAME, REASON_GROUPS, ReasonGroup, value_label
from training import registry
from training.model import CalibratedModel

log = logging.getLogger(__name__)

FEATURES_PER_REASON = 3


@dataclass(frozen=True)
class Reason:
    """A group of related features that pushed the risk up, in words."""

    code: str
    text: str
    action: str
    contribution: float  # summed SHAP contribution of the group, in log-odds
    features: dict[str, float | str | None]  # the group's most influential feature values


class FeatureTable:
    """Feature rows ready to score: the encoded matrix, plus raw values for reason texts.

    Built once per batch, or once per published snapshot in the service, so that scoring
    a few rows is array indexing rather than DataFrame work.
    """

    def __init__(
        self, model: CalibratedModel, features: pd.DataFrame | Mapping[str, np.ndarray]
    ) -> None:
        if isinstance(features, pd.DataFrame):
            features = features.reset_index(drop=True)
        self.customer_id = np.asarray(features["customer_id"])
        self.cutoff_at = np.asarray(features["cutoff_at"])
        self.matrix = model.encode(features)
        self.columns = {name: np.asarray(features[name]) for name in model.feature_names}
        self.row_of = {cid: i for i, cid in enumerate(self.customer_id)}
        self.labels = {
            value_label(feature): value
            for feature, value in model.feature_parameters.labels().items()
        }

    def __len__(self) -> int:
        return len(self.customer_id)

    def values(self, row: int) -> Mapping[str, object]:
        return _RowValues(self.columns, row, self.labels)


class _RowValues(Mapping):
    """A read-only name -> value view of one row (no per-row dict is built); also the value
    each slot feature counts, under ``value_label(feature)`` (for reason texts)."""

    def __init__(self, columns: dict[str, np.ndarray], row: int, labels: Mapping[str, str]) -> None:
        self._columns, self._row, self._labels = columns, row, labels

    def __getitem__(self, name: str) -> object:
        if name in self._labels:
            return self._labels[name]
        return self._columns[name][self._row]

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)


@dataclass(frozen=True)
class Scores:
    """Scores of some rows of a :class:`FeatureTable`, in the order asked for."""

    rows: np.ndarray
    probability: np.ndarray
    raw_score: np.ndarray
    base_value: np.ndarray  # NaN when explanations were not asked for
    risk_tier: np.ndarray
    reasons: list[list[Reason]]


class Scorer:
    """Predict and explain with one registered model version."""

    def __init__(
        self, model: CalibratedModel, model_name: str, model_version: str, serving: ServingConfig
    ) -> None:
        self.model = model
        self.model_name = model_name
        self.model_version = str(model_version)
        self.serving = serving
        names = model.feature_names
        self._group_codes = [g.code for g in REASON_GROUPS]
        self._groups = {g.code: g for g in REASON_GROUPS}
        # Feature -> reason group incidence matrix: contributions @ matrix = group contributions.
        self._membership = np.zeros((len(names), len(REASON_GROUPS)))
        for i, name in enumerate(names):
            self._membership[i, self._group_codes.index(FEATURES_BY_NAME[name].group)] = 1.0
        self._members = {
            code: np.flatnonzero(self._membership[:, j]) for j, code in enumerate(self._group_codes)
        }

    @classmethod
    def from_registry(cls, config: RadarConfig) -> Scorer:
        """Load the pinned version, or the version the champion alias points to now."""
        client = registry.connect(config)
        name = config.registry.model_name
        version = registry.resolve_version(client, name, config.serving.model_version)
        log.info("loading %s version %s", name, version)
        return cls(registry.load_version(config, version), name, version, config.serving)

    def tier(self, probability: np.ndarray) -> np.ndarray:
        s = self.serving
        return np.where(
            probability >= s.high_tier,
            "high",
            np.where(probability >= s.medium_tier, "medium", "low"),
        )

    def table(self, features: pd.DataFrame | Mapping[str, np.ndarray]) -> FeatureTable:
        return FeatureTable(self.model, features)

    def score_table(
        self,
        table: FeatureTable,
        rows: np.ndarray | None = None,
        top_reasons: int | None = None,
        with_reasons: bool = True,
    ) -> Scores:
        """Score ``rows`` of ``table`` (all rows when None)."""
        rows = np.arange(len(table)) if rows is None else np.asarray(rows, dtype=np.int64)
        matrix = table.matrix[rows]
        k = self.serving.top_reasons if top_reasons is None else top_reasons
        if with_reasons and k > 0 and len(rows):
            contributions = self.model.explain(matrix)
            raw, base = contributions.sum(axis=1), contributions[:, -1]
            reasons = self._reasons(contributions, table, rows, k)
        else:
            raw = self.model.raw_score(matrix) if len(rows) else np.zeros(0)
            base, reasons = np.full(len(rows), np.nan), [[] for _ in rows]
        probability = self.model.calibrate(raw)
        return Scores(rows, probability, raw, base, self.tier(probability), reasons)

    def score(
        self,
        features: pd.DataFrame,
        top_reasons: int | None = None,
        with_reasons: bool = True,
        explain_top: int | None = None,
    ) -> pd.DataFrame:
        """Probability, tier and (optionally) reasons for each row of a feature frame.

        ``explain_top``: reasons only for the ``explain_top`` highest-risk rows and every
        row at or above the medium tier (the rest get none). Explanations cost far more
        than scores, and a million-customer list needs them only where someone will act.

        Columns: customer_id, cutoff_at, probability, risk_tier, raw_score, base_value,
        reasons (list of :class:`Reason`), model_name, model_version.
        """
        table = self.table(features)
        if explain_top is None or not with_reasons:
            s = self.score_table(table, top_reasons=top_reasons, with_reasons=with_reasons)
        else:
            s = self._score_explaining_top(table, top_reasons, explain_top)
        return pd.DataFrame(
            {
                "customer_id": table.customer_id,
                "cutoff_at": table.cutoff_at,
                "base_value": s.base_value,
                "reasons": s.reasons,
                "raw_score": s.raw_score,
                "probability": s.probability,
                "risk_tier": s.risk_tier,
                "model_name": self.model_name,
                "model_version": self.model_version,
            }
        )

    def _score_explaining_top(
        self, table: FeatureTable, top_reasons: int | None, explain_top: int
    ) -> Scores:
        plain = self.score_table(table, with_reasons=False)
        wanted = plain.probability >= self.serving.medium_tier
        wanted[np.argsort(-plain.probability, kind="stable")[:explain_top]] = True
        rows = np.flatnonzero(wanted)
        explained = self.score_table(table, rows, top_reasons=top_reasons)
        reasons: list[list[Reason]] = [[] for _ in range(len(table))]
        for i, row in enumerate(rows):
            reasons[row] = explained.reasons[i]
        probability, raw, base = plain.probability.copy(), plain.raw_score.copy(), plain.base_value
        # Explained rows take the explanation's own sum, as the service's answers do.
        probability[rows], raw[rows] = explained.probability, explained.raw_score
        base = base.copy()
        base[rows] = explained.base_value
        return Scores(plain.rows, probability, raw, base, self.tier(probability), reasons)

    def group_contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        """SHAP contributions summed per reason group, plus ``base_value``; rows sum to the raw score."""
        contributions = self.model.explain(features)
        out = pd.DataFrame(contributions[:, :-1] @ self._membership, columns=self._group_codes)
        out["base_value"] = contributions[:, -1]
        return out

    def _reasons(
        self, contributions: np.ndarray, table: FeatureTable, rows: np.ndarray, k: int
    ) -> list[list[Reason]]:
        """Top-k risk-increasing reason groups per row (groups with a positive sum only)."""
        phi = contributions[:, :-1]
        by_group = phi @ self._membership
        top = np.argsort(-by_group, axis=1, kind="stable")[:, :k]
        names = self.model.feature_names
        result: list[list[Reason]] = []
        for i, row in enumerate(rows):
            values = table.values(row)
            row_reasons = []
            for j in top[i]:
                if by_group[i, j] <= 0:
                    break
                code = self._group_codes[j]
                members = self._members[code]
                strongest = members[
                    np.argsort(-np.abs(phi[i, members]), kind="stable")[:FEATURES_PER_REASON]
                ]
                group = self._groups[code]
                row_reasons.append(
                    Reason(
                        code=code,
                        text=_reason_text(group, values, [names[m] for m in strongest]),
                        action=group.action,
                        contribution=float(by_group[i, j]),
                        features={names[m]: _plain(values[names[m]]) for m in strongest},
                    )
                )
            result.append(row_reasons)
        return result


def _reason_text(group: ReasonGroup, values: Mapping[str, object], strongest: list[str]) -> str:
    """The group's sentence; when it quotes a feature the model does not have (its data
    lacked the input), the group's title and the strongest features' values instead."""
    try:
        return group.text(values)
    except KeyError:
        shown = ", ".join(
            f"{FEATURES_BY_NAME[n].description.lower()}: {_shown(values[n])}" for n in strongest
        )
        return f"{group.title}: {shown}"


def _shown(value: object) -> str:
    plain = _plain(value)
    if plain is None:
        return "none"
    return plain if isinstance(plain, str) else f"{plain:g}"


def _plain(value: object) -> float | str | None:
    """A JSON-friendly feature value."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    number = float(value)
    return None if math.isnan(number) else round(number, 4)
