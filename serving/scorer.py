"""The one scoring object: a pinned registered model version that predicts calibrated
probabilities and explains them as reason codes. Used by the daily risk list and the
service alike.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.catalogue import FEATURES_BY_NAME, REASON_GROUPS
from radar.config import RadarConfig, ServingConfig
from training import registry
from training.model import RiskModel

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


class Scorer:
    """Predict and explain with one registered model version."""

    def __init__(
        self, model: RiskModel, model_name: str, model_version: str, serving: ServingConfig
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

    def score(
        self, features: pd.DataFrame, top_reasons: int | None = None, with_reasons: bool = True
    ) -> pd.DataFrame:
        """Probability, tier and (optionally) reasons for each row of a feature frame.

        Columns: customer_id, cutoff_at, probability, risk_tier, raw_score, base_value,
        reasons (list of :class:`Reason`), model_name, model_version.
        """
        k = top_reasons or self.serving.top_reasons
        out = features[["customer_id", "cutoff_at"]].reset_index(drop=True).copy()
        if with_reasons:
            contributions = self.model.explain(features)
            raw = contributions.sum(axis=1)
            out["base_value"] = contributions[:, -1]
            out["reasons"] = self.reasons(contributions, features, k)
        else:
            raw = self.model.raw_score(features)
            out["base_value"] = np.nan
            out["reasons"] = [[] for _ in range(len(out))]
        out["raw_score"] = raw
        out["probability"] = self.model.calibrate(raw)
        out["risk_tier"] = self.tier(out["probability"].to_numpy())
        out["model_name"] = self.model_name
        out["model_version"] = self.model_version
        return out

    def group_contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        """SHAP contributions summed per reason group, plus ``base_value``; rows sum to the raw score."""
        contributions = self.model.explain(features)
        out = pd.DataFrame(contributions[:, :-1] @ self._membership, columns=self._group_codes)
        out["base_value"] = contributions[:, -1]
        return out

    def reasons(
        self, contributions: np.ndarray, features: pd.DataFrame, k: int
    ) -> list[list[Reason]]:
        """Top-k risk-increasing reason groups per row (groups with a positive sum only)."""
        phi = contributions[:, :-1]
        by_group = phi @ self._membership
        top = np.argsort(-by_group, axis=1, kind="stable")[:, :k]
        names = self.model.feature_names
        values = features[names].reset_index(drop=True)
        result: list[list[Reason]] = []
        for i in range(len(features)):
            row_reasons = []
            for j in top[i]:
                if by_group[i, j] <= 0:
                    break
                code = self._group_codes[j]
                group = self._groups[code]
                row = values.iloc[i]
                members = self._members[code]
                strongest = members[np.argsort(-np.abs(phi[i, members]))[:FEATURES_PER_REASON]]
                row_reasons.append(
                    Reason(
                        code=code,
                        text=group.text(row),
                        action=group.action,
                        contribution=float(by_group[i, j]),
                        features={names[m]: _plain(row[names[m]]) for m in strongest},
                    )
                )
            result.append(row_reasons)
        return result


def _plain(value: object) -> float | str | None:
    """A JSON-friendly feature value."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    number = float(value)
    return None if math.isnan(number) else round(number, 4)
