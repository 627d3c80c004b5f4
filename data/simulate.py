"""A synthetic contact-history world with a known, hidden complaint risk.

Each customer carries a hidden *frustration* level. Operational problems (failed payments,
deduction and delivery delays, app errors), regional service incidents and bad contacts
(long waits, transfers, unresolved issues) raise it; it decays with a half-life. Contact
volume, channel, wait, resolution and sentiment respond to it, and complaints arrive from
an hourly hazard on it, with a bill-cycle peak and some complaints out of the blue.

The world advances in hourly steps, vectorised over customers. At every daily cutoff it
also computes each customer's *true* probability of filing a complaint in the next 48 h
by simulating the same dynamics forward from the full hidden state along ``truth_paths``
independent paths. Because the state before a customer's first complaint does not depend
on whether the complaint happens, the probability along one path is exactly
``1 - exp(-sum of hourly hazards)``; averaging that over paths (rather than sampling the
complaint itself) gives an unbiased, low-variance estimate: the ceiling no model can beat.
Same seed, same files.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from data.contract import CHANNELS, SCHEMAS, validate_table
from data.fileio import atomic_directory, write_json
from data.load import MANIFEST

log = logging.getLogger(__name__)

SEGMENTS = ("retail", "institutional", "high_net_worth")
AGE_BANDS = ("18-29", "30-44", "45-64", "65+")
PLANS = ("basic", "standard", "premium")
PROBLEMS = ("payment_failed", "deduction_delayed", "order_delayed", "app_error")
# The contact reason a customer gives when calling about an open problem of each type.
PROBLEM_REASON = ("payment", "payment", "delivery", "technical_fault")
IDLE_REASONS = ("billing", "product_quality", "account_access", "service_attitude", "other")
SIM_CHANNELS = ("phone", "chat", "email", "app", "social", "branch")
# Channel preference by age band (rows follow AGE_BANDS, columns SIM_CHANNELS).
CHANNEL_BY_AGE = np.array(
    [
        [0.15, 0.30, 0.10, 0.30, 0.12, 0.03],
        [0.30, 0.25, 0.15, 0.20, 0.05, 0.05],
        [0.45, 0.15, 0.20, 0.10, 0.02, 0.08],
        [0.60, 0.05, 0.12, 0.02, 0.01, 0.20],
    ]
)
# Channels that answer asynchronously: waits of hours, not minutes.
ASYNC_CHANNELS = np.array([c in ("email", "social") for c in SIM_CHANNELS])
HOURS_PER_DAY = 24
SECONDS_PER_HOUR = 3600


def days_since_bill_day(date: pd.Timestamp, bill_day: np.ndarray) -> np.ndarray:
    """Whole days since the most recent bill day on or before ``date`` (calendar exact)."""
    previous_month_days = (date.replace(day=1) - pd.Timedelta(days=1)).day
    return np.where(
        date.day >= bill_day, date.day - bill_day, previous_month_days + date.day - bill_day
    )


@dataclass(frozen=True)
class WorldParams:
    """The knobs of the world. Rates are per customer-day unless named otherwise."""

    # Population
    segment_shares: tuple[float, float, float] = (0.75, 0.20, 0.05)
    age_shares: tuple[float, float, float, float] = (0.20, 0.30, 0.33, 0.17)
    plan_shares: tuple[float, float, float] = (0.50, 0.35, 0.15)
    regions: tuple[str, ...] = ("north", "south", "east", "west", "central")
    existing_share: float = 0.75  # signed up before the window; the rest join during it
    churn_share: float = 0.08  # stop all activity at a random time in the window
    # Hidden frustration
    frustration_half_life_hours: float = 96.0
    sensitivity_sigma: float = 0.5  # lognormal spread of how strongly a customer reacts
    frustration_cap: float = 3.5  # complaint hazard saturates smoothly near this level
    # Operational problems
    problem_rates: tuple[float, float, float, float] = (1 / 50, 1 / 90, 1 / 45, 1 / 35)
    problem_impact: tuple[float, float, float, float] = (1.3, 1.0, 0.8, 0.35)
    bill_payment_failure_boost: float = 6.0  # failed payments cluster on the bill day and next
    problem_fix_hours: float = 120.0  # mean time for a problem to be fixed without contact
    # Regional incidents
    incident_rate_per_region_day: float = 1 / 20
    incident_hours: tuple[int, int] = (4, 40)
    incident_frustration_per_hour: float = 0.012  # times severity, times sensitivity
    incident_contact_boost: float = 0.5  # contact rate multiplier per severity level
    incident_wait_boost: float = 0.8  # wait multiplier per severity level
    # Contacts
    contact_rates: tuple[float, float, float] = (1 / 30, 1 / 12, 1 / 18)  # by segment
    contact_frustration_boost: float = 0.9
    contact_problem_boost: float = 2.5  # per open problem
    long_wait_seconds: float = 1800.0
    resolve_base: float = 1.6  # log-odds of resolution for an easy contact
    resolve_per_problem: float = 0.9  # each open problem makes resolution harder
    resolve_per_frustration: float = 0.25
    transfer_rate: float = 0.15
    unresolved_frustration: float = 0.55
    long_wait_frustration: float = 0.45
    transfer_frustration: float = 0.2
    resolved_relief: float = 0.35  # frustration removed by a resolved contact
    escalation_sentiment: float = -80.0  # below this a contact escalates frustration
    escalation_frustration: float = 0.6
    # Complaints
    complaint_base: float = 0.0004
    complaint_frustration_beta: float = 2.0
    segment_complaint_mult: tuple[float, float, float] = (1.0, 0.6, 1.5)
    bill_peak_day: int = 3  # days after the bill when complaint-prone emotion peaks
    bill_peak_boost: float = 1.8
    out_of_blue: float = 0.00015  # complaints unrelated to the hidden state
    complaint_resolve_days: tuple[float, float] = (1.0, 12.0)
    refund_share: float = 0.3

    def scaled(self, positive_rate_factor: float) -> WorldParams:
        """The same world with complaint hazards scaled (adjusts the positive rate)."""
        return replace(
            self,
            complaint_base=self.complaint_base * positive_rate_factor,
            out_of_blue=self.out_of_blue * positive_rate_factor,
        )


@dataclass
class _State:
    """Hidden per-customer state for one or many simulated paths (flattened)."""

    frustration: np.ndarray
    open_problems: np.ndarray
    last_problem: np.ndarray  # index into PROBLEMS, -1 if none yet
    complaint_open_until: np.ndarray  # hour index; complaints are not filed while open
    incident_left: np.ndarray  # (paths * regions) hours left of the current incident
    incident_severity: np.ndarray  # (paths * regions)

    def tile(self, paths: int) -> _State:
        return _State(**{k: np.tile(v, paths) for k, v in asdict(self).items()})


@dataclass
class _Population:
    """Static customer attributes, tiled for the number of paths."""

    n: int
    segment: np.ndarray
    age: np.ndarray
    region: np.ndarray
    bill_day: np.ndarray
    sensitivity: np.ndarray
    signup_hour: np.ndarray
    churn_hour: np.ndarray
    paths: int = 1
    region_slot: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))

    def tile(self, paths: int, n_regions: int) -> _Population:
        tiled = {k: np.tile(v, paths) for k, v in asdict(self).items() if isinstance(v, np.ndarray)}
        tiled["region_slot"] = np.tile(self.region, paths) + n_regions * np.repeat(
            np.arange(paths), self.n
        )
        return _Population(n=self.n, paths=paths, **tiled)


@dataclass
class _Step:
    """What happened in one hour (indices into the flattened arrays)."""

    problem_idx: np.ndarray
    problem_type: np.ndarray
    contact_idx: np.ndarray
    contact: dict[str, np.ndarray]
    hazard: np.ndarray  # complaint hazard of every customer this hour
    incident_started: np.ndarray  # region slots whose incident started this hour


class World:
    """Simulates one world: ``World(params, customers, days, seed).run()``."""

    def __init__(
        self,
        params: WorldParams,
        customers: int,
        days: int,
        seed: int,
        start: pd.Timestamp,
        truth_paths: int = 16,
        horizon_hours: int = 48,
        truth_days: int | None = None,
    ) -> None:
        self.params = params
        self.n = customers
        self.days = days
        self.seed = seed
        self.start = (
            pd.Timestamp(start).tz_localize("UTC")
            if pd.Timestamp(start).tz is None
            else pd.Timestamp(start)
        )
        self.truth_paths = truth_paths
        self.horizon_hours = horizon_hours
        # The true risk is the costly part (paths x horizon steps per day); evaluation only
        # needs it on the test period, so it can be limited to the last ``truth_days`` days.
        self.first_truth_day = 0 if truth_days is None else max(0, days - truth_days)
        self.n_regions = len(params.regions)
        self.decay = 0.5 ** (1.0 / params.frustration_half_life_hours)
        hours = np.arange(HOURS_PER_DAY)
        diurnal = np.where((hours >= 8) & (hours < 20), 1.8, 0.25)
        self.diurnal = diurnal / diurnal.mean()
        self.weekday = np.array([1.1, 1.1, 1.05, 1.05, 1.0, 0.6, 0.5])
        self.weekday = self.weekday / self.weekday.mean()
        self.start_weekday = self.start.dayofweek
        self._bill_cache: dict[str, object] = {}

    # ----------------------------------------------------------------- population
    def _population(self, rng: np.random.Generator) -> _Population:
        p, n, horizon = self.params, self.n, self.days * HOURS_PER_DAY
        existing = rng.random(n) < p.existing_share
        signup = np.where(
            existing,
            -rng.integers(HOURS_PER_DAY, 3 * 365 * HOURS_PER_DAY, n),
            rng.integers(0, horizon, n),
        )
        churns = rng.random(n) < p.churn_share
        churn = np.where(churns, rng.integers(0, horizon, n), np.iinfo(np.int64).max)
        churn = np.maximum(churn, signup + 14 * HOURS_PER_DAY)
        region = rng.integers(0, self.n_regions, n)
        return _Population(
            n=n,
            segment=rng.choice(3, n, p=p.segment_shares),
            age=rng.choice(4, n, p=p.age_shares),
            region=region,
            bill_day=rng.integers(1, 29, n),
            sensitivity=rng.lognormal(0.0, p.sensitivity_sigma, n),
            signup_hour=signup,
            churn_hour=churn,
            region_slot=region,
        )

    # ----------------------------------------------------------------- one hour
    def _days_since_bill(self, date: pd.Timestamp, bill_day: np.ndarray) -> np.ndarray:
        key = (date, bill_day.size)
        if self._bill_cache.get("key") != key:  # changes once a day, not every hour
            self._bill_cache = {"key": key, "value": days_since_bill_day(date, bill_day)}
        return self._bill_cache["value"]

    def _step(
        self, pop: _Population, s: _State, hour: int, rng: np.random.Generator, record: bool
    ) -> _Step:
        p = self.params
        m = pop.segment.size
        day, hod = divmod(hour, HOURS_PER_DAY)
        date = self.start + pd.Timedelta(days=day)
        weekday = (self.start_weekday + day) % 7
        active = (pop.signup_hour <= hour) & (hour < pop.churn_hour)

        # Regional incidents: ongoing ones run down, new ones start.
        running = s.incident_left > 0
        s.incident_left[running] -= 1
        s.incident_severity[s.incident_left <= 0] = 0
        start_new = (~running) & (
            rng.random(s.incident_left.size) < p.incident_rate_per_region_day / HOURS_PER_DAY
        )
        started = np.flatnonzero(start_new)
        if started.size:
            s.incident_left[started] = rng.integers(
                p.incident_hours[0], p.incident_hours[1] + 1, started.size
            )
            s.incident_severity[started] = rng.choice([1, 2, 3], started.size, p=[0.5, 0.35, 0.15])
        severity = s.incident_severity[pop.region_slot].astype(float)

        # Operational problems (one uniform draw picks which, if any).
        days_since_bill = self._days_since_bill(date, pop.bill_day)
        rates = np.array(p.problem_rates) / HOURS_PER_DAY
        pf_rate = rates[0] * np.where(days_since_bill <= 1, p.bill_payment_failure_boost, 1.0)
        app_rate = rates[3] * (1.0 + 2.0 * severity)
        u = rng.random(m)
        hit = active & (u < pf_rate + rates[1] + rates[2] + app_rate)
        problem_idx = np.flatnonzero(hit)
        cum = np.cumsum(
            np.stack(
                [
                    pf_rate[problem_idx],
                    np.full(problem_idx.size, rates[1]),
                    np.full(problem_idx.size, rates[2]),
                    app_rate[problem_idx],
                ]
            ),
            axis=0,
        )
        problem_type = np.minimum((u[problem_idx][None, :] >= cum).sum(axis=0), len(PROBLEMS) - 1)
        impact = np.array(p.problem_impact)
        s.frustration[problem_idx] += impact[problem_type] * pop.sensitivity[problem_idx]
        s.open_problems[problem_idx] += 1
        s.last_problem[problem_idx] = problem_type
        with_problems = np.flatnonzero(s.open_problems)
        fixed = with_problems[
            rng.random(with_problems.size) < s.open_problems[with_problems] / p.problem_fix_hours
        ]
        s.open_problems[fixed] -= 1
        s.frustration += p.incident_frustration_per_hour * severity * pop.sensitivity * active

        # Contacts respond to frustration, open problems and incidents (both saturate).
        felt = p.frustration_cap * np.tanh(s.frustration / p.frustration_cap)
        rate = (
            np.array(p.contact_rates)[pop.segment]
            / HOURS_PER_DAY
            * self.diurnal[hod]
            * self.weekday[weekday]
            * (
                1.0
                + p.contact_frustration_boost * felt
                + p.contact_problem_boost * np.minimum(s.open_problems, 3)
            )
            * (1.0 + p.incident_contact_boost * severity)
        )
        contact_idx = np.flatnonzero(active & (rng.random(m) < np.minimum(rate, 0.9)))
        contact = self._contacts(pop, s, contact_idx, severity, rng, record)

        # Complaint hazard (per hour), zero while a complaint is open or the customer is gone.
        bill_peak = np.where(days_since_bill == p.bill_peak_day, p.bill_peak_boost, 1.0)
        hazard = (
            (
                p.complaint_base
                * np.array(p.segment_complaint_mult)[pop.segment]
                * np.exp(p.complaint_frustration_beta * felt)
                * bill_peak
                + p.out_of_blue
            )
            / HOURS_PER_DAY
            * self.diurnal[hod]
            * (active & (s.complaint_open_until <= hour))
        )
        s.frustration *= self.decay
        return _Step(problem_idx, problem_type, contact_idx, contact, hazard, started)

    def _contacts(
        self,
        pop: _Population,
        s: _State,
        idx: np.ndarray,
        severity: np.ndarray,
        rng: np.random.Generator,
        record: bool,
    ) -> dict[str, np.ndarray]:
        """Draw contact attributes and apply their effect on the hidden state."""
        p = self.params
        k = idx.size
        if k == 0:
            return {}
        frus, probs = s.frustration[idx], s.open_problems[idx]
        # Channel: preference by age; frustrated customers escalate to the phone.
        pref = CHANNEL_BY_AGE[pop.age[idx]]
        channel = (rng.random(k)[:, None] > np.cumsum(pref, axis=1)).sum(axis=1)
        channel = np.minimum(channel, len(SIM_CHANNELS) - 1)
        escalate = rng.random(k) < np.minimum(0.5, 0.12 * frus)
        channel[escalate] = 0
        is_async = ASYNC_CHANNELS[channel]
        wait = rng.lognormal(np.where(is_async, 8.5, 5.5), 0.9) * (
            1.0 + p.incident_wait_boost * severity[idx]
        )
        long_wait = (wait > p.long_wait_seconds) & ~is_async
        transferred = rng.random(k) < p.transfer_rate * (1.0 + 0.5 * probs)
        logit = (
            p.resolve_base
            - p.resolve_per_problem * probs
            - p.resolve_per_frustration * frus
            - 0.6 * transferred
        )
        resolved = rng.random(k) < 1.0 / (1.0 + np.exp(-logit))
        sentiment = np.clip(
            45.0
            - 22.0 * frus
            - 25.0 * long_wait
            - 30.0 * ~resolved
            - 10.0 * transferred
            + rng.normal(0, 18, k),
            -100,
            100,
        )
        delta = (
            p.unresolved_frustration * ~resolved
            + p.long_wait_frustration * long_wait
            + p.transfer_frustration * transferred
            + p.escalation_frustration * (sentiment < p.escalation_sentiment)
        ) * pop.sensitivity[idx]
        s.frustration[idx] = np.maximum(0.0, frus + delta - p.resolved_relief * resolved)
        s.open_problems[idx] = np.maximum(0, probs - resolved * (probs > 0))
        if not record:
            return {}
        about_problem = (probs > 0) & (s.last_problem[idx] >= 0)
        reason = np.where(
            about_problem,
            np.array(PROBLEM_REASON)[np.maximum(s.last_problem[idx], 0)],
            np.array(IDLE_REASONS)[rng.integers(0, len(IDLE_REASONS), k)],
        )
        handle = rng.lognormal(np.where(is_async, 5.5, 6.0), 0.6) * (1.0 + 0.6 * transferred)
        return {
            "channel": np.array(SIM_CHANNELS)[channel],
            "reason": reason,
            "wait_seconds": np.round(wait),
            "handle_seconds": np.round(handle),
            "transferred": transferred,
            "resolved": resolved,
            "sentiment": np.round(sentiment),
        }

    # ----------------------------------------------------------------- truth
    def _true_risk(
        self, pop_paths: _Population, state: _State, hour: int, rng: np.random.Generator
    ) -> np.ndarray:
        """P(complaint within the horizon | full hidden state now), by forward simulation."""
        s = state.tile(self.truth_paths)
        cumulative = np.zeros(s.frustration.size)
        for k in range(self.horizon_hours):
            cumulative += self._step(pop_paths, s, hour + k, rng, record=False).hazard
        return (1.0 - np.exp(-cumulative)).reshape(self.truth_paths, self.n).mean(axis=0)

    # ----------------------------------------------------------------- main loop
    def run(self, progress: bool = True) -> dict[str, pd.DataFrame]:
        """Simulate and return the contract tables plus ``true_risk``."""
        rng = np.random.default_rng(self.seed)
        truth_rng = np.random.default_rng([self.seed, 1])
        pop = self._population(rng)
        pop_paths = pop.tile(self.truth_paths, self.n_regions) if self.truth_paths else pop
        state = _State(
            frustration=np.zeros(self.n),
            open_problems=np.zeros(self.n, dtype=np.int64),
            last_problem=np.full(self.n, -1),
            complaint_open_until=np.full(self.n, -1.0),
            incident_left=np.zeros(self.n_regions, dtype=np.int64),
            incident_severity=np.zeros(self.n_regions, dtype=np.int64),
        )
        rec: dict[str, list] = {
            "contacts": [],
            "complaints": [],
            "events": [],
            "incidents": [],
            "risk": [],
        }
        total_hours = self.days * HOURS_PER_DAY
        for hour in range(total_hours):
            if hour % HOURS_PER_DAY == 0:
                day = hour // HOURS_PER_DAY
                if progress and day % 30 == 0:
                    log.info("simulating day %d/%d", day, self.days)
                if self.truth_paths and day >= self.first_truth_day:
                    rec["risk"].append((day, self._true_risk(pop_paths, state, hour, truth_rng)))
            step = self._step(pop, state, hour, rng, record=True)
            self._record(pop, state, step, hour, rng, rec)
        return self._tables(pop, rec)

    def _record(
        self,
        pop: _Population,
        s: _State,
        step: _Step,
        hour: int,
        rng: np.random.Generator,
        rec: dict,
    ) -> None:
        p = self.params
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
        date = self.start + pd.Timedelta(days=day)
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

    # ----------------------------------------------------------------- output
    def _tables(self, pop: _Population, rec: dict) -> dict[str, pd.DataFrame]:
        p = self.params
        rng = np.random.default_rng([self.seed, 2])
        end = self.start + pd.Timedelta(days=self.days)
        ids = np.array([f"C{i:06d}" for i in range(self.n)])

        def at(hours: np.ndarray | int, size: int) -> pd.DatetimeIndex:
            # Spread events inside their hour, never exactly on a boundary.
            seconds = np.asarray(hours, dtype=np.int64) * SECONDS_PER_HOUR + rng.integers(
                1, SECONDS_PER_HOUR, size
            )
            return self.start + pd.to_timedelta(seconds, unit="s")

        def known(ts: pd.Series) -> pd.Series:
            # Anything after the end of observation is not known yet (still open).
            return ts.where(ts <= end)

        customers = pd.DataFrame(
            {
                "customer_id": ids,
                "signup_at": self.start
                + pd.to_timedelta(pop.signup_hour * SECONDS_PER_HOUR, unit="s"),
                "segment": np.array(SEGMENTS)[pop.segment],
                "region": np.array(self.params.regions)[pop.region],
                "age_band": np.array(AGE_BANDS)[pop.age],
                "plan": rng.choice(PLANS, self.n, p=p.plan_shares),
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
                rng.choice(["billing", "service_attitude", "product_quality", "other"], idx.size),
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
                            list(CHANNELS[:6]), idx.size, p=[0.45, 0.15, 0.2, 0.1, 0.05, 0.05]
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
                    "region": self.params.regions[slot % self.n_regions],
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
                "started_at": self.start
                + pd.to_timedelta(
                    incidents["hour"].to_numpy(dtype=np.int64) * SECONDS_PER_HOUR, unit="s"
                ),
                "severity": incidents["severity"].astype(int),
            }
        )
        incidents_out["ended_at"] = known(
            incidents_out["started_at"]
            + pd.to_timedelta(
                incidents["hours"].to_numpy(dtype=np.int64) * SECONDS_PER_HOUR, unit="s"
            )
        )
        incidents_out = incidents_out[["region", "started_at", "ended_at", "severity"]]

        risk = pd.DataFrame(
            {
                "customer_id": np.tile(ids, len(rec["risk"])),
                "cutoff_at": np.repeat(
                    [self.start + pd.Timedelta(days=d) for d, _ in rec["risk"]], self.n
                ),
                "true_risk": np.concatenate([r for _, r in rec["risk"]])
                if rec["risk"]
                else np.zeros(0),
            }
        )
        signup = customers.set_index("customer_id")["signup_at"]
        risk = risk[risk["cutoff_at"].to_numpy() > signup.reindex(risk["customer_id"]).to_numpy()]
        return {
            "customers": customers,
            "contacts": contacts[SCHEMAS["contacts"].column_names],
            "complaints": complaints[SCHEMAS["complaints"].column_names],
            "events": events[SCHEMAS["events"].column_names],
            "incidents": incidents_out,
            "true_risk": risk.reset_index(drop=True),
        }


def simulate_world(
    out: Path | str,
    customers: int,
    days: int,
    seed: int,
    start: pd.Timestamp | str = "2026-01-01",
    truth_paths: int = 16,
    params: WorldParams | None = None,
    horizon_hours: int = 48,
    truth_days: int | None = None,
) -> dict[str, object]:
    """Simulate a world and write it to ``out`` (replaced atomically); return the manifest.

    ``truth_days`` limits the true risk to the last that many daily cutoffs (None: all).
    """
    params = params or WorldParams()
    world = World(
        params, customers, days, seed, pd.Timestamp(start), truth_paths, horizon_hours, truth_days
    )
    tables = world.run()
    for name, schema in SCHEMAS.items():
        _, report = validate_table(tables[name], schema)
        if report.n_rejected:  # the generator must honour its own contract
            raise AssertionError(
                f"simulator produced invalid {name} rows: {[str(i) for i in report.issues]}"
            )
    end = world.start + pd.Timedelta(days=days)
    manifest = {
        "generator": "complaint-radar synthetic world v1",
        "seed": seed,
        "customers": customers,
        "days": days,
        "start": world.start.isoformat(),
        "observed_until": end.isoformat(),
        "truth_paths": truth_paths,
        "truth_days": truth_days,
        "horizon_hours": horizon_hours,
        "rows": {k: len(v) for k, v in tables.items()},
        "params": asdict(params),
    }
    with atomic_directory(Path(out)) as staging:
        for name, frame in tables.items():
            frame.to_parquet(staging / f"{name}.parquet", index=False)
        write_json(staging / MANIFEST, manifest)
    log.info("wrote world to %s: %s", out, manifest["rows"])
    return manifest
