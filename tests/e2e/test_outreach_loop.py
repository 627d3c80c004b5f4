"""The simulated outreach loop: lists with assignments, calls that lower hidden frustration,
outcomes recorded, and the monitor's measured effect beside the simulator's truth."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from data.simulator.params import WorldParams
from data.simulator.world import World
from radar.outreach_loop import NOTED_CODES, loop_config, run_outreach_loop
from serving.outreach.outcomes import OutcomeStore
from serving.outreach.page import OUTCOME_CODES
from tests.conftest import small_config


def world(effect: float) -> World:
    w = World(
        replace(WorldParams(), outreach_effect=effect), 300, 30, 3, pd.Timestamp("2026-01-01")
    )
    w.begin()
    for _ in range(12):
        w.advance_day(progress=False)
    return w


def test_a_call_changes_the_true_risk_only_through_the_knob():
    customers = np.arange(0, 300, 3)
    before, after = world(0.0).risk_if_reached(customers, paths=8)
    assert np.array_equal(before, after)  # the same paths: no effect, exactly
    before, after = world(0.6).risk_if_reached(customers, paths=8)
    assert after.mean() < 0.7 * before.mean()  # less frustration, fewer complaints


@pytest.mark.slow
def test_the_loop_measures_an_effect_whose_interval_covers_the_truth(tmp_path):
    config = small_config(tmp_path / "ws").model_copy(
        update={
            "loop": small_config(tmp_path).loop.model_copy(update={"customers": 1500, "days": 5})
        }
    )
    result = run_outreach_loop(config)
    assert len(result.days) == 5
    assert all(d["contact"] > 0 and d["holdout"] > 0 for d in result.days)
    assert result.true_effect < 0  # calls lower frustration, so complaints
    # One loop is one draw: its 95 % interval misses the truth one time in twenty (how often
    # it does over many seeds, benchmarks/loop_coverage.py measures). A biased estimate
    # would miss it by more than three of its standard errors.
    low, high = result.measured["interval"]
    error = (high - low) / (2 * 1.96)
    assert abs(result.measured["difference"] - result.true_effect) < 3 * error, result.measured
    matured = [d["date"] for d in result.report["matured_days"]]
    assert [d["date"] for d in result.days] == matured
    kept = OutcomeStore(loop_config(config).outcomes_url()).frame()
    assert len(kept) == sum(d["contact"] for d in result.days)
    assert kept["reached"].sum() == sum(d["reached"] for d in result.days)
    # The truth notes whom the team reached (only customers put on the list to contact) and
    # what a call does to each listed customer: on this world the same share for everyone.
    truth = result.truth
    assert truth["reached"].sum() == kept["reached"].sum()
    assert truth.loc[truth["reached"], "assigned"].all()
    assert (truth["true_call_share"] == config.loop.outreach_effect).all()
    # The team notes a code for every reached call: half the frustration removed is a
    # customer calmed, but for the agents' mistakes (another code, about 1 in 10).
    codes = kept.loc[kept["reached"], "outcome_code"]
    assert set(codes) <= set(NOTED_CODES) and set(codes) <= set(OUTCOME_CODES)
    assert abs((codes != "customer_calmed").mean() - config.loop.agent_error) < 0.05
    assert (kept.loc[~kept["reached"], "outcome_code"] == "no_answer").all()


def test_heterogeneous_calls_help_by_cause_calm_the_angriest_less_annoy_the_young():
    params = WorldParams(outreach_effect=0.3).with_heterogeneous_outreach()
    w = World(params, 2000, 30, 3, pd.Timestamp("2026-01-01"))
    w.begin()
    for _ in range(12):
        w.advance_day(progress=False)
    everyone = np.arange(2000)
    effect = w.call_effect(everyone)
    state = w._state
    calming = 1.0 + (state.frustration / params.outreach_calm_frustration) ** 2
    running = state.incident_left[w._pop.region_slot] > 0
    annoyed = w._annoyed
    calm = ~running & ~annoyed
    payment = calm & (state.open_problems > 0) & (state.last_problem == 0)
    app = calm & (state.open_problems > 0) & (state.last_problem == 3)
    assert payment.any() and app.any() and annoyed.any()
    # By cause, divided by how angry the customer already is.
    assert np.allclose(effect[payment] * calming[payment], 0.8)
    assert np.allclose(effect[app] * calming[app], 0.1)
    angry, mild = payment & (state.frustration > 2.5), payment & (state.frustration < 0.5)
    assert angry.any() and mild.any()
    assert effect[angry].max() <= 0.4 < effect[mild].min()
    assert np.all(effect[annoyed] < 0) and np.all(effect[running & ~annoyed] == 0.0)
    # The young mind a call far more often than the rest.
    young = w._pop.age == 0
    assert annoyed[young].mean() > 0.3 and annoyed[~young].mean() < 0.06
    # The truth per customer follows: an annoyed customer's risk rises when called.
    frustrated = np.flatnonzero(annoyed & (state.frustration > 1.0))[:20]
    before, after = w.risk_if_reached(frustrated, paths=8)
    assert after.mean() > before.mean()
