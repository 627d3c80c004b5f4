"""Training-set assembly: the daily cutoff grid, labels, eligibility and an out-of-time split.

Periods, oldest first: warm-up (only feeds feature windows) | train | gap | validation |
gap | test. Each gap is at least the label horizon, so no label window of one period
overlaps the next. Censored cutoffs (label window past the end of data) are never used.
"""

from __future__ import annotations

import gc
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from data.history import History
from data.load import load_history, read_true_risk, release_freed_memory
from experiments.config import (
    FeatureConfig,
    LabelConfig,
    RadarConfig,
    SamplingConfig,
    SplitConfig,
)
from features.build import build_features_in_chunks
from features.catalogue import KEY_COLUMNS, available_features
from features.labels import LabelEngine
from features.parameters import DEFAULT_PARAMETERS, FeatureParameters, estimate_parameters
from features.pit import EPOCH_OFFSET, to_seconds

log = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")


class NotEnoughData(ValueError):
    """The history is too short for the configured periods."""


@dataclass(frozen=True)
class Periods:
    """First and last cutoff day of each split (inclusive, UTC midnights)."""

    train: tuple[pd.Timestamp, pd.Timestamp]
    validation: tuple[pd.Timestamp, pd.Timestamp]
    test: tuple[pd.Timestamp, pd.Timestamp]

    def as_dict(self) -> dict[str, list[str]]:
        return {k: [d.date().isoformat() for d in getattr(self, k)] for k in SPLITS}


def split_periods(history: History, labels: LabelConfig, split: SplitConfig) -> Periods:
    """Place the periods on the calendar of ``history``."""
    # Activity starts with the first contact, event or complaint (signups may be years older).
    starts = [
        history.contacts["started_at"].min(),
        history.events["occurred_at"].min(),
        history.complaints["filed_at"].min(),
    ]
    starts = [t for t in starts if pd.notna(t)]
    if not starts:
        raise NotEnoughData("history has no contacts, events or complaints: nothing to learn from")
    return place_periods(min(starts).normalize(), history.observed_until, labels, split)


def place_periods(
    data_start: pd.Timestamp, observed_until: pd.Timestamp, labels: LabelConfig, split: SplitConfig
) -> Periods:
    """The periods of data whose activity starts on ``data_start`` (a UTC midnight)."""
    last_cutoff = (observed_until - pd.Timedelta(hours=labels.horizon_hours)).floor("D")
    gap_days = math.ceil(split.gap_hours / 24)
    test_first = last_cutoff - pd.Timedelta(days=split.test_days - 1)
    val_last = test_first - pd.Timedelta(days=gap_days + 1)
    val_first = val_last - pd.Timedelta(days=split.validation_days - 1)
    train_last = val_first - pd.Timedelta(days=gap_days + 1)
    train_first = data_start + pd.Timedelta(days=split.warmup_days)
    if (train_last - train_first).days + 1 < 7:
        needed = (
            split.warmup_days
            + 7
            + 2 * gap_days
            + split.validation_days
            + split.test_days
            + math.ceil(labels.horizon_hours / 24)
            + 2
        )
        raise NotEnoughData(
            f"history from {data_start.date()} to {observed_until.date()} is too short: the split needs "
            f"at least {needed} days (warm-up {split.warmup_days}, train 7+, validation {split.validation_days}, "
            f"test {split.test_days}, gaps {gap_days} each, horizon {labels.horizon_hours} h)"
        )
    return Periods((train_first, train_last), (val_first, val_last), (test_first, last_cutoff))


def sample_rows(
    label: np.ndarray, split: str, sampling: SamplingConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(rows to keep, their weights) for one day of ``split``: all positives, a ``rate``
    share of negatives weighted ``1 / rate`` (so weighted sums stay unbiased)."""
    rate = {
        "train": sampling.train_negative_rate,
        "validation": sampling.validation_negative_rate,
    }.get(split, 1.0)
    rates = np.where(label == 1, 1.0, rate)
    keep = rng.random(len(label)) < rates
    return keep, 1.0 / rates[keep]


def assemble(
    history: History,
    labels: LabelConfig,
    split: SplitConfig,
    true_risk: pd.DataFrame | None = None,
    sampling: SamplingConfig | None = None,
    features: FeatureConfig | FeatureParameters | None = None,
) -> tuple[pd.DataFrame, Periods, FeatureParameters]:
    """Features, label, weight and split for the eligible, uncensored customer-days of the
    periods, sampled (``sampling``) before any feature is built; and the feature parameters
    they were built with: ``features`` as given, or resolved from the configuration on the
    train period (default: the configuration's defaults)."""
    periods = split_periods(history, labels, split)
    parameters = resolve_parameters(history, periods, features)
    frame, _ = assemble_rows(
        history, periods, labels, sampling or SamplingConfig(), None, parameters
    )
    if true_risk is not None:
        frame = frame.merge(
            true_risk[[*KEY_COLUMNS, "true_risk"]], on=list(KEY_COLUMNS), how="left"
        )
    log_periods(frame, periods)
    return frame, periods, parameters


def resolve_parameters(
    history: History, periods: Periods, features: FeatureConfig | FeatureParameters | None
) -> FeatureParameters:
    """The feature parameters of a training run. Those the configuration leaves null are
    estimated from the contacts that closed before the train period ends, and the
    vocabularies (the most frequent channels, reasons and event types) are learnt from
    what happened before it ends: the validation and test periods never shape the features
    they are judged on."""
    if isinstance(features, FeatureParameters):
        return features
    features = features or FeatureConfig()
    train_end = periods.train[1] + pd.Timedelta(days=1)
    contacts = history.contacts
    closed = contacts[(contacts["closed_at"] < train_end).to_numpy(dtype=bool)]
    parameters = estimate_parameters(closed, features).with_vocabularies(
        contacts, history.events, before=train_end
    )
    log.info("feature parameters: %s", parameters.as_dict())
    return parameters


def assemble_rows(
    history: History,
    periods: Periods,
    labels: LabelConfig,
    sampling: SamplingConfig,
    stream: int | None = None,
    parameters: FeatureParameters = DEFAULT_PARAMETERS,
) -> tuple[pd.DataFrame, int]:
    """The sampled rows of ``periods`` with their features (and how many customer-days were
    eligible). ``stream`` numbers an independent sampling stream of the same seed: the
    Spark engine draws one per customer partition."""
    engine = LabelEngine(history, labels.horizon_hours, labels.exclude_open_complaints)
    rows, eligible_rows = sample_grid(engine, periods, sampling, stream)
    log.info(
        "building features for %d of %d eligible customer-days (sampled before features)",
        rows["code"].size,
        eligible_rows,
    )
    cutoffs = pd.DataFrame(
        {
            "customer_id": engine.index.to_numpy()[rows["code"]],
            "cutoff_at": pd.to_datetime(rows["t"] - EPOCH_OFFSET, unit="s", utc=True).as_unit("ns"),
        }
    )
    del engine
    started = time.perf_counter()

    def progress(done: int, parts: int) -> None:
        log.info(
            "features: customer partition %d of %d done (%.0f s)",
            done,
            parts,
            time.perf_counter() - started,
        )

    # Only features whose inputs the data has: the others would be constants.
    frame = build_features_in_chunks(
        history,
        cutoffs,
        progress=progress,
        features=available_features(history.absent),
        parameters=parameters,
    )
    for column in ("label", "weight", "split"):
        frame[column] = rows[column]
    return frame, eligible_rows


def load_training_frame(
    config: RadarConfig, data_dir: Path, parameters: FeatureParameters | None = None
) -> tuple[pd.DataFrame, Periods, dict]:
    """Load and validate ``data_dir``, assemble the training frame, then let the history go:
    from here on only the frame is needed, and at a million customers the validated tables
    are gigabytes that evaluation and registration would otherwise carry to the end.

    ``parameters``: a registered model's, to judge it on its own features (default: resolved
    from ``features:`` on the train period). The summary carries the load report, the
    absent inputs and the feature parameters used."""
    history, load_report = load_history(data_dir, config.workspace.rejects_dir, config.data)
    frame, periods, parameters = assemble(
        history,
        config.labels,
        config.split,
        read_true_risk(data_dir),
        config.sampling,
        parameters or config.features,
    )
    summary = load_report.summary() | {
        "absent_inputs": sorted(history.absent),
        "feature_parameters": parameters.as_dict(),
    }
    del history
    gc.collect()
    release_freed_memory()
    return frame, periods, summary


def sample_grid(
    engine: LabelEngine, periods: Periods, sampling: SamplingConfig, stream: int | None = None
) -> tuple[dict[str, np.ndarray], int]:
    """The kept customer-days of every period (customer position, cutoff second, label,
    weight, split) and how many were eligible. Labelled one day at a time, so memory grows
    with the rows kept, not with customers x days."""
    rng = np.random.default_rng(sampling.seed if stream is None else [sampling.seed, stream])
    everyone = np.arange(len(engine.index))
    # A uniform sample of customers carries the test period (all of them by default).
    tested = everyone[rng.random(everyone.size) < sampling.test_customer_fraction]
    kept: dict[str, list[np.ndarray]] = {k: [] for k in ("code", "t", "label", "weight", "split")}
    eligible_rows = 0
    for name in SPLITS:
        first, last = getattr(periods, name)
        for day in pd.date_range(first, last, freq="D"):
            codes = tested if name == "test" else everyone
            t = np.full(codes.size, to_seconds([day], "floor")[0])
            label, eligible, censored = engine.at(codes, t)
            usable = eligible & ~censored
            eligible_rows += int(usable.sum())
            keep, weight = sample_rows(label[usable], name, sampling, rng)
            kept["code"].append(codes[usable][keep])
            kept["t"].append(t[usable][keep])
            kept["label"].append(label[usable][keep])
            kept["weight"].append(weight)
            kept["split"].append(np.full(int(keep.sum()), name, dtype=object))
    return {key: np.concatenate(parts) for key, parts in kept.items()}, eligible_rows


def log_periods(frame: pd.DataFrame, periods: Periods) -> None:
    for name in SPLITS:
        part = frame[frame["split"] == name]
        w = part["weight"]
        log.info(
            "%-10s %s..%s: %d rows (%.0f weighted), %d positives (%.2f%% weighted)",
            name,
            *[d.date() for d in getattr(periods, name)],
            len(part),
            w.sum(),
            part["label"].sum(),
            100 * (w * part["label"]).sum() / w.sum() if len(part) else 0.0,
        )
