"""Today's assignment on a tiny ranked list: the top within capacity, a seeded holdout, and
exploration (a share of the capacity drawn at random from the rest) with its propensities."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from experiments.config import EvaluationConfig, OutreachConfig
from serving.outreach.assignment import assign_outreach

DAY = date(2026, 3, 20)


def ranked(n: int = 100) -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": [f"C{i:03d}" for i in range(n)],
        "segment": "retail",
        "complaint_open": [i == 1 for i in range(n)],  # the second is not assignable
    })  # fmt: skip


def test_without_exploration_the_top_is_assigned_and_propensities_say_so():
    drawn = assign_outreach(
        ranked(),
        OutreachConfig(capacity_k=10, holdout_fraction=0.2),
        EvaluationConfig(),
        DAY,
        set(),
    )
    assigned = np.flatnonzero(drawn.assignment != "none")
    assert assigned.tolist() == [0, *range(2, 11)]  # the top 10 assignable
    assert np.allclose(drawn.propensity[assigned], 0.8)  # 2 of 10 held out
    assert not drawn.propensity[np.setdiff1d(np.arange(100), assigned)].any()


def test_exploration_draws_a_share_of_capacity_from_the_rest_with_its_propensity():
    outreach = OutreachConfig(capacity_k=10, holdout_fraction=0.2, explore_fraction=0.4)
    drawn = assign_outreach(ranked(), outreach, EvaluationConfig(), DAY, {"C050"})
    assigned = np.flatnonzero(drawn.assignment != "none")
    assert len(assigned) == 10 and assigned[:6].tolist() == [0, 2, 3, 4, 5, 6]
    explored = assigned[6:]
    assert (explored > 6).all() and 50 not in explored  # the recently assigned stay out
    pool = 100 - 6 - 1 - 1  # not the top 6, not the open complaint, not the recent one
    assert drawn.propensity[0] == pytest.approx(0.8)
    assert drawn.propensity[explored] == pytest.approx(np.full(4, 4 / pool * 0.8))
    assert drawn.propensity[1] == 0 and drawn.propensity[50] == 0
    assert drawn.summary["explore_fraction"] == 0.4
    again = assign_outreach(ranked(), outreach, EvaluationConfig(), DAY, {"C050"})
    assert (again.assignment == drawn.assignment).all()  # seeded by the day


def test_exploration_needs_one_capacity():
    with pytest.raises(ValueError, match="explore_fraction"):
        OutreachConfig(segment_capacity={"retail": 5}, explore_fraction=0.2)


def test_exploration_can_stay_just_below_the_capacity_line():
    outreach = OutreachConfig(
        capacity_k=10, holdout_fraction=0.2, explore_fraction=0.4, explore_depth=2
    )
    drawn = assign_outreach(ranked(), outreach, EvaluationConfig(), DAY, {"C010"})
    assigned = np.flatnonzero(drawn.assignment != "none")
    explored = assigned[6:]
    # The pool: the next 2 x 10 assignable customers below the top 6 (C010 is recent).
    pool = [i for i in range(7, 100) if i != 10][:20]
    assert set(explored) <= set(pool) and len(explored) == 4
    assert drawn.propensity[explored] == pytest.approx(np.full(4, 4 / 20 * 0.8))
    assert not drawn.propensity[pool[-1] + 1 :].any()  # nobody deeper could be drawn
    assert drawn.summary["explore_depth"] == 2


def test_a_list_no_longer_than_the_top_leaves_nobody_to_explore():
    outreach = OutreachConfig(capacity_k=10, holdout_fraction=0.5, explore_fraction=0.5)
    drawn = assign_outreach(ranked(4), outreach, EvaluationConfig(), DAY, set())
    # The three assignable customers are the top; exploration has nobody left to draw.
    assert list(np.flatnonzero(drawn.assignment != "none")) == [0, 2, 3]
    contacted = (drawn.assignment == "contact").sum() / 3  # the top's chance: the contact share
    assert drawn.propensity == pytest.approx([contacted, 0.0, contacted, contacted])
