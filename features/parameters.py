"""The values some features need (what counts as a long wait or a very negative contact, what
a contact's outcome costs in sentiment, which channels queue), resolved once per model.

They come from configuration (``features:``) or, where it says null, are estimated from the
training period's contacts; the resolved values are stored with the model so the daily
list and the service build features exactly as training did. Pure: frames in, values out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd

from experiments.config import CONTACT_OUTCOMES, DEFAULT_OPEN_COMPLAINT_DAYS, FeatureConfig
from features.catalogue import (
    CHANNEL_SLOTS,
    EVENT_TYPE_SLOTS,
    REASON_SLOTS,
    channel_feature,
    event_type_feature,
    reason_feature,
)

LONG_WAIT_QUANTILE = 0.9
VERY_NEGATIVE_QUANTILE = 0.05
# The bound on open complaints: nine in ten complaints are resolved within it, so it rarely
# cuts a real one short (the median would treat half of them as closed before they were).
OPEN_COMPLAINT_QUANTILE = 0.9


@dataclass(frozen=True)
class Vocabulary:
    """Where a vocabulary's values are, how many slots they fill, and the slot features."""

    table: str
    column: str
    time: str  # a value belongs to a period by this time
    slots: int
    feature: Callable[[str], str]  # slot -> feature name

    def seen(self, tables: Mapping[str, pd.DataFrame], before: pd.Timestamp | None) -> pd.Series:
        """The values of the rows timed before ``before`` (all rows when None)."""
        frame = tables[self.table]
        if self.column not in frame:
            return pd.Series(dtype=str)
        if before is not None:
            frame = frame[(frame[self.time] < before).to_numpy(dtype=bool)]
        return frame[self.column].dropna().astype(str)


# What the per-value features count, declared once (training, Spark and the scorer read it).
VOCABULARIES = {
    "channels": Vocabulary("contacts", "channel", "started_at", CHANNEL_SLOTS, channel_feature),
    "reasons": Vocabulary("contacts", "reason", "started_at", REASON_SLOTS, reason_feature),
    "event_types": Vocabulary(
        "events", "event_type", "occurred_at", EVENT_TYPE_SLOTS, event_type_feature
    ),
}


@dataclass(frozen=True)
class FeatureParameters:
    """Resolved feature parameters (no nulls)."""

    queued_channels: tuple[str, ...]
    long_wait_seconds: float
    very_negative_sentiment: float
    sentiment_outcome_cost: tuple[
        tuple[str, float], ...
    ]  # (outcome, points), CONTACT_OUTCOMES order
    # The data's most frequent values, in slot order, learnt from the train period and kept
    # with the model. None: not learnt (every value is pooled in the ``other`` slot). Never
    # learnt from the history being built: that would let later data choose the slots.
    channels: tuple[str, ...] | None = None
    reasons: tuple[str, ...] | None = None
    event_types: tuple[str, ...] | None = None
    # The history every training row had (the split's warm-up, in days). A model never
    # reads further back: windows longer than it are left out of the model, and the latest
    # contact, event or complaint older than it counts as none, so the days it scores see
    # what its training days saw. None: unbounded (ad-hoc builds).
    lookback_days: float | None = None
    # Sign-up times were derived from each customer's first activity (the export had none):
    # tenure is then time since first seen, capped at the look-back like the other "latest".
    first_seen_signup: bool = False
    # How long a complaint without a resolution time counts as open (eligibility).
    open_complaint_days: float = DEFAULT_OPEN_COMPLAINT_DAYS

    @property
    def cost(self) -> dict[str, float]:
        return dict(self.sentiment_outcome_cost)

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["queued_channels"] = list(self.queued_channels)
        out["sentiment_outcome_cost"] = self.cost
        for name in VOCABULARIES:
            value = getattr(self, name)
            out[name] = None if value is None else list(value)
        return out

    def with_vocabularies(
        self, contacts: pd.DataFrame, events: pd.DataFrame, before: pd.Timestamp | None = None
    ) -> FeatureParameters:
        """These parameters with every vocabulary still unknown learnt from these frames'
        rows timed before ``before`` (all of them when None)."""
        tables = {"contacts": contacts, "events": events}
        learnt = {
            name: most_frequent(vocabulary.seen(tables, before), vocabulary.slots)
            for name, vocabulary in VOCABULARIES.items()
            if getattr(self, name) is None
        }
        return replace(self, **learnt) if learnt else self

    def labels(self) -> dict[str, str]:
        """Slot feature -> the value it counts (what reason texts quote)."""
        return {
            vocabulary.feature(str(i)): value
            for name, vocabulary in VOCABULARIES.items()
            for i, value in enumerate(getattr(self, name) or (), start=1)
        }

    @classmethod
    def from_dict(cls, saved: Mapping[str, object]) -> FeatureParameters:
        return cls(
            queued_channels=tuple(saved["queued_channels"]),
            long_wait_seconds=float(saved["long_wait_seconds"]),
            very_negative_sentiment=float(saved["very_negative_sentiment"]),
            sentiment_outcome_cost=tuple(
                (o, float(saved["sentiment_outcome_cost"][o])) for o in CONTACT_OUTCOMES
            ),
            **{
                name: None if saved.get(name) is None else tuple(saved[name])
                for name in VOCABULARIES
            },
            # Models saved before these were kept read their history unbounded.
            lookback_days=saved.get("lookback_days"),
            first_seen_signup=bool(saved.get("first_seen_signup", False)),
            open_complaint_days=float(
                saved.get("open_complaint_days", DEFAULT_OPEN_COMPLAINT_DAYS)
            ),
        )

    @classmethod
    def configured(cls, config: FeatureConfig) -> FeatureParameters:
        """The configured values; a null (to be estimated) is an error here."""
        unresolved = [
            name
            for name in ("long_wait_minutes", "very_negative_sentiment", "sentiment_outcome_cost")
            if getattr(config, name) is None
        ]
        if unresolved:
            raise ValueError(
                f"features.{', features.'.join(unresolved)} must be estimated from a training "
                "period (estimate_parameters), or given a value in the config"
            )
        return estimate_parameters(pd.DataFrame(), config)


def estimate_parameters(contacts: pd.DataFrame, config: FeatureConfig) -> FeatureParameters:
    """Resolve ``config``: its values where given, estimates from ``contacts`` (the training
    period's, closed before it ends) where null.

    - long wait: the 90th percentile of waits on queued channels;
    - very negative: the 5th percentile of sentiment;
    - outcome costs: least squares of sentiment on the three outcome flags (each cost is
      how much lower sentiment is on average with that outcome, never below zero).

    Without the data an estimate needs (no waits, no sentiment), the configuration's default
    is used, and the feature family that needs it is off anyway.
    """
    queued = tuple(config.queued_channels)
    defaults = FeatureConfig()

    def column(name: str) -> np.ndarray:
        if name not in contacts:
            return np.full(len(contacts), np.nan)
        return contacts[name].to_numpy(dtype="float64", na_value=np.nan)

    wait = column("wait_seconds")
    on_queue = (
        contacts["channel"].isin(queued).to_numpy(dtype=bool)
        if "channel" in contacts
        else np.zeros(len(contacts), dtype=bool)
    )
    long_wait = (
        60.0 * config.long_wait_minutes
        if config.long_wait_minutes is not None
        else _quantile(wait[on_queue], LONG_WAIT_QUANTILE, 60.0 * defaults.long_wait_minutes)
    )
    sentiment = column("sentiment")
    very_negative = (
        config.very_negative_sentiment
        if config.very_negative_sentiment is not None
        else _quantile(sentiment, VERY_NEGATIVE_QUANTILE, defaults.very_negative_sentiment)
    )
    if config.sentiment_outcome_cost is not None:
        cost = dict(config.sentiment_outcome_cost)
    else:
        flags = np.column_stack(
            [column("resolved") == 0, (wait > long_wait) & on_queue, column("transferred") == 1]
        )
        cost = _outcome_costs(sentiment, flags, defaults.sentiment_outcome_cost)
    return FeatureParameters(
        queued_channels=queued,
        long_wait_seconds=float(long_wait),
        very_negative_sentiment=float(very_negative),
        sentiment_outcome_cost=tuple((o, float(cost[o])) for o in CONTACT_OUTCOMES),
    )


def open_complaint_days(
    complaints: pd.DataFrame, configured: float | None, before: pd.Timestamp | None = None
) -> float:
    """The longest a complaint counts as open: ``configured``, or the
    :data:`OPEN_COMPLAINT_QUANTILE` of the times to resolution of the complaints resolved
    before ``before`` (all when None), or
    :data:`~experiments.config.DEFAULT_OPEN_COMPLAINT_DAYS` when none was."""
    if configured is not None:
        return float(configured)
    return resolution_days(resolution_seconds(complaints, before))


def resolution_seconds(complaints: pd.DataFrame, before: pd.Timestamp | None) -> pd.Series:
    """Seconds from filing to resolution of the complaints resolved before ``before``."""
    if "resolved_at" not in complaints or complaints.empty:
        return pd.Series(dtype="float64")
    resolved = complaints["resolved_at"]
    done = resolved.notna() if before is None else (resolved < before).fillna(False)
    done = done.to_numpy(dtype=bool)
    return (resolved[done] - complaints["filed_at"][done]).dt.total_seconds()


def resolution_days(seconds: pd.Series | Mapping[float, int]) -> float:
    """The :data:`OPEN_COMPLAINT_QUANTILE` of resolution times (seconds, or counts per value
    of seconds) in days; the documented default when there are none."""
    if isinstance(seconds, pd.Series):
        values = seconds.to_numpy(dtype="float64")
    else:
        values = np.repeat(
            np.fromiter(seconds.keys(), dtype="float64"),
            np.fromiter(seconds.values(), dtype=np.int64),
        )
    if not values.size:
        return DEFAULT_OPEN_COMPLAINT_DAYS
    return float(np.quantile(values, OPEN_COMPLAINT_QUANTILE)) / 86_400


def most_frequent(values: pd.Series | Mapping[str, int] | None, n: int) -> tuple[str, ...]:
    """The ``n`` most frequent values (ties: alphabetical) of a column, or of value counts;
    missing values never count."""
    if values is None:
        return ()
    counts = (
        values.dropna().astype(str).value_counts().to_dict()
        if isinstance(values, pd.Series)
        else dict(values)
    )
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return tuple(value for value, _ in ranked[:n])


def _quantile(values: np.ndarray, q: float, fallback: float) -> float:
    values = values[~np.isnan(values)]
    return float(np.quantile(values, q)) if values.size else float(fallback)


def _outcome_costs(
    sentiment: np.ndarray, flags: np.ndarray, fallback: dict[str, float]
) -> dict[str, float]:
    known = ~np.isnan(sentiment)
    if known.sum() <= len(CONTACT_OUTCOMES) + 1:
        return dict(fallback)
    design = np.column_stack([np.ones(known.sum()), flags[known].astype(float)])
    coef, *_ = np.linalg.lstsq(design, sentiment[known], rcond=None)
    # A flag no contact has gets a zero coefficient from lstsq: no cost.
    return {o: float(max(-coef[1 + i], 0.0)) for i, o in enumerate(CONTACT_OUTCOMES)}


# The values the configuration's defaults resolve to: what build_features uses when it is
# given no parameters (ad-hoc use and tests; training, the list and the service pass theirs).
DEFAULT_PARAMETERS = FeatureParameters.configured(FeatureConfig())
