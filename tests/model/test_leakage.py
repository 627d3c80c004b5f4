"""Leakage on a whole simulated world: features at a cutoff equal the features computed from
only what was known before it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from data.history import History
from data.load import load_history
from features.build import build_features
from features.catalogue import FEATURES, LATEST, RECENCY_WEIGHTED
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
        observed_from=history.observed_from,
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


def observed_from(history: History, since: pd.Timestamp) -> History:
    """``history`` as an export that starts at ``since`` holds it: the first training days
    see their data so, with only the warm-up behind them."""
    c, cp, inc = history.contacts, history.complaints, history.incidents
    last_touch = c["closed_at"].where(c["closed_at"].notna(), c["started_at"])
    ended = inc["ended_at"].where(inc["ended_at"].notna(), inc["started_at"])
    return replace(
        history,
        contacts=c[(last_touch >= since).to_numpy(dtype=bool)],
        complaints=cp[(cp["filed_at"] >= since).to_numpy(dtype=bool)],
        events=history.events[(history.events["occurred_at"] >= since).to_numpy(dtype=bool)],
        incidents=inc[(ended >= since).to_numpy(dtype=bool)],
        observed_from=since,
    )


def test_a_training_day_with_only_the_warm_up_behind_it_sees_what_a_scored_day_sees(
    small_world,
):
    """The latest contact, event or complaint older than the look-back counts as none, and a
    count over a window reaching back before observation started is scaled to the window:
    so features mean the same on the first training day as on a day scored with the whole
    history behind it (no drift from truncated history)."""
    history, _ = load_history(small_world)
    lookback = 14
    t = history.observed_until.normalize() - pd.Timedelta(days=10)
    since = t - pd.Timedelta(days=lookback)
    cutoffs = daily_cutoffs(history.customers, t, t)
    learnt = replace(
        DEFAULT_PARAMETERS.with_vocabularies(history.contacts, history.events),
        lookback_days=float(lookback),
    )
    full = build_features(history, cutoffs, parameters=learnt).set_index("customer_id")
    short = build_features(observed_from(history, since), cutoffs, parameters=learnt)
    short = short.set_index("customer_id")
    # What lies within the look-back is the same either way.
    within = [
        f.name
        for f in FEATURES
        if f.name not in RECENCY_WEIGHTED
        and (f.lookback == LATEST or (isinstance(f.lookback, int) and f.lookback <= lookback))
    ]
    assert {"hours_since_last_contact", "days_since_last_complaint", "contacts_7d"} <= set(within)
    pd.testing.assert_frame_equal(full[within], short[within], rtol=1e-9, atol=1e-12)
    # A 30-day count seen over 14 days is the 14-day count scaled to the part of the 30 days
    # the customer existed in; those who signed up since observation began are seen whole.
    signup = history.customers.set_index("customer_id")["signup_at"].loc[short.index]
    recent = history.contacts[
        (history.contacts["started_at"] >= since) & (history.contacts["started_at"] < t)
    ]
    seen = recent.groupby("customer_id").size().reindex(short.index, fill_value=0)
    existed = (t - signup.clip(lower=t - pd.Timedelta(days=30))).dt.total_seconds()
    before = (signup < since).to_numpy()
    assert (signup < t - pd.Timedelta(days=30)).sum() > 100 and (~before).sum() > 10
    np.testing.assert_allclose(
        short["contacts_30d"][before], seen[before] * existed[before] / (lookback * 86_400)
    )
    assert (short["contacts_30d"][~before] == full["contacts_30d"][~before]).all()
    # Averages are not scaled: a mean over what was observed.
    assert short["adjusted_sentiment_90d"].notna().sum() > 0
