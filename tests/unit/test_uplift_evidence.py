"""How much evidence `radar uplift` says the randomised rows hold: the rows it would take to
tell a given gain over the ranking by risk, and the line that says so."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from radar.commands.uplift import evidence_line
from serving.monitoring.learning import prevented_per_100_calls, rows_to_tell


def test_rows_to_tell_shrink_the_interval_below_the_gain():
    # Risk prevented 20; a 30 % gain is 6 complaints; the paired interval is +-12 wide:
    # halving it takes 4 x the rows.
    assert rows_to_tell((1.0, -11.0, 13.0), 20.0, 0.3) == pytest.approx(4.0)
    assert rows_to_tell((1.0, -3.0, 3.0), 20.0, 0.3) == pytest.approx(0.25)
    # Nothing prevented by risk yet: no difference to size.
    assert rows_to_tell((1.0, -11.0, 13.0), -2.0, 0.3) is None


def evaluation(factor: float | None) -> dict:
    return {
        "rows": 7350, "complaints": 119, "prevented_per_100_calls": [0.35, -0.05, 0.8],
        "rows_to_tell_gain": factor, "judged_on_rows": 2400, "judged_on_days": 10,
    }  # fmt: skip


def test_the_evidence_line_says_how_far_the_rows_are_from_telling():
    said = evidence_line(evaluation(24.0), 0.3)
    assert "7350 randomised rows, 119 complaints" in said
    assert "0.35 [-0.05, 0.80] complaints per 100 calls" in said
    assert "prevents 30% more" in said and "about 24.0 x the 2400 rows" in said
    assert "about 240 days of lists" in said
    assert "(there are enough)" in evidence_line(evaluation(0.5), 0.3)
    assert "let more lists mature" in evidence_line(evaluation(None), 0.3)


def test_a_call_s_prevention_per_100_calls_is_the_groups_difference():
    # Held out: 10 complaints in 200 (5 %); contacted: 6 in 200 (3 %): 2 per 100 calls.
    rows = pd.DataFrame({
        "contacted": [True] * 200 + [False] * 200,
        "complained": [1] * 6 + [0] * 194 + [1] * 10 + [0] * 190,
        "chance": 0.5,
    })  # fmt: skip
    estimate, low, high = prevented_per_100_calls(rows)
    assert estimate == pytest.approx(2.0)
    assert low < 0 < 2.0 < high  # 16 complaints cannot tell it from nothing
    # Each group's rows stand for their own draw: weights within a group leave its rate.
    reweighted = rows.assign(chance=np.where(rows["contacted"], 0.25, 0.5))
    assert prevented_per_100_calls(reweighted)[0] == pytest.approx(2.0)
