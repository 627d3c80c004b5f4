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
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from data.history import History
from data.load import load_history, read_true_risk, release_freed_memory
from experiments.config import LabelConfig, RadarConfig, SamplingConfig, SplitConfig
from features.build import build_features_in_chunks
from features.catalogue import KEY_COLUMNS, available_features
from features.labels import LabelEngine, label_rules
from features.parameters import (
    DEFAULT_PARAMETERS,
    FeatureParameters,
    estimate_parameters,
    open_complaint_days,
)
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
    return place_periods(data_start(history, split), history.observed_until, labels, split)


def data_start(history: History, split: SplitConfig) -> pd.Timestamp:
    """The first day of the warm-up: ``split.start``; with ``auto``, the first day from which
    the data is dense; by default the first contact, event or complaint (sign-ups may be
    years older)."""
    times = [
        history.contacts["started_at"],
        history.events["occurred_at"],
        history.complaints["filed_at"],
    ]
    known = pd.concat([t.dropna() for t in times], ignore_index=True)
    if known.empty:
        raise NotEnoughData("history has no contacts, events or complaints: nothing to learn from")
    return start_day(split, known.dt.floor("D").value_counts().sort_index())


def observed_from_the_start(history: History, split: SplitConfig) -> History:
    """``history``, observed from the dense start when ``split.start`` is ``auto``: the rows
    before it are strays, not a history windows may count on."""
    if split.start != "auto" or history.observed_from is None:
        return history
    return replace(history, observed_from=max(history.observed_from, data_start(history, split)))


def start_day(split: SplitConfig, daily: pd.Series) -> pd.Timestamp:
    """The warm-up's first day, given the rows of activity per UTC day (``daily``, sorted)."""
    first = pd.Timestamp(daily.index[0])
    if split.start is None:
        return first
    if split.start != "auto":
        return pd.Timestamp(split.start).tz_localize("UTC")
    start = dense_start(daily)
    if start > first:
        log.info(
            "split.start auto: the data is dense from %s; %d earlier row(s) from %s only feed "
            "features",
            start.date(),
            int(daily[daily.index < start].sum()),
            first.date(),
        )
    return start


# A day starts the dense data when the week from it averages this share of the rows of the
# median day with any activity.
DENSE_SHARE = 0.25
DENSE_WEEK = 7


def dense_start(daily: pd.Series) -> pd.Timestamp:
    """The first active day whose week ahead averages at least :data:`DENSE_SHARE` of the
    median active day's rows (``daily``: rows per day, sorted): a few stray rows years before
    the data proper do not stretch the periods over empty years."""
    days = pd.date_range(daily.index[0], daily.index[-1], freq="D")
    counts = daily.reindex(days, fill_value=0)
    ahead = counts[::-1].rolling(DENSE_WEEK, min_periods=1).mean()[::-1]
    dense = (ahead >= DENSE_SHARE * float(daily.median())) & (counts > 0)
    return pd.Timestamp(dense.idxmax()) if dense.any() else pd.Timestamp(daily.index[0])


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
    config: RadarConfig,
    true_risk: pd.DataFrame | None = None,
    parameters: FeatureParameters | None = None,
) -> tuple[pd.DataFrame, Periods, FeatureParameters, dict[str, dict[str, int]]]:
    """Features, label, weight and split for the eligible, uncensored customer-days of the
    periods, sampled (``config.sampling``) before any feature is built; the feature
    parameters they were built with (``parameters`` as given, else resolved from the
    configuration on the train period); and the counts of every period (see
    :func:`sample_grid`)."""
    history = observed_from_the_start(history, config.split)
    periods = split_periods(history, config.labels, config.split)
    parameters = parameters or resolve_parameters(history, periods, config)
    frame, counts = assemble_rows(history, periods, config, None, parameters)
    if true_risk is not None:
        frame = frame.merge(
            true_risk[[*KEY_COLUMNS, "true_risk"]], on=list(KEY_COLUMNS), how="left"
        )
    log_periods(frame, periods)
    return frame, periods, parameters, counts


def resolve_parameters(
    history: History, periods: Periods, config: RadarConfig
) -> FeatureParameters:
    """The feature parameters of a training run, learnt from what happened before the train
    period ends (the validation and test periods never shape the features they are judged
    on): thresholds the configuration leaves null, estimated from the contacts closed by
    then; the vocabularies (the most frequent channels, reasons and event types); the
    open-complaint bound, from the complaints resolved by then; and the look-back, the
    warm-up every training day has."""
    train_end = periods.train[1] + pd.Timedelta(days=1)
    contacts = history.contacts
    closed = contacts[(contacts["closed_at"] < train_end).to_numpy(dtype=bool)]
    parameters = replace(
        estimate_parameters(closed, config.features).with_vocabularies(
            contacts, history.events, before=train_end
        ),
        lookback_days=float(config.split.warmup_days),
        first_seen_signup="customers.signup_at" in history.derived,
        open_complaint_days=open_complaint_days(
            history.complaints, config.labels.open_complaint_days, before=train_end
        ),
    )
    log.info("feature parameters: %s", parameters.as_dict())
    return parameters


def assemble_rows(
    history: History,
    periods: Periods,
    config: RadarConfig,
    stream: int | None = None,
    parameters: FeatureParameters = DEFAULT_PARAMETERS,
) -> tuple[pd.DataFrame, dict[str, dict[str, int]]]:
    """The sampled rows of ``periods`` with their features, and the counts of every period.
    ``stream`` numbers an independent sampling stream of the same seed: the Spark engine
    draws one per customer partition."""
    engine = LabelEngine(history, label_rules(config.labels, parameters))
    rows, counts = sample_grid(engine, periods, config.sampling, stream)
    log.info(
        "building features for %d of %d eligible customer-days (sampled before features)",
        rows["code"].size,
        sum(c["eligible_customer_days"] for c in counts.values()),
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
    return frame, counts


def load_training_frame(
    config: RadarConfig, data_dir: Path, parameters: FeatureParameters | None = None
) -> tuple[pd.DataFrame, Periods, dict]:
    """Load and validate ``data_dir``, assemble the training frame, then let the history go:
    from here on only the frame is needed, and at a million customers the validated tables
    are gigabytes that evaluation and registration would otherwise carry to the end.

    ``parameters``: a registered model's, to judge it on its own features (default: resolved
    from the configuration on the train period). The summary carries the load report, the
    absent inputs, the feature parameters used and the counts of every period."""
    history, load_report = load_history(data_dir, config.workspace.data_rejects_dir, config.data)
    frame, periods, parameters, counts = assemble(
        history, config, read_true_risk(data_dir), parameters
    )
    summary = load_report.summary() | {
        "absent_inputs": sorted(history.absent),
        "feature_parameters": parameters.as_dict(),
        "periods": counts,
    }
    del history
    gc.collect()
    release_freed_memory()
    return frame, periods, summary


# Per period: every eligible customer-day and its positives, and the customer-days (and
# positives) the open-complaint rule removed from them.
PERIOD_COUNTS = (
    "eligible_customer_days",
    "positives",
    "removed_open_complaint_customer_days",
    "removed_open_complaint_positives",
)


def sample_grid(
    engine: LabelEngine, periods: Periods, sampling: SamplingConfig, stream: int | None = None
) -> tuple[dict[str, np.ndarray], dict[str, dict[str, int]]]:
    """The kept customer-days of every period (customer position, cutoff second, label,
    weight, split), and per period the counts of :data:`PERIOD_COUNTS` (before sampling).
    Labelled one day at a time, so memory grows with the rows kept, not with customers x
    days."""
    rng = np.random.default_rng(sampling.seed if stream is None else [sampling.seed, stream])
    everyone = np.arange(len(engine.index))
    # A uniform sample of customers carries the test period (all of them by default).
    tested = everyone[rng.random(everyone.size) < sampling.test_customer_fraction]
    kept: dict[str, list[np.ndarray]] = {k: [] for k in ("code", "t", "label", "weight", "split")}
    counts = {name: dict.fromkeys(PERIOD_COUNTS, 0) for name in SPLITS}
    for name in SPLITS:
        first, last = getattr(periods, name)
        for day in pd.date_range(first, last, freq="D"):
            codes = tested if name == "test" else everyone
            t = np.full(codes.size, to_seconds([day], "floor")[0])
            rows = engine.at(codes, t)
            usable = rows.eligible & ~rows.censored
            removed = rows.signed_up & ~rows.eligible & ~rows.censored
            day_counts = (usable, usable & (rows.label == 1), removed, removed & (rows.label == 1))
            for key, mask in zip(PERIOD_COUNTS, day_counts, strict=True):
                counts[name][key] += int(mask.sum())
            keep, weight = sample_rows(rows.label[usable], name, sampling, rng)
            kept["code"].append(codes[usable][keep])
            kept["t"].append(t[usable][keep])
            kept["label"].append(rows.label[usable][keep])
            kept["weight"].append(weight)
            kept["split"].append(np.full(int(keep.sum()), name, dtype=object))
    return {key: np.concatenate(parts) for key, parts in kept.items()}, counts


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
