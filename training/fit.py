"""Fit a ``RiskModel`` on the train period of an assembled frame (early stopping and
calibration on validation), with each row's sampling weight."""

from __future__ import annotations

import pandas as pd

from experiments.config import RadarConfig
from features.catalogue import feature_columns
from training.model import RiskModel


def fit_model(frame: pd.DataFrame, config: RadarConfig) -> RiskModel:
    train = frame[frame["split"] == "train"]
    val = frame[frame["split"] == "validation"]
    # The frame holds the features the data can support (see features.available_features).
    model = RiskModel(feature_columns(frame.columns), config.model)
    return model.fit(
        train,
        train["label"].to_numpy(),
        val,
        val["label"].to_numpy(),
        sample_weight=train["weight"].to_numpy(),
        validation_weight=val["weight"].to_numpy(),
    )
