"""Today's outreach assignment: capacity, suppression and the seeded holdout draw."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from experiments.config import EvaluationConfig, OutreachConfig
from serving.outreach.assignment import (
    BEYOND_CAPACITY,
    COMPLAINT_OPEN,
    CONTACT,
    HOLDOUT,
    NONE,
    RECENTLY_ASSIGNED,
    assign_outreach,
    recently_assigned,
)

DAY = date(2026, 5, 20)


def ranked(n: int, open_at: tuple[int, ...] = (), segments: tuple[str, ...] = ("retail",)):
    """A risk list of ``n`` customers, best first."""
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:03d}" for i in range(n)],
            "segment": [segments[i % len(segments)] for i in range(n)],
            "complaint_open": [i in open_at for i in range(n)],
        }
    )


def test_the_top_within_capacity_is_split_into_contact_and_holdout():
    drawn = assign_outreach(
        ranked(100), OutreachConfig(capacity_k=20), EvaluationConfig(), DAY, set()
    )
    a = drawn.assignment
    assert set(a[:20]) <= {CONTACT, HOLDOUT} and (a[20:] == NONE).all()
    assert (a == HOLDOUT).sum() == 2 and (a == CONTACT).sum() == 18  # 10 % of 20
    assert (drawn.summary["capacity"], drawn.summary["contact"], drawn.summary["holdout"]) == (
        20,
        18,
        2,
    )


def test_the_draw_is_seeded_by_seed_and_day():
    config = OutreachConfig(capacity_k=50, holdout_fraction=0.3)
    first = assign_outreach(ranked(80), config, EvaluationConfig(), DAY, set()).assignment
    again = assign_outreach(ranked(80), config, EvaluationConfig(), DAY, set()).assignment
    next_day = assign_outreach(
        ranked(80), config, EvaluationConfig(), date(2026, 5, 21), set()
    ).assignment
    assert (first == again).all()
    assert not (first == next_day).all()


def test_recently_assigned_and_open_complaints_are_skipped_and_the_next_take_their_place():
    listed = ranked(10, open_at=(0,))
    drawn = assign_outreach(
        listed, OutreachConfig(capacity_k=3, holdout_fraction=0), EvaluationConfig(), DAY, {"C001"}
    )
    assert list(listed["customer_id"][drawn.assignment == CONTACT]) == ["C002", "C003", "C004"]
    assert list(drawn.action[:6]) == [
        COMPLAINT_OPEN,
        RECENTLY_ASSIGNED,
        None,
        None,
        None,
        BEYOND_CAPACITY,
    ]
    assert drawn.summary["suppressed_complaint_open"] == 1
    assert drawn.summary["suppressed_recently_assigned"] == 1


def test_segment_capacity_takes_the_top_of_each_named_segment_only():
    listed = ranked(30, segments=("retail", "institutional", "high_net_worth"))
    config = OutreachConfig(segment_capacity={"retail": 2, "high_net_worth": 3}, holdout_fraction=0)
    a = assign_outreach(listed, config, EvaluationConfig(), DAY, set()).assignment
    chosen = listed[a == CONTACT]
    assert list(chosen["customer_id"]) == ["C000", "C002", "C003", "C005", "C008"]
    assert chosen["segment"].value_counts().to_dict() == {"high_net_worth": 3, "retail": 2}


def test_capacity_falls_back_to_the_evaluation_share():
    drawn = assign_outreach(
        ranked(250), OutreachConfig(holdout_fraction=0), EvaluationConfig(), DAY, set()
    )
    assert (drawn.assignment == CONTACT).sum() == 3  # ceil(1 % of 250)


def test_capacity_is_one_kind_or_the_other():
    with pytest.raises(ValueError, match="not both"):
        OutreachConfig(capacity_k=5, capacity_fraction=0.1)


def test_recently_assigned_reads_the_lists_of_the_last_days(tmp_path):
    for back, ids, kinds in (
        (1, ["A", "B", "C"], [CONTACT, HOLDOUT, NONE]),
        (3, ["D"], [CONTACT]),
        (9, ["E"], [CONTACT]),  # beyond the window
    ):
        folder = tmp_path / (pd.Timestamp(DAY) - pd.Timedelta(days=back)).date().isoformat()
        folder.mkdir()
        pd.DataFrame({"customer_id": ids, "assignment": kinds}).to_parquet(
            folder / "risk_list.parquet"
        )
    old = tmp_path / "2026-05-18"  # a list from before assignments existed
    old.mkdir()
    pd.DataFrame({"customer_id": ["F"]}).to_parquet(old / "risk_list.parquet")
    assert recently_assigned(tmp_path, DAY, 7) == {"A", "B", "D"}
    assert recently_assigned(tmp_path, DAY, 0) == set()


def test_holdout_share_over_many_days_is_the_configured_one():
    config = OutreachConfig(capacity_k=40, holdout_fraction=0.25)
    held = [
        (
            assign_outreach(
                ranked(40), config, EvaluationConfig(), date(2026, 1, 1 + d), set()
            ).assignment
            == HOLDOUT
        )
        for d in range(20)
    ]
    assert all(h.sum() == 10 for h in held)
    # Every position is held out on some day: the draw is not the same few ranks.
    assert np.logical_or.reduce(held).sum() > 30
