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
    t = _Tables(dyn, seed, pop, rec, days)
    # In this order: each draws from one random stream, and the world stays the same.
    customers = t.customers()
    contacts = t.contacts()
    complaints, refunds = t.complaints()
    events = t.events(refunds)
    incidents = t.incidents()
    risk = t.true_risk()
    customers = customers[customers["signup_at"] <= t.end]  # not yet: not in an export
    signup = customers.set_index("customer_id")["signup_at"]
    risk = risk[risk["cutoff_at"].to_numpy() > signup.reindex(risk["customer_id"]).to_numpy()]
    return {
        "customers": customers,
        "contacts": contacts[SCHEMAS["contacts"].column_names],
        "complaints": complaints[SCHEMAS["complaints"].column_names],
        # The world's events carry no ids (each row is one event).
        "events": events[[c for c in SCHEMAS["events"].column_names if c != "event_id"]],
        "incidents": incidents,
        "true_risk": risk.reset_index(drop=True),
    }


class _Tables:
    """The records of a run as contract tables, drawing details from one random stream."""

    def __init__(
        self, dyn: Dynamics, seed: int, pop: _Population, rec: dict, days: int | None
    ) -> None:
        self.dyn, self.pop, self.rec = dyn, pop, rec
        self.p = dyn.params
        self.rng = np.random.default_rng([seed, 2])
        self.end = dyn.start + pd.Timedelta(days=dyn.days if days is None else days)
        self.ids = np.array([customer_id(i) for i in range(dyn.n)])

    def at(self, hours: np.ndarray | int, size: int) -> pd.DatetimeIndex:
        """Times inside their hour, never exactly on a boundary."""
        seconds = np.asarray(hours, dtype=np.int64) * SECONDS_PER_HOUR + self.rng.integers(
            1, SECONDS_PER_HOUR, size
        )
        return self.dyn.start + pd.to_timedelta(seconds, unit="s")

    def known(self, ts: pd.Series) -> pd.Series:
        """Anything after the end of observation is not known yet (still open)."""
        return ts.where(ts <= self.end)

    def hours(self, hours: np.ndarray) -> pd.TimedeltaIndex:
        return pd.to_timedelta(np.asarray(hours, dtype=np.int64) * SECONDS_PER_HOUR, unit="s")

    def customers(self) -> pd.DataFrame:
        pop, dyn = self.pop, self.dyn
        return pd.DataFrame(
            {
                "customer_id": self.ids,
                "signup_at": dyn.start
                + pd.to_timedelta(pop.signup_hour * SECONDS_PER_HOUR, unit="s"),
                "segment": np.array(SEGMENTS)[pop.segment],
                "region": np.array(self.p.regions)[pop.region],
                "age_band": np.array(AGE_BANDS)[pop.age],
                "plan": self.rng.choice(PLANS, dyn.n, p=self.p.plan_shares),
                "bill_day": pop.bill_day,
            }
        )

    def contacts(self) -> pd.DataFrame:
        parts = []
        for idx, hour, attrs in self.rec["contacts"]:
            part = pd.DataFrame(attrs)
            part["customer_id"] = self.ids[idx]
            part["started_at"] = self.at(hour, idx.size)
            parts.append(part)
        contacts = pd.concat(parts, ignore_index=True) if parts else SCHEMAS["contacts"].empty()
        contacts = contacts.sort_values("started_at", kind="stable").reset_index(drop=True)
        contacts.insert(0, "contact_id", [f"K{i:08d}" for i in range(len(contacts))])
        duration = pd.to_timedelta(contacts["wait_seconds"] + contacts["handle_seconds"], unit="s")
        contacts["closed_at"] = self.known(contacts["started_at"] + duration)
        still_open = contacts["closed_at"].isna()
        for col in ("handle_seconds", "sentiment"):
            contacts[col] = contacts[col].where(~still_open)
        for col in ("transferred", "resolved"):
            contacts[col] = contacts[col].astype("boolean").where(~still_open)
        return contacts

    def complaints(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(complaints, those refunded when resolved)."""
        rng, parts = self.rng, []
        for idx, hour, open_hours, had_problem, last_problem in self.rec["complaints"]:
            filed_at = self.at(hour, idx.size)
            category = np.where(
                had_problem & (last_problem >= 0),
                np.array(PROBLEM_REASON)[np.maximum(last_problem, 0)],
                rng.choice(list(COMPLAINT_CATEGORIES), idx.size),
            )
            parts.append(
                pd.DataFrame(
                    {
                        "customer_id": self.ids[idx],
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
        refunds = complaints[rng.random(len(complaints)) < self.p.refund_share]
        complaints["resolved_at"] = self.known(complaints["resolved_at"])
        return complaints, refunds

    def events(self, refunds: pd.DataFrame) -> pd.DataFrame:
        parts = [
            pd.DataFrame(
                {
                    "customer_id": self.ids[idx],
                    "occurred_at": self.at(hour, idx.size),
                    "event_type": kind,
                    "amount": np.round(amount, 2),
                }
            )
            for idx, kind, hour, amount in self.rec["events"]
        ]
        parts.append(
            pd.DataFrame(
                {
                    "customer_id": refunds["customer_id"],
                    "occurred_at": refunds["resolved_at"],
                    "event_type": "refund",
                    "amount": np.round(self.rng.lognormal(3.5, 0.7, len(refunds)), 2),
                }
            )
        )
        events = pd.concat(parts, ignore_index=True)
        events = events[events["occurred_at"] <= self.end]
        return events.sort_values("occurred_at", kind="stable").reset_index(drop=True)

    def incidents(self) -> pd.DataFrame:
        rows = [
            (self.p.regions[slot % self.dyn.n_regions], hour, left, severity)
            for slot, hour, left, severity in self.rec["incidents"]
        ]
        raw = pd.DataFrame(rows, columns=["region", "hour", "hours", "severity"])
        started = self.dyn.start + self.hours(raw["hour"].to_numpy(dtype=np.int64))
        return pd.DataFrame(
            {
                "region": raw["region"].astype(str),
                "started_at": started,
                "ended_at": self.known(
                    pd.Series(started + self.hours(raw["hours"].to_numpy(dtype=np.int64)))
                ),
                "severity": raw["severity"].astype(int),
            }
        )

    def true_risk(self) -> pd.DataFrame:
        risk, n = self.rec["risk"], self.dyn.n
        return pd.DataFrame(
            {
                "customer_id": np.tile(self.ids, len(risk)),
                "cutoff_at": np.repeat([self.dyn.start + pd.Timedelta(days=d) for d, _ in risk], n),
                "true_risk": np.concatenate([r for _, r in risk]) if risk else np.zeros(0),
            }
        )
