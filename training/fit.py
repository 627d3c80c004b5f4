"""Fit a ``RiskModel`` on the train period of an assembled frame (early stopping and
calibration on validation), optionally on a reweighted sample of negatives."""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.config import RadarConfig
from features.catalogue import FEATURE_NAMES
from training.model import RiskModel


def sample_negatives(
    frame: pd.DataFrame, rate: float, seed: int
) -> tuple[pd.DataFrame, np.ndarray]:
    """Keep all positives and a ``rate`` share of negatives, weighted 1/rate (unbiased)."""
    if rate >= 1.0:
        return frame, np.ones(len(frame))
    rng = np.random.default_rng(seed)
    keep = (frame["label"].to_numpy() == 1) | (rng.random(len(frame)) < rate)
    sampled = frame[keep]
    return sampled, np.where(sampled["label"].to_numpy() == 1, 1.0, 1.0 / rate)


def fit_model(frame: pd.DataFrame, config: RadarConfig) -> RiskModel:
    train, weight = sample_negatives(
        frame[frame["split"] == "train"], config.model.negative_sample_rate, config.model.seed
    )
    val = frame[frame["split"] == "validation"]
    model = RiskModel(FEATURE_NAMES, config.model)
    return model.fit(
        train, train["label"].to_numpy(), val, val["label"].to_numpy(), sample_weight=weight
    )
