"""How much evidence `radar uplift` says the randomised rows hold: the rows it would take to
tell a given gain over the ranking by risk, and the line that says so."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from radar.commands.uplift import evidence_line, group_lines
from serving.monitoring.learning import effect_by_group, prevented_per_100_calls, rows_to_tell
from training.metrics import Z95
from training.uplift import prevented_rate_interval


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
        "valued_notes": 2580, "learner": "notes",
    }  # fmt: skip


def test_the_evidence_line_says_how_far_the_rows_are_from_telling():
    said = evidence_line(evaluation(24.0), 0.3)
    assert "7350 randomised rows, 119 complaints, 2580 calls noted" in said
    assert "(learner: notes)" in said
    assert "0.35 [-0.05, 0.80] complaints per 100 calls" in said
    assert "prevents 30% more" in said and "about 24 x the 2400 rows" in said
    assert "about 240 days of lists" in said
    assert "(there are enough)" in evidence_line(evaluation(0.5), 0.3)
    assert "about 2.5 x the 2400 rows" in evidence_line(evaluation(2.5), 0.3)
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


def test_the_interval_adds_one_complaint_and_one_quiet_row_to_each_group():
    # Equal weights: Agresti and Caffo's interval, 11 / 202 held out and 7 / 202 contacted.
    contacted = np.r_[np.ones(200, bool), np.zeros(200, bool)]
    complained = np.r_[np.ones(6), np.zeros(194), np.ones(10), np.zeros(190)]
    estimate, low, high = prevented_rate_interval(contacted, complained, np.full(400, 0.5))
    held, called = 11 / 202, 7 / 202
    half = Z95 * np.sqrt(held * (1 - held) / 202 + called * (1 - called) / 202)
    assert estimate == pytest.approx(0.02)
    assert (low, high) == pytest.approx((held - called - half, held - called + half))
    # A group without a complaint still has a width: no complaint in 100 is not certainty.
    none = prevented_rate_interval(contacted[100:300], complained[100:300] * 0, np.full(200, 0.5))
    assert none[0] == 0 and none[1] < -0.01 and none[2] > 0.01
    # One group only: nothing to compare.
    assert np.isnan(prevented_rate_interval(contacted[:200], complained[:200], np.ones(200))).all()


def test_a_few_heavy_rows_widen_the_interval_as_they_should():
    # The same counts, but the complaints of each group all on explored rows that stand for
    # 100 customers each: the estimate rests on those few rows, and the interval says so.
    contacted = np.r_[np.ones(200, bool), np.zeros(200, bool)]
    complained = np.r_[np.ones(6), np.zeros(194), np.ones(10), np.zeros(190)]
    light = prevented_rate_interval(contacted, complained, np.full(400, 0.5))
    chance = np.where(np.r_[np.arange(200) < 20, np.arange(200) < 20], 0.005, 0.5)
    heavy = prevented_rate_interval(contacted, complained, chance)
    assert heavy[2] - heavy[1] > 3 * (light[2] - light[1])
    assert heavy[1] <= heavy[0] <= heavy[2]


def test_where_a_call_helped_is_told_group_by_group_without_a_model():
    # 18-29: held out 10 complaints in 200, contacted 4 in 200 -> 3 per 100 calls;
    # 45-64: 5 in 200 both ways -> 0; 65+ only contacted: nothing to compare.
    def band(name: str, held: int, contacted: int, n: int = 200) -> pd.DataFrame:
        return pd.DataFrame({
            "age_band": name, "contacted": [False] * n + [True] * n,
            "complained": [1] * held + [0] * (n - held) + [1] * contacted + [0] * (n - contacted),
        })  # fmt: skip

    rows = pd.concat(
        [band("18-29", 10, 4), band("45-64", 5, 5), band("65+", 0, 3).iloc[200:]],
        ignore_index=True,
    )
    rows = rows.assign(
        chance=0.5,
        region_incident_active=np.arange(len(rows)) % 2,  # a flag: no / yes
        payment_problems_decayed=np.linspace(0.0, 1.0, len(rows)),  # an amount: halves
        probability=np.linspace(0.01, 0.2, len(rows)),
    )
    groups = effect_by_group(rows).set_index(["modifier", "value"])
    assert groups.loc[("age_band", "18-29"), "per_100"] == pytest.approx(3.0)
    assert groups.loc[("age_band", "18-29"), ["rows", "complaints"]].tolist() == [400, 14]
    assert groups.loc[("age_band", "45-64"), "per_100"] == pytest.approx(0.0)
    assert np.isnan(groups.loc[("age_band", "65+"), "per_100"])
    assert groups.loc["region_incident_active"].index.tolist() == ["no", "yes"]
    assert groups.loc["payment_problems_decayed", "rows"].tolist() == [500, 500]
    assert groups.loc["risk"].index.tolist() == [
        "lowest quarter", "second quarter", "third quarter", "highest quarter"
    ]  # fmt: skip
    assert (groups.groupby(level="modifier")["rows"].sum() == len(rows)).all()
    # A cause most rows never had splits at 0; a missing value is its own group.
    mostly_none = rows.assign(
        payment_problems_decayed=np.where(np.arange(len(rows)) % 4 == 0, 0.5, 0.0),
        region_incident_active=np.where(np.arange(len(rows)) < 10, np.nan, 1.0),
    )
    groups = effect_by_group(mostly_none).set_index(["modifier", "value"])
    assert groups.loc["payment_problems_decayed", "rows"].to_dict() == {"0": 750, "> 0": 250}
    assert groups.loc["region_incident_active", "rows"].to_dict() == {"(none)": 10, "yes": 990}

    lines = group_lines(effect_by_group(rows).replace({np.nan: None}).to_dict("records"))
    helped = next(line for line in lines if "age_band 18-29" in line)
    assert "+3.00" in helped and "400 rows" in helped and "14 complaints" in helped
    assert "no contacted or no held-out row" in next(line for line in lines if "65+" in line)
