"""The 48 h label window, eligibility and censoring."""

from __future__ import annotations

import pandas as pd

from features.build import build_features
from features.labels import build_labels, daily_cutoffs
from tests.conftest import T0, make_history, ts


def labels_at(history, *cutoffs):
    return build_labels(
        history, pd.DataFrame({"customer_id": ["A"] * len(cutoffs), "cutoff_at": list(cutoffs)}), 48
    )


def test_label_window_is_open_at_the_cutoff_and_closed_at_the_horizon():
    h = make_history(complaints=[{"filed_at": ts("+48h"), "resolved_at": ts("+50h")}])
    out = labels_at(h, T0, ts("+1s"), ts("-1s"), ts("+48h"))
    # filed exactly at t + 48h counts for t; at t itself it is not in (t, t+48h].
    assert out["label"].tolist() == [1, 1, 0, 0]


def test_complaint_exactly_at_cutoff_counts_for_previous_window_not_as_feature():
    h = make_history(complaints=[{"filed_at": T0, "resolved_at": ts("+1D")}])
    out = labels_at(h, ts("-1D"), T0)
    assert out["label"].tolist() == [1, 0]
    feats = build_features(
        h, pd.DataFrame({"customer_id": ["A", "A"], "cutoff_at": [T0, ts("+1s")]})
    )
    assert feats["complaints_90d"].tolist() == [0, 1]


def test_open_complaint_makes_customer_ineligible_until_resolved():
    h = make_history(complaints=[{"filed_at": ts("-2D"), "resolved_at": ts("+1D")}])
    out = labels_at(h, ts("-3D"), T0, ts("+1D"), ts("+1D") + pd.Timedelta("1s"))
    # Resolved exactly at a cutoff is not yet known strictly before it.
    assert out["eligible"].tolist() == [True, False, False, True]


def test_never_resolved_complaint_stays_open():
    h = make_history(complaints=[{"filed_at": ts("-2D")}])
    assert labels_at(h, ts("+20D"))["eligible"].tolist() == [False]


def test_not_signed_up_is_not_eligible():
    h = make_history(customers=[{"signup_at": T0}])
    assert labels_at(h, T0, ts("+1s"))["eligible"].tolist() == [False, True]


def test_censoring_at_the_end_of_observation():
    h = make_history(observed_until=ts("+48h"))
    assert labels_at(h, T0, ts("+1s"))["censored"].tolist() == [False, True]


def test_daily_cutoffs_grid():
    h = make_history(customers=[{"customer_id": "A"}, {"customer_id": "B"}])
    grid = daily_cutoffs(h.customers, T0, ts("+2D"))
    assert len(grid) == 6
    assert (grid["cutoff_at"].dt.hour == 0).all()
