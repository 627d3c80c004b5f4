"""Fit a model on the train period of an assembled frame (early stopping and calibration
on validation), with each row's sampling weight."""

from __future__ import annotations

import pandas as pd

from experiments.config import Candidate, RadarConfig
from features.catalogue import feature_columns
from training.model import CalibratedModel, LinearRiskModel, RiskModel


def fit_candidate(frame: pd.DataFrame, candidate: Candidate) -> CalibratedModel:
    """Fit one candidate (LightGBM or the linear model) on the frame's train period."""
    train = frame[frame["split"] == "train"]
    val = frame[frame["split"] == "validation"]
    # The frame holds the features the data can support (see features.available_features).
    names = feature_columns(frame.columns)
    model: CalibratedModel
    if candidate.kind == "linear":
        model = LinearRiskModel(names, c=candidate.c, seed=candidate.model.seed)
    else:
        model = RiskModel(names, candidate.model)
    return model.fit(
        train,
        train["label"].to_numpy(),
        val,
        val["label"].to_numpy(),
        sample_weight=train["weight"].to_numpy(),
        validation_weight=val["weight"].to_numpy(),
    )


def fit_model(frame: pd.DataFrame, config: RadarConfig) -> RiskModel:
    """LightGBM with the ``model:`` settings (what ``radar search`` tries)."""
    model = fit_candidate(frame, Candidate(name="lightgbm", kind="lightgbm", model=config.model))
    assert isinstance(model, RiskModel)
    return model
