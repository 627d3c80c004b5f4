"""Training-set assembly: the daily cutoff grid, labels, eligibility and an out-of-time split.

Periods, oldest first: warm-up (only feeds feature windows) | train | gap | validation |
gap | test. Each gap is at least the label horizon, so no label window of one period
overlaps the next. Censored cutoffs (label window past the end of data) are never used.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.history import History
from experiments.config import LabelConfig, SamplingConfig, SplitConfig
from features.build import build_features
from features.catalogue import KEY_COLUMNS
from features.labels import build_labels, daily_cutoffs

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
    data_start = min(starts).normalize()
    last_cutoff = (history.observed_until - pd.Timedelta(hours=labels.horizon_hours)).floor("D")
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
            f"history from {data_start.date()} to {history.observed_until.date()} is too short: the split needs "
            f"at least {needed} days (warm-up {split.warmup_days}, train 7+, validation {split.validation_days}, "
            f"test {split.test_days}, gaps {gap_days} each, horizon {labels.horizon_hours} h)"
        )
    return Periods((train_first, train_last), (val_first, val_last), (test_first, last_cutoff))


def sample_rows(
    label: np.ndarray, which: np.ndarray, sampling: SamplingConfig
) -> tuple[np.ndarray, np.ndarray]:
    """(rows to keep, their weights): all positives and test rows, a seeded ``rate`` share of
    train and validation negatives weighted ``1 / rate`` (so weighted sums stay unbiased)."""
    rng = np.random.default_rng(sampling.seed)
    rate = np.ones(len(label))
    rate[which == "train"] = sampling.train_negative_rate
    rate[which == "validation"] = sampling.validation_negative_rate
    rate[label == 1] = 1.0
    keep = rng.random(len(label)) < rate
    return keep, 1.0 / rate[keep]


def assemble(
    history: History,
    labels: LabelConfig,
    split: SplitConfig,
    true_risk: pd.DataFrame | None = None,
    sampling: SamplingConfig | None = None,
) -> tuple[pd.DataFrame, Periods]:
    """Features, label, weight and split for the eligible, uncensored customer-days of the
    periods (train and validation negatives sampled first when ``sampling`` says so)."""
    periods = split_periods(history, labels, split)
    cutoffs = daily_cutoffs(history.customers, periods.train[0], periods.test[1])
    day = cutoffs["cutoff_at"]
    which = np.full(len(cutoffs), "", dtype=object)
    for name in SPLITS:
        first, last = getattr(periods, name)
        which[((day >= first) & (day <= last)).to_numpy()] = name
    lab = build_labels(history, cutoffs, labels.horizon_hours, labels.exclude_open_complaints)
    keep = (which != "") & lab["eligible"].to_numpy() & ~lab["censored"].to_numpy()
    cutoffs, lab, which = (
        cutoffs[keep].reset_index(drop=True),
        lab[keep].reset_index(drop=True),
        which[keep],
    )
    sampled, weight = sample_rows(lab["label"].to_numpy(), which, sampling or SamplingConfig())
    log.info(
        "building features for %d of %d eligible customer-days (negatives sampled)",
        int(sampled.sum()),
        len(cutoffs),
    )
    cutoffs, lab, which = (
        cutoffs[sampled].reset_index(drop=True),
        lab[sampled].reset_index(drop=True),
        which[sampled],
    )
    frame = build_features(history, cutoffs)
    frame["label"] = lab["label"].to_numpy()
    frame["weight"] = weight
    frame["split"] = which
    if true_risk is not None:
        frame = frame.merge(
            true_risk[[*KEY_COLUMNS, "true_risk"]], on=list(KEY_COLUMNS), how="left"
        )
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
    return frame, periods
