"""What the lists' randomised assignments teach: every customer a matured list assigned
(``contact`` or ``holdout``), with the features the list was scored on, the group the draw
put them in, the propensity of that draw and whether they complained within the horizon.
The rows an uplift model learns from and is judged on (:mod:`training.uplift`)."""

from __future__ import annotations

from datetime import date as Date
from pathlib import Path

import pandas as pd

from data.history import History
from experiments.config import RadarConfig
from features.catalogue import FEATURE_NAMES
from serving.monitoring.monitor import matured_days
from serving.publication import CONTACT, HOLDOUT, SNAPSHOT_FEATURES, read_list


def randomised_rows(
    history: History, published: list[tuple[Date, Path]], config: RadarConfig
) -> pd.DataFrame:
    """One row per assigned customer of each matured list: ``date``, ``customer_id``, the
    snapshot's features, the list's ``probability``, ``contacted``, ``propensity`` (its chance of ``contact``; lists
    from before propensities were recorded: the day's contact share) and ``complained``."""
    frames = []
    for day in matured_days(history, published, config.labels.horizon_hours, config.evaluation):
        listed = day.listed[day.listed["assignment"].isin([CONTACT, HOLDOUT])]
        if listed.empty:
            continue
        recorded = read_list(day.folder).set_index("customer_id")
        contacted = (listed["assignment"] == CONTACT).to_numpy()
        if "propensity" in recorded.columns:
            # A held-out row records its chance of contact too: the design's, not 0.
            propensity = recorded.loc[listed["customer_id"], "propensity"].to_numpy(dtype=float)
        else:
            propensity = pd.Series(contacted.mean(), index=listed.index).to_numpy()
        features = pd.read_parquet(day.folder / SNAPSHOT_FEATURES).set_index("customer_id")
        frames.append(
            features.loc[listed["customer_id"]]
            .reset_index()
            .assign(
                date=day.day,
                probability=listed["probability"].to_numpy(dtype=float),
                contacted=contacted,
                propensity=propensity,
                complained=listed["label"].to_numpy(dtype=int),
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def uplift_features(rows: pd.DataFrame) -> list[str]:
    """The catalogue's numeric features present in ``rows`` (what the uplift model reads)."""
    return [c for c in FEATURE_NAMES if c in rows and pd.api.types.is_numeric_dtype(rows[c])]
