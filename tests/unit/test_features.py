"""Point-in-time feature semantics on tiny inline histories."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from data.contract import ContractError
from features.build import build_features, build_features_in_chunks
from features.catalogue import (
    FEATURE_NAMES,
    FEATURES,
    RECENCY_WEIGHTED,
    SLOW_HALF_LIFE_DAYS,
)
from features.parameters import DEFAULT_PARAMETERS
from tests.conftest import T0, make_history, ts


def features_at(history, *cutoffs: pd.Timestamp, customer: str = "A") -> pd.DataFrame:
    return build_features(
        history,
        pd.DataFrame({"customer_id": [customer] * len(cutoffs), "cutoff_at": list(cutoffs)}),
    )


def test_catalogue_is_consistent():
    assert len(FEATURE_NAMES) == len(set(FEATURE_NAMES)) >= 40
    assert all(f.description and f.group for f in FEATURES)


def test_output_has_one_row_per_cutoff_in_input_order():
    h = make_history(contacts=[{"started_at": ts("-1h"), "closed_at": ts("-30min")}])
    out = features_at(h, T0, ts("-2h"), T0)
    assert list(out.columns[:2]) == ["customer_id", "cutoff_at"]
    assert list(out.columns[2:]) == list(FEATURE_NAMES)
    assert out["contacts_1d"].tolist() == [1, 0, 1]


def test_window_is_half_open_before_the_cutoff():
    h = make_history(
        contacts=[
            {
                "started_at": ts("-7D"),
                "closed_at": ts("-7D") + pd.Timedelta("5min"),
            },  # exactly t-7d: inside
            {
                "started_at": ts("-7D") - pd.Timedelta("1s"),
                "closed_at": ts("-6D"),
            },  # 1 s earlier: outside 7d
            {"started_at": ts("-1s"), "closed_at": None},  # just before t: inside
            {"started_at": T0, "closed_at": ts("+5min")},  # at t: not yet known
        ]
    )
    out = features_at(h, T0).iloc[0]
    assert out["contacts_7d"] == 2
    assert out["contacts_30d"] == 3
    assert out["open_contacts"] == 1


def test_outcomes_count_only_after_the_contact_closed():
    h = make_history(
        contacts=[
            {
                "started_at": ts("-3h"),
                "closed_at": ts("-2h"),
                "resolved": False,
                "sentiment": -90.0,
            },
            {
                "started_at": ts("-1h"),
                "closed_at": ts("+1h"),
                "resolved": False,
                "sentiment": -100.0,
            },  # closes after t
        ]
    )
    out = features_at(h, T0).iloc[0]
    assert out["contacts_1d"] == 2
    assert out["unresolved_7d"] == 1
    assert out["last_sentiment"] == -90
    assert out["very_negative_contacts_30d"] == 1
    assert out["open_contacts"] == 1
    later = features_at(h, ts("+2h")).iloc[0]
    assert (
        later["unresolved_7d"] == 2
        and later["last_sentiment"] == -100
        and later["open_contacts"] == 0
    )


def test_event_recency_sums_and_incidents():
    h = make_history(
        events=[
            {"occurred_at": ts("-30h"), "event_type": "payment_failed", "amount": 40.0},
            {"occurred_at": ts("-2D"), "event_type": "payment_failed", "amount": 60.0},
            {"occurred_at": ts("+1h"), "event_type": "payment_failed", "amount": 999.0},
        ],
        incidents=[
            {"started_at": ts("-5h"), "ended_at": ts("+5h"), "severity": 3},
            {"started_at": ts("-3D"), "ended_at": ts("-2D"), "severity": 1},
        ],
    )
    out = features_at(h, T0).iloc[0]
    assert out["payment_failed_7d"] == 2
    assert out["failed_amount_30d"] == 100
    assert out["seconds_since_payment_failed"] == 30 * 3600
    assert out["region_incident_active"] == 1 and out["region_incident_severity"] == 3
    assert out["region_incidents_7d"] == 2


def test_billing_cycle_from_the_calendar():
    h = make_history(customers=[{"bill_day": 28}])
    out = features_at(h, pd.Timestamp("2026-03-02", tz="UTC")).iloc[0]  # Feb 2026 has 28 days
    assert out["days_since_bill"] == 2
    assert out["days_to_next_bill"] == 26


def test_future_never_changes_features():
    """Leakage: anything at or after the cutoff leaves that cutoff's features unchanged."""
    rng = np.random.default_rng(0)
    past = [
        {
            "started_at": ts(f"-{h}h"),
            "closed_at": ts(f"-{h}h") + pd.Timedelta("10min"),
            "resolved": bool(rng.integers(2)),
            "sentiment": float(rng.integers(-100, 100)),
        }
        for h in rng.integers(1, 2000, 20)
    ]
    base = make_history(
        contacts=past, complaints=[{"filed_at": ts("-40D"), "resolved_at": ts("-35D")}]
    )
    future = [
        {
            "started_at": ts(f"+{s}s"),
            "closed_at": ts(f"+{s + 600}s"),
            "resolved": False,
            "sentiment": -100.0,
        }
        for s in rng.integers(0, 5 * 86400, 30)
    ]
    future.append(
        {"started_at": T0, "closed_at": T0, "resolved": False, "sentiment": -100.0}
    )  # exactly at t
    leaky = make_history(
        contacts=past + future,
        complaints=[
            {"filed_at": ts("-40D"), "resolved_at": ts("-35D")},
            {"filed_at": T0},
            {"filed_at": ts("+3h")},
        ],
        events=[
            {"occurred_at": T0, "event_type": "payment_failed"},
            {"occurred_at": ts("+1D"), "event_type": "order_delayed"},
        ],
        incidents=[{"started_at": T0, "severity": 3}],
    )
    clean, dirty = features_at(base, T0), features_at(leaky, T0)
    decayed = list(RECENCY_WEIGHTED)
    # Exact equality everywhere; decayed sums are rescaled from each customer's last event,
    # which future events move, so they may differ by float rounding only.
    pd.testing.assert_frame_equal(
        clean.drop(columns=decayed), dirty.drop(columns=decayed), check_exact=True
    )
    pd.testing.assert_frame_equal(clean[decayed], dirty[decayed], rtol=1e-12, atol=1e-15)
    assert (clean[decayed].sum() > 0).any()  # the decayed features did see the past


def test_inputs_are_not_mutated():
    h = make_history(contacts=[{"started_at": ts("-1h"), "closed_at": ts("-30min")}])
    before = h.contacts.copy(deep=True)
    cutoffs = pd.DataFrame({"customer_id": ["A"], "cutoff_at": [T0]})
    cutoffs_before = cutoffs.copy()
    build_features(h, cutoffs)
    pd.testing.assert_frame_equal(h.contacts, before)
    pd.testing.assert_frame_equal(cutoffs, cutoffs_before)


def test_unknown_customer_in_cutoffs_is_a_clear_error():
    with pytest.raises(ContractError, match=r"missing from customers.*'B'"):
        features_at(make_history(), T0, customer="B")


def test_naive_cutoffs_are_rejected():
    with pytest.raises(ContractError, match="timezone-aware"):
        build_features(
            make_history(),
            pd.DataFrame({"customer_id": ["A"], "cutoff_at": [pd.Timestamp("2026-03-10")]}),
        )


def test_incident_exposure_is_the_decayed_integral_of_known_severity():
    """Closed form vs a brute-force sum over minutes; the running incident's end is unknown at t."""
    incidents = [
        {"started_at": ts("-5h"), "ended_at": ts("+5h"), "severity": 3},  # still running at t
        {"started_at": ts("-3D"), "ended_at": ts("-2D"), "severity": 1},
        {"started_at": ts("-9D"), "ended_at": ts("-8D") + pd.Timedelta("7h"), "severity": 2},
        {"started_at": ts("+1h"), "ended_at": ts("+2h"), "severity": 3},  # future: ignored
    ]
    out = features_at(make_history(incidents=incidents), T0).iloc[0]
    rate = np.log(2.0) / (SLOW_HALF_LIFE_DAYS * 24)  # per hour
    expected = 0.0
    for inc in incidents:
        start = (inc["started_at"] - T0) / pd.Timedelta("1h")
        end = min((inc["ended_at"] - T0) / pd.Timedelta("1h"), 0.0)
        minutes = np.arange(start, end, 1 / 60) + 1 / 120  # midpoints, in hours before t
        expected += inc["severity"] * np.exp(rate * minutes).sum() / 60
    assert out["region_incident_exposure"] == pytest.approx(expected, rel=1e-5)


def test_long_waits_count_only_on_queued_channels_and_adjusted_sentiment_adds_back_the_outcome():
    def contact(hours: int, channel: str, **kw):
        return {
            "started_at": ts(f"-{hours}h"),
            "closed_at": ts(f"-{hours}h") + pd.Timedelta("2h"),
            "channel": channel,
            **kw,
        }

    h = make_history(
        contacts=[
            contact(50, "email", wait_seconds=7200.0, resolved=True, sentiment=10.0),
            contact(30, "phone", wait_seconds=2400.0, resolved=False, sentiment=-60.0),
        ]
    )
    out = features_at(h, T0).iloc[0]
    assert out["long_waits_7d"] == 1  # the phone queue, not the email's reply time
    cost = DEFAULT_PARAMETERS.cost
    assert out["adjusted_sentiment_last"] == -60 + cost["unresolved"] + cost["long_wait"]
    assert out["adjusted_sentiment_90d"] == pytest.approx((10 + out["adjusted_sentiment_last"]) / 2)


def test_problems_since_the_latest_resolved_contact():
    h = make_history(
        contacts=[
            {"started_at": ts("-20h"), "closed_at": ts("-19h"), "resolved": True},
            {"started_at": ts("-2h"), "closed_at": ts("-1h"), "resolved": False},
        ],
        events=[
            {"occurred_at": ts("-2D"), "event_type": "payment_failed"},
            {"occurred_at": ts("-10h"), "event_type": "order_delayed"},
            {"occurred_at": ts("-3h"), "event_type": "app_error"},
            {"occurred_at": ts("-1h"), "event_type": "bill_issued"},  # not a problem
        ],
    )
    out = features_at(h, T0).iloc[0]
    assert out["problems_since_resolved_contact"] == 2
    assert out["hours_since_problem"] == 3
    assert out["problems_fast"] == pytest.approx(0.5 ** (10 / 24) + 0.5 ** (3 / 24) + 0.5**2)


def test_features_by_customer_partition_equal_the_whole_build():
    """Partitions of customers, each on its own history, give the same features in the
    same order as one build over everyone."""

    customers = [
        {"customer_id": c, "region": r} for c, r in (("A", "north"), ("B", "south"), ("C", "north"))
    ]
    contacts = [
        {"customer_id": c, "started_at": ts(f"-{d}D"), "closed_at": ts(f"-{d}D") + pd.Timedelta("9min"),
         "resolved": d % 2 == 0, "sentiment": -10.0 * d}
        for c in ("A", "B", "C") for d in range(1, 6)
    ]  # fmt: skip
    history = make_history(
        contacts=contacts,
        customers=customers,
        incidents=[{"started_at": ts("-3D"), "ended_at": ts("-2D")}],
        events=[{"customer_id": "B", "occurred_at": ts("-1D"), "event_type": "payment_failed"}],
    )
    cutoffs = pd.DataFrame(
        {
            "customer_id": ["C", "A", "B", "A", "C", "B"],
            "cutoff_at": [ts(x) for x in ("0h", "0h", "-2D", "-4D", "-1D", "0h")],
        }
    )
    parted = build_features_in_chunks(history, cutoffs, rows_per_part=2)
    whole = build_features(history, cutoffs)
    assert parted["customer_id"].tolist() == whole["customer_id"].tolist()
    pd.testing.assert_frame_equal(parted, whole, check_exact=False, rtol=1e-12, atol=1e-12)


def test_the_latest_event_beyond_the_lookback_counts_as_none():
    h = make_history(
        contacts=[
            {"started_at": ts("-20D"), "closed_at": ts("-20D") + pd.Timedelta("5min")},
        ],
        complaints=[{"filed_at": ts("-40D"), "resolved_at": ts("-39D")}],
    )
    cutoffs = pd.DataFrame({"customer_id": ["A"], "cutoff_at": [T0]})

    def at(**parameters):
        return build_features(h, cutoffs, parameters=replace(DEFAULT_PARAMETERS, **parameters))

    month = at(lookback_days=30).iloc[0]
    assert month["hours_since_last_contact"] == 20 * 24 and month["last_sentiment"] == 20
    assert np.isnan(month["days_since_last_complaint"])  # 40 days ago: beyond the look-back
    week = at(lookback_days=7).iloc[0]
    assert np.isnan(week["hours_since_last_contact"]) and np.isnan(week["last_sentiment"])
    assert at().iloc[0]["days_since_last_complaint"] == 40  # unbounded (ad-hoc builds)
    # Sign-up times derived from first sight make tenure a "since" too: capped.
    assert at(lookback_days=30)["tenure_days"].iloc[0] == 400
    assert at(lookback_days=30, first_seen_signup=True)["tenure_days"].iloc[0] == 30
