"""The 48 h label window, eligibility and censoring."""

from __future__ import annotations

import pandas as pd
import pytest

from features.build import build_features
from features.labels import LabelRules, build_labels, daily_cutoffs
from features.parameters import open_complaint_days
from tests.conftest import T0, make_history, ts


def labels_at(history, *cutoffs, open_days: float = 7.0):
    return build_labels(
        history,
        pd.DataFrame({"customer_id": ["A"] * len(cutoffs), "cutoff_at": list(cutoffs)}),
        LabelRules(48, True, open_days),
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


def test_a_complaint_without_a_resolution_time_is_open_for_a_bounded_time():
    h = make_history(complaints=[{"filed_at": ts("-2D")}])  # no resolved_at
    bound = ts("-2D") + pd.Timedelta(days=5)
    out = labels_at(h, T0, bound, bound + pd.Timedelta("1s"), ts("+20D"), open_days=5)
    # Open for 5 days after filing, then the customer is scored again, for ever after.
    assert out["eligible"].tolist() == [False, False, True, True]
    assert out["complaint_open"].tolist() == [True, True, False, False]
    assert out["signed_up"].all()


def test_a_complaint_resolved_after_the_bound_counts_as_open_only_until_the_bound():
    # Whether a complaint is open at a moment never depends on a resolution recorded later:
    # unresolved at T0 + 6D, it counts as closed then whether or not it is resolved at 9D.
    later = make_history(complaints=[{"filed_at": T0, "resolved_at": ts("+9D")}])
    never = make_history(complaints=[{"filed_at": T0}])
    at = (ts("+1D"), ts("+5D"), ts("+6D"), ts("+8D"))
    assert labels_at(later, *at, open_days=5)["eligible"].tolist() == [False, False, True, True]
    assert labels_at(never, *at, open_days=5)["eligible"].tolist() == [False, False, True, True]


def test_the_bound_is_learnt_from_resolved_complaints():
    days = [1, 2, 2, 3, 3, 3, 4, 4, 5, 6, 10]
    h = make_history(
        complaints=[
            *({"filed_at": ts("-40D"), "resolved_at": ts(f"-{40 - d}D")} for d in days),
            {"filed_at": ts("-5D")},  # none: not part of the estimate
        ]
    )
    assert open_complaint_days(h.complaints, None) == pytest.approx(6.0)  # nine in ten
    # Only what was resolved before the train period ended: the 10-day one came later.
    assert open_complaint_days(h.complaints, None, before=ts("-31D")) == pytest.approx(5.1)
    assert open_complaint_days(h.complaints, 4.5) == 4.5  # configured wins
    assert open_complaint_days(h.complaints.iloc[:0], None) == 7.0  # the documented default


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
