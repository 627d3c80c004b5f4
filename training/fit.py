"""Fit a model on the train period of an assembled frame (early stopping and calibration
on validation), with each row's sampling weight."""

from __future__ import annotations

import pandas as pd

from experiments.config import Candidate, RadarConfig
from features.catalogue import feature_columns
from features.parameters import DEFAULT_PARAMETERS, FeatureParameters
from training.model import CalibratedModel, LinearRiskModel, RiskModel


def fit_candidate(
    frame: pd.DataFrame,
    candidate: Candidate,
    parameters: FeatureParameters = DEFAULT_PARAMETERS,
) -> CalibratedModel:
    """Fit one candidate (LightGBM or the linear model) on the frame's train period;
    ``parameters``: those the frame's features were built with (kept with the model)."""
    train = frame[frame["split"] == "train"]
    val = frame[frame["split"] == "validation"]
    # The frame holds the features the data can support (see features.available_features).
    names = feature_columns(frame.columns)
    model: CalibratedModel
    if candidate.kind == "linear":
        model = LinearRiskModel(names, candidate.c, candidate.model.seed, parameters)
    else:
        model = RiskModel(names, candidate.model, parameters)
    return model.fit(
        train,
        train["label"].to_numpy(),
        val,
        val["label"].to_numpy(),
        sample_weight=train["weight"].to_numpy(),
        validation_weight=val["weight"].to_numpy(),
    )


def fit_model(
    frame: pd.DataFrame, config: RadarConfig, parameters: FeatureParameters = DEFAULT_PARAMETERS
) -> RiskModel:
    """LightGBM with the ``model:`` settings (what ``radar search`` tries)."""
    lightgbm = Candidate(name="lightgbm", kind="lightgbm", model=config.model)
    model = fit_candidate(frame, lightgbm, parameters)
    assert isinstance(model, RiskModel)
    return model
