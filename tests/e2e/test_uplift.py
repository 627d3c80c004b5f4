"""Whom a call helps, end to end: a loop on the world where calls help by cause (a share of
the capacity explored at random), `radar uplift` learning from its matured lists, the list
ranked by expected prevention, and the service answering with the expected effect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from radar.cli import main
from radar.commands.score import score_history
from radar.outreach_loop import loop_config, run_outreach_loop
from serving.batch.risk_list import score_day
from serving.monitoring.learning import train_uplift
from serving.outreach.outcomes import call_notes
from serving.publication import CONTACT, HOLDOUT
from serving.scorer import Scorer
from tests.conftest import small_config
from tests.service.conftest import make_client
from training import registry
from training.uplift import CALLS_MADE_WORSE, LEARNERS, calls_made_worse

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def looped(tmp_path_factory):
    root = tmp_path_factory.mktemp("uplift") / "ws"
    base = small_config(root)
    config = base.model_copy(
        update={
            "loop": base.loop.model_copy(
                update={
                    "customers": 2000,
                    "days": 10,
                    "effect": "heterogeneous",
                    "capacity_fraction": 0.12,
                    "holdout_fraction": 0.5,
                }
            ),
            "outreach": base.outreach.model_copy(update={"explore_fraction": 0.5}),
        }
    )
    return run_outreach_loop(config), loop_config(config)


def test_uplift_is_learnt_judged_and_registered(looped):
    result, config = looped
    learnt = train_uplift(config, result.history, min_complaints=10)
    evaluation = learnt.evaluation
    assigned = sum(d["contact"] + d["holdout"] for d in result.days)
    assert evaluation["rows"] == assigned  # every assigned customer of every matured list
    estimate, low, high = evaluation["prevented_by_uplift"]
    assert low <= estimate <= high and len(evaluation["prevented_by_risk"]) == 3
    client = registry.connect(config)
    versions = client.search_model_versions(f"name = '{config.registry.uplift_model_name}'")
    assert [str(v.version) for v in versions] == [learnt.version]
    champion = registry.uplift_champion(client, config)
    assert (champion == learnt.version) == learnt.promoted
    # Champion only when clearly better than the ranking by risk.
    difference, low, high = evaluation["prevented_beyond_risk"]
    assert low <= difference <= high and learnt.promoted == (low > 0)
    # What the rows can tell: the average call's effect, and how far they are from telling
    # a ranking that prevents 30 % more than the risk's.
    per_call, low, high = evaluation["prevented_per_100_calls"]
    assert low <= per_call <= high
    factor = evaluation["rows_to_tell_gain"]
    assert factor is None or factor > 0
    # Where a call helped, group by group, logged with the evaluation: every age band the
    # rows hold, each group's rows adding up to all of them per modifier.
    groups = pd.DataFrame(evaluation["by_group"])
    bands = groups[groups["modifier"] == "age_band"]
    assert set(bands["value"]) == set(result.history.customers["age_band"].dropna().unique())
    assert (groups.groupby("modifier")["rows"].sum() == evaluation["rows"]).all()
    assert groups["per_100"].notna().any() and (groups["low"] <= groups["high"]).all()
    # Every learner was judged, the one on the calls' notes too: each reached call's code
    # joined to its row from the outcome store.
    assert set(evaluation["learners"]) == set(LEARNERS)
    assert evaluation["valued_notes"] == sum(d["reached"] for d in result.days)


def test_the_list_ranks_by_prevention_and_the_service_says_the_effect(looped, monkeypatch):
    result, config = looped
    client = registry.connect(config)
    name = config.registry.uplift_model_name
    # Champion by hand (past the gate, if it kept the ranking by risk), as a team would.
    version = client.search_model_versions(f"name = '{name}'")[0].version
    workspace = ["--workspace", str(config.workspace.root)]
    assert main([*workspace, "promote", "--uplift", "--version", str(version)]) == 0
    assert registry.uplift_champion(client, config) == str(version)
    scorer, uplift = Scorer.from_registry(config), registry.load_uplift(config)
    day = result.history.observed_until.date()
    prevented = config.model_copy(
        update={"outreach": config.outreach.model_copy(update={"rank_by": "prevented"})}
    )
    out = config.workspace.risk_lists_dir  # published: the service loads this snapshot
    _, listed = score_day(
        result.history,
        scorer,
        day,
        out,
        config.labels,
        config.evaluation,
        prevented.outreach,
        uplift,
        call_notes(config.outcomes_url()),
    )
    effect = listed["expected_effect"].to_numpy()
    assert np.all(np.diff(effect) >= 0)  # most prevented first
    said = listed["effect_reasons"]
    assert said.str.contains("a call helps more: |helps less: ", regex=True).all(), said.head()
    assert listed["rank"].tolist() == list(range(1, len(listed) + 1))
    top = listed[listed["assignment"].isin([CONTACT, HOLDOUT])]
    assert top["expected_effect"].mean() < listed["expected_effect"].mean()
    with pytest.raises(ValueError, match="no uplift model"):
        score_day(result.history, scorer, day, out, config.labels, None, prevented.outreach, None)
    # The learner chosen here learns from the calls' notes, and reads how many of each
    # customer's earlier calls made things worse: scored again with none noted, the list
    # differs for those customers only.
    assert uplift[0].kind == "notes" and CALLS_MADE_WORSE in uplift[0].feature_names
    with pytest.raises(ValueError, match="score with the outcome store's notes"):
        score_day(result.history, scorer, day, out, config.labels, None, prevented.outreach,
                  uplift)  # fmt: skip
    notes = call_notes(config.outcomes_url())
    worse = pd.Series(
        calls_made_worse(listed.assign(date=day), notes, config.outreach.outcome_values),
        index=listed["customer_id"],
    )
    assert (worse > 0).sum() > 10
    _, unnoted = score_day(
        result.history, scorer, day, config.workspace.root / "unnoted", config.labels, None,
        prevented.outreach, uplift, notes.head(0),
    )  # fmt: skip
    moved = unnoted.set_index("customer_id")["expected_effect"] != listed.set_index("customer_id")[
        "expected_effect"
    ].reindex(unnoted["customer_id"])
    # The counts reach the model: they move the effect where its trees split on them (a
    # loop this short may teach too few repeated calls for that), and nowhere else.
    booster = uplift[0].boosters_["notes"]
    splits = booster.feature_importance()[uplift[0].feature_names.index(CALLS_MADE_WORSE)]
    assert moved.any() == (splits > 0) and not moved[worse.reindex(moved.index) == 0].any()
    # `radar score` reads the notes from the outcome store itself: the same effects.
    _, scored = score_history(prevented, result.history, day, config.workspace.root / "cli")
    by_cli = scored.set_index("customer_id")["expected_effect"]
    assert np.array_equal(by_cli.loc[listed["customer_id"]].to_numpy(), effect)

    with make_client(config.workspace.root, monkeypatch) as c:
        asked = [*listed["customer_id"].head(3), *worse[worse > 0].index[:2]]
        body = {"customer_ids": asked,
                "as_of": pd.Timestamp(day).tz_localize("UTC").isoformat()}  # fmt: skip
        answered = c.post("/score", json=body).json()["results"]
    assert all(r["status"] == "ok" for r in answered)
    expected = listed.set_index("customer_id").loc[asked]
    for r, (_, row) in zip(answered, expected.iterrows(), strict=True):
        assert r["expected_effect"] == pytest.approx(row["expected_effect"], abs=1e-5)
        assert r["effect_reasons"] == row["effect_reasons"]  # the same words as the list's
