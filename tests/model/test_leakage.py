"""Leakage on a whole simulated world: features at a cutoff equal the features computed from
only what was known before it."""

from __future__ import annotations

import pandas as pd
import pytest

from data.history import History
from data.load import load_history
from features.build import build_features
from features.catalogue import RECENCY_WEIGHTED
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
