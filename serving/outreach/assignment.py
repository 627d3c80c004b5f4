"""Today's outreach: the top of the risk list within capacity, less the suppressed, split at
random into the customers to contact and a holdout control group. A share of the capacity
may go to customers drawn at random from the rest, or from the next few capacities' worth
of it (exploration), so that the effect of a call can be learnt beyond the riskiest; each
row records its propensity, the chance the design gave it of being put on the contact list.

The holdout is what lets anyone measure whether calling prevents complaints: the two groups
are drawn from the same customers by the same rule, so their later complaint rates differ
only by the outreach (and chance).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date as Date
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from experiments.config import EvaluationConfig, OutreachConfig
from serving.publication import CONTACT, HOLDOUT, NONE, list_of_day
from training.metrics import daily_capacity

# What the list says to do with a customer outreach does not contact today, and why.
HELD_OUT = "Control group today: do not contact"
BEYOND_CAPACITY = "Beyond today's capacity: no outreach"
RECENTLY_ASSIGNED = "Assigned on a recent list: no new outreach yet"
COMPLAINT_OPEN = "Complaint open: leave it to the complaints team"


@dataclass(frozen=True)
class Assignment:
    """Each listed customer's assignment, and how the day's draw went (recorded with the list)."""

    assignment: np.ndarray  # per risk-list row: contact, holdout or none
    propensity: np.ndarray  # per row: the chance the day's design gave it of ``contact``
    action: np.ndarray  # per row: what to do instead of outreach, None where contacted
    summary: dict


def assign_outreach(
    risk_list: pd.DataFrame,
    outreach: OutreachConfig,
    evaluation: EvaluationConfig,
    day: Date,
    recently_assigned: set[str],
) -> Assignment:
    """Assignments for a ranked risk list (pure: the list is not modified).

    ``risk_list`` needs ``customer_id``, ``segment`` and ``complaint_open``, ranked best
    first. Customers with a complaint open or assigned in the last days are suppressed; of
    the rest, the top ``capacity`` (per segment when ``segment_capacity`` is given) are
    selected and a seeded draw of ``holdout_fraction`` of them is held out.
    """
    n = len(risk_list)
    recent = risk_list["customer_id"].astype(str).isin(recently_assigned).to_numpy()
    open_now = risk_list["complaint_open"].to_numpy(dtype=bool)
    candidate = ~recent & ~open_now
    if outreach.segment_capacity:
        segment = risk_list["segment"].astype(str).to_numpy()
        selected = np.zeros(n, dtype=bool)
        for name, k in outreach.segment_capacity.items():
            selected[np.flatnonzero(candidate & (segment == name))[:k]] = True
        capacity = sum(outreach.segment_capacity.values())
    else:
        capacity = (
            outreach.capacity_k
            if outreach.capacity_k is not None
            else daily_capacity(
                n,
                outreach.capacity_fraction or evaluation.capacity_fraction,
                None if outreach.capacity_fraction else evaluation.capacity_k,
            )
        )
        explored = round(outreach.explore_fraction * capacity)
        selected = np.zeros(n, dtype=bool)
        selected[np.flatnonzero(candidate)[: capacity - explored]] = True
    # Chance of being assigned at all: 1 at the top, explored/pool in the rest.
    chance = selected.astype(float)
    # Whom exploration draws from: nobody on a list no longer than the top.
    pool = np.empty(0, dtype=np.int64)
    if not outreach.segment_capacity and explored:
        depth = outreach.explore_depth
        pool = np.flatnonzero(candidate & ~selected)[: None if depth is None else depth * capacity]
    if pool.size:
        drawn = np.random.default_rng([outreach.seed, day.toordinal(), 1]).choice(
            pool, min(explored, pool.size), replace=False
        )
        chance[pool] = min(explored, pool.size) / pool.size
        selected[drawn] = True
    chosen = np.flatnonzero(selected)
    rng = np.random.default_rng([outreach.seed, day.toordinal()])
    held = rng.choice(chosen, round(outreach.holdout_fraction * len(chosen)), replace=False)
    assignment = np.full(n, NONE, dtype=object)
    assignment[chosen] = CONTACT
    assignment[held] = HOLDOUT
    action = np.full(n, None, dtype=object)
    action[assignment == NONE] = BEYOND_CAPACITY
    action[(assignment == NONE) & recent] = RECENTLY_ASSIGNED
    action[(assignment == NONE) & open_now] = COMPLAINT_OPEN
    action[held] = HELD_OUT
    summary = {
        "capacity": int(capacity),
        "segment_capacity": dict(outreach.segment_capacity),
        "holdout_fraction": outreach.holdout_fraction,
        "explore_fraction": outreach.explore_fraction,
        "explore_depth": outreach.explore_depth,
        "seed": outreach.seed,
        "contact": int((assignment == CONTACT).sum()),
        "holdout": int((assignment == HOLDOUT).sum()),
        "suppressed_recently_assigned": int((recent & ~open_now).sum()),
        "suppressed_complaint_open": int(open_now.sum()),
        "suppress_days": outreach.suppress_days,
    }
    propensity = chance * (1 - (held.size / chosen.size if chosen.size else 0.0))
    return Assignment(assignment, propensity, action, summary)


def recently_assigned(out_dir: Path, day: Date, days: int) -> set[str]:
    """Customers assigned (contact or holdout) on the published lists of the ``days`` days
    before ``day``; days without a list, or lists from before assignments, add nobody."""
    found: set[str] = set()
    for back in range(1, days + 1):
        path = list_of_day(out_dir, day - timedelta(days=back))
        if path is None:
            continue
        if "assignment" not in pq.read_schema(path).names:
            continue
        listed = pd.read_parquet(path, columns=["customer_id", "assignment"])
        found.update(listed.loc[listed["assignment"] != NONE, "customer_id"].astype(str))
    return found
