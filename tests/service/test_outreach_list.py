"""The published list's outreach assignment: within capacity, a recorded seeded holdout, and
the customers assigned one day not assigned again the next."""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import pytest

from experiments.config import OutreachConfig
from serving.batch.risk_list import score_day
from serving.publication import SNAPSHOT_META

pytestmark = pytest.mark.slow


def test_the_list_assigns_today_and_tomorrow_skips_those_assigned(trained, workspace):
    _, config = workspace
    outreach = OutreachConfig(capacity_k=40, holdout_fraction=0.25, seed=3)
    lists, h = config.workspace.risk_lists_dir, trained["history"]
    day = h.observed_until.date() - timedelta(days=1)
    folder, today = score_day(h, trained["scorer"], day, lists, config.labels, None, outreach)
    counts = today["assignment"].value_counts().to_dict()
    assert counts == {"none": len(today) - 40, "contact": 30, "holdout": 10}
    assert set(today["assignment"][:40]) == {"contact", "holdout"}  # the top of the list
    held = today["assignment"] == "holdout"
    assert (today.loc[held, "suggested_action"] == "Control group today: do not contact").all()
    beyond = today["assignment"] == "none"
    assert (today.loc[beyond, "suggested_action"] == "Beyond today's capacity: no outreach").all()
    meta = json.loads((folder / SNAPSHOT_META).read_text())["outreach"]
    assert (meta["capacity"], meta["holdout"], meta["seed"]) == (40, 10, 3)
    assert "held out at random as the control group" in (folder / "risk_list.html").read_text()
    assert list(pd.read_csv(folder / "risk_list.csv")["assignment"]) == list(today["assignment"])

    _, tomorrow = score_day(
        h, trained["scorer"], day + timedelta(days=1), lists, config.labels, None, outreach
    )
    assigned = set(today.loc[today["assignment"] != "none", "customer_id"])
    again = tomorrow[tomorrow["customer_id"].isin(assigned)]
    assert (again["assignment"] == "none").all()
    assert (again["suggested_action"] == "Assigned on a recent list: no new outreach yet").all()
    assert (tomorrow["assignment"] != "none").sum() == 40  # the next customers take the places
