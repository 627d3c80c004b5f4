"""What the world records each hour, and the contract tables (plus the true risk) it
writes at the end."""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.contract import SCHEMAS
from data.simulator.dynamics import Dynamics
from data.simulator.params import (
    AGE_BANDS,
    COMPLAINT_CATEGORIES,
    HOURS_PER_DAY,
    PLANS,
    PROBLEM_REASON,
    PROBLEMS,
    SECONDS_PER_HOUR,
    SEGMENTS,
    SIM_CHANNELS,
)
from data.simulator.state import _Population, _State, _Step


def record_hour(
    dyn: Dynamics,
    pop: _Population,
    s: _State,
    step: _Step,
    hour: int,
    rng: np.random.Generator,
    rec: dict,
) -> None:
    p = dyn.params
    if step.problem_idx.size:
        rec["events"].append(
            (
                step.problem_idx,
                np.array(PROBLEMS)[step.problem_type],
                hour,
                rng.lognormal(4.0, 0.8, step.problem_idx.size),
            )
        )
    day, hod = divmod(hour, HOURS_PER_DAY)
    date = dyn.start + pd.Timedelta(days=day)
    if hod == 6:
        billed = np.flatnonzero(
            (pop.bill_day == date.day) & (pop.signup_hour <= hour) & (hour < pop.churn_hour)
        )
        if billed.size:
            rec["events"].append(
                (
                    billed,
                    np.full(billed.size, "bill_issued"),
                    hour,
                    rng.lognormal(4.5, 0.4, billed.size),
                )
            )
    if step.contact_idx.size:
        rec["contacts"].append((step.contact_idx, hour, step.contact))
    for slot in step.incident_started:
        rec["incidents"].append(
            (slot, hour, int(s.incident_left[slot]), int(s.incident_severity[slot]))
        )
    filed = np.flatnonzero(rng.random(step.hazard.size) < 1.0 - np.exp(-step.hazard))
    if filed.size:
        lo, hi = p.complaint_resolve_days
        open_hours = rng.uniform(lo, hi, filed.size) * HOURS_PER_DAY
        s.complaint_open_until[filed] = hour + open_hours
        rec["complaints"].append(
            (filed, hour, open_hours, s.open_problems[filed] > 0, s.last_problem[filed])
        )
        s.frustration[filed] *= 0.5  # having complained, the customer feels heard


def customer_id(position: int) -> str:
    """The id the world gives its customer at ``position``."""
    return f"C{position:06d}"


def customer_position(customer_id: str) -> int:
    """The position of a customer of the world from its id (the inverse of :func:`customer_id`)."""
    return int(customer_id[1:])


def build_tables(
    dyn: Dynamics, seed: int, pop: _Population, rec: dict, days: int | None = None
) -> dict[str, pd.DataFrame]:
    """The contract tables of the records, as known after ``days`` days (default: all)."""
    p = dyn.params
    rng = np.random.default_rng([seed, 2])
    end = dyn.start + pd.Timedelta(days=dyn.days if days is None else days)
    ids = np.array([customer_id(i) for i in range(dyn.n)])

    def at(hours: np.ndarray | int, size: int) -> pd.DatetimeIndex:
        # Spread events inside their hour, never exactly on a boundary.
        seconds = np.asarray(hours, dtype=np.int64) * SECONDS_PER_HOUR + rng.integers(
            1, SECONDS_PER_HOUR, size
        )
        return dyn.start + pd.to_timedelta(seconds, unit="s")

    def known(ts: pd.Series) -> pd.Series:
        # Anything after the end of observation is not known yet (still open).
        return ts.where(ts <= end)

    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "signup_at": dyn.start + pd.to_timedelta(pop.signup_hour * SECONDS_PER_HOUR, unit="s"),
            "segment": np.array(SEGMENTS)[pop.segment],
            "region": np.array(dyn.params.regions)[pop.region],
            "age_band": np.array(AGE_BANDS)[pop.age],
            "plan": rng.choice(PLANS, dyn.n, p=p.plan_shares),
            "bill_day": pop.bill_day,
        }
    )

    parts = []
    for idx, hour, attrs in rec["contacts"]:
        part = pd.DataFrame(attrs)
        part["customer_id"] = ids[idx]
        part["started_at"] = at(hour, idx.size)
        parts.append(part)
    contacts = pd.concat(parts, ignore_index=True) if parts else SCHEMAS["contacts"].empty()
    contacts = contacts.sort_values("started_at", kind="stable").reset_index(drop=True)
    contacts.insert(0, "contact_id", [f"K{i:08d}" for i in range(len(contacts))])
    duration = pd.to_timedelta(contacts["wait_seconds"] + contacts["handle_seconds"], unit="s")
    contacts["closed_at"] = known(contacts["started_at"] + duration)
    still_open = contacts["closed_at"].isna()
    for col in ("handle_seconds", "sentiment"):
        contacts[col] = contacts[col].where(~still_open)
    for col in ("transferred", "resolved"):
        contacts[col] = contacts[col].astype("boolean").where(~still_open)

    parts = []
    for idx, hour, open_hours, had_problem, last_problem in rec["complaints"]:
        filed_at = at(hour, idx.size)
        category = np.where(
            had_problem & (last_problem >= 0),
            np.array(PROBLEM_REASON)[np.maximum(last_problem, 0)],
            rng.choice(list(COMPLAINT_CATEGORIES), idx.size),
        )
        parts.append(
            pd.DataFrame(
                {
                    "customer_id": ids[idx],
                    "filed_at": filed_at,
                    "resolved_at": filed_at
                    + pd.to_timedelta(open_hours * SECONDS_PER_HOUR, unit="s"),
                    "category": category,
                    "severity": rng.choice([1, 2, 3], idx.size, p=[0.15, 0.6, 0.25]),
                    "channel": rng.choice(
                        list(SIM_CHANNELS), idx.size, p=[0.45, 0.15, 0.2, 0.1, 0.05, 0.05]
                    ),
                }
            )
        )
    complaints = pd.concat(parts, ignore_index=True) if parts else SCHEMAS["complaints"].empty()
    complaints = complaints.sort_values("filed_at", kind="stable").reset_index(drop=True)
    complaints.insert(0, "complaint_id", [f"Q{i:07d}" for i in range(len(complaints))])
    refunds = complaints[rng.random(len(complaints)) < p.refund_share]
    complaints["resolved_at"] = known(complaints["resolved_at"])

    parts = [
        pd.DataFrame(
            {
                "customer_id": ids[idx],
                "occurred_at": at(hour, idx.size),
                "event_type": kind,
                "amount": np.round(amount, 2),
            }
        )
        for idx, kind, hour, amount in rec["events"]
    ]
    parts.append(
        pd.DataFrame(
            {
                "customer_id": refunds["customer_id"],
                "occurred_at": refunds["resolved_at"],
                "event_type": "refund",
                "amount": np.round(rng.lognormal(3.5, 0.7, len(refunds)), 2),
            }
        )
    )
    events = pd.concat(parts, ignore_index=True)
    events = (
        events[events["occurred_at"] <= end]
        .sort_values("occurred_at", kind="stable")
        .reset_index(drop=True)
    )

    incidents = pd.DataFrame(
        [
            {
                "region": dyn.params.regions[slot % dyn.n_regions],
                "hour": hour,
                "hours": left,
                "severity": sev,
            }
            for slot, hour, left, sev in rec["incidents"]
        ],
        columns=["region", "hour", "hours", "severity"],
    )
    incidents_out = pd.DataFrame(
        {
            "region": incidents["region"].astype(str),
            "started_at": dyn.start
            + pd.to_timedelta(
                incidents["hour"].to_numpy(dtype=np.int64) * SECONDS_PER_HOUR, unit="s"
            ),
            "severity": incidents["severity"].astype(int),
        }
    )
    incidents_out["ended_at"] = known(
        incidents_out["started_at"]
        + pd.to_timedelta(incidents["hours"].to_numpy(dtype=np.int64) * SECONDS_PER_HOUR, unit="s")
    )
    incidents_out = incidents_out[["region", "started_at", "ended_at", "severity"]]

    risk = pd.DataFrame(
        {
            "customer_id": np.tile(ids, len(rec["risk"])),
            "cutoff_at": np.repeat(
                [dyn.start + pd.Timedelta(days=d) for d, _ in rec["risk"]], dyn.n
            ),
            "true_risk": np.concatenate([r for _, r in rec["risk"]])
            if rec["risk"]
            else np.zeros(0),
        }
    )
    customers = customers[customers["signup_at"] <= end]  # not yet: not in an export
    signup = customers.set_index("customer_id")["signup_at"]
    risk = risk[risk["cutoff_at"].to_numpy() > signup.reindex(risk["customer_id"]).to_numpy()]
    return {
        "customers": customers,
        "contacts": contacts[SCHEMAS["contacts"].column_names],
        "complaints": complaints[SCHEMAS["complaints"].column_names],
        # The world's events carry no ids (each row is one event).
        "events": events[[c for c in SCHEMAS["events"].column_names if c != "event_id"]],
        "incidents": incidents_out,
        "true_risk": risk.reset_index(drop=True),
    }
