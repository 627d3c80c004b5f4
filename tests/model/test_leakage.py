"""Leakage on a whole simulated world: features at a cutoff equal the features computed from
only what was known before it."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from data.history import History
from data.load import load_history
from features.build import build_features
from features.catalogue import RECENCY_WEIGHTED, learnable_features
from features.labels import daily_cutoffs
from features.parameters import DEFAULT_PARAMETERS

COUNT_PREFIXES = (
    "contacts_", "unresolved_", "long_waits_", "transferred_", "very_negative_", "complaints_",
    "payment_failed_", "deduction_delayed_", "order_delayed_", "app_error_", "refund_", "region_incidents_",
)  # fmt: skip


def known_before(history: History, t: pd.Timestamp) -> History:
    """The history as a system would have seen it at ``t``: later rows absent, later outcomes unknown."""
    contacts = history.contacts[history.contacts["started_at"] < t].copy()
    late = ~(contacts["closed_at"] < t)
    contacts.loc[late, "closed_at"] = pd.NaT
    for col in ("wait_seconds", "handle_seconds", "sentiment"):
        contacts.loc[late, col] = float("nan")
    for col in ("transferred", "resolved"):
        contacts[col] = contacts[col].astype("boolean").mask(late)
    complaints = history.complaints[history.complaints["filed_at"] < t].copy()
    complaints.loc[~(complaints["resolved_at"] < t), "resolved_at"] = pd.NaT
    incidents = history.incidents[history.incidents["started_at"] < t].copy()
    incidents.loc[~(incidents["ended_at"] < t), "ended_at"] = pd.NaT
    return History(
        customers=history.customers,
        contacts=contacts,
        complaints=complaints,
        events=history.events[history.events["occurred_at"] < t],
        incidents=incidents,
        observed_until=t,
    )


@pytest.mark.parametrize("day", [35, 60])
def test_features_use_only_what_was_known_at_the_cutoff(small_world, day):
    history, _ = load_history(small_world)
    t = history.observed_until.normalize() - pd.Timedelta(days=80 - day)
    cutoffs = daily_cutoffs(history.customers, t, t)
    # A model's vocabulary (here: learnt from the whole world) is fixed before any cutoff.
    learnt = DEFAULT_PARAMETERS.with_vocabularies(history.contacts, history.events)
    full, truncated = (
        build_features(history, cutoffs, parameters=learnt),
        build_features(known_before(history, t), cutoffs, parameters=learnt),
    )
    # Counts are exact; sums of non-integer values are differences of cumulative sums that
    # include other customers' events, so removing later rows may change their last bits.
    # One leaked event would move a feature by orders of magnitude more than 1e-9.
    pd.testing.assert_frame_equal(full, truncated, rtol=1e-9, atol=1e-12)
    counts = [c for c in full.columns if c.startswith(COUNT_PREFIXES) and c not in RECENCY_WEIGHTED]
    pd.testing.assert_frame_equal(full[counts], truncated[counts], check_exact=True)
    assert full["contacts_30d"].sum() > 0 and full["unresolved_30d"].sum() > 0
    assert full["contacts_channel_1_30d"].sum() > 0 and full["events_type_1_30d"].sum() > 0


def before_the_lookback_removed(history: History, since: pd.Timestamp) -> History:
    """``history`` without the rows that lie wholly before ``since``: an export that starts
    there, as the first training days see their data."""
    c, cp, inc = history.contacts, history.complaints, history.incidents
    last_touch = c["closed_at"].where(c["closed_at"].notna(), c["started_at"])
    ended = inc["ended_at"].where(inc["ended_at"].notna(), inc["started_at"])
    return replace(
        history,
        contacts=c[(last_touch >= since).to_numpy(dtype=bool)],
        complaints=cp[(cp["filed_at"] >= since).to_numpy(dtype=bool)],
        events=history.events[(history.events["occurred_at"] >= since).to_numpy(dtype=bool)],
        incidents=inc[(ended >= since).to_numpy(dtype=bool)],
    )


def test_a_model_never_reads_further_back_than_its_lookback(small_world):
    """Training days have only the warm-up behind them; scored days have all the history.
    With the look-back at the warm-up, a model's features are the same either way, so the
    days it scores see what its training days saw (no drift from truncated history)."""
    history, _ = load_history(small_world)
    lookback = 14
    t = history.observed_until.normalize() - pd.Timedelta(days=10)
    cutoffs = daily_cutoffs(history.customers, t, t)
    learnt = replace(
        DEFAULT_PARAMETERS.with_vocabularies(history.contacts, history.events),
        lookback_days=float(lookback),
    )
    short = before_the_lookback_removed(history, t - pd.Timedelta(days=lookback))
    full = build_features(history, cutoffs, parameters=learnt)
    truncated = build_features(short, cutoffs, parameters=learnt)
    compared = [
        name for name in learnable_features(full.columns, lookback) if name not in RECENCY_WEIGHTED
    ]
    assert {"hours_since_last_contact", "days_since_last_complaint", "last_sentiment"} <= set(
        compared
    )
    pd.testing.assert_frame_equal(full[compared], truncated[compared], rtol=1e-9, atol=1e-12)
    # Without the look-back the same features do depend on the older rows.
    unbounded = build_features(history, cutoffs, parameters=replace(learnt, lookback_days=None))
    older = build_features(short, cutoffs, parameters=replace(learnt, lookback_days=None))
    assert not unbounded["hours_since_last_contact"].equals(older["hours_since_last_contact"])
    assert full["hours_since_last_contact"].notna().sum() > 0
