"""One hour of the world: regional incidents, operational problems, contacts and the
complaint hazard, as functions of the hidden state (which they update)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.simulator.params import (
    ASYNC_CHANNELS,
    CHANNEL_BY_AGE,
    HOURS_PER_DAY,
    IDLE_REASONS,
    PROBLEM_REASON,
    PROBLEMS,
    SIM_CHANNELS,
    WorldParams,
)
from data.simulator.state import _Population, _State, _Step


def days_since_bill_day(date: pd.Timestamp, bill_day: np.ndarray) -> np.ndarray:
    """Whole days since the most recent bill day on or before ``date`` (calendar exact)."""
    previous_month_days = (date.replace(day=1) - pd.Timedelta(days=1)).day
    return np.where(
        date.day >= bill_day, date.day - bill_day, previous_month_days + date.day - bill_day
    )


class Dynamics:
    """The world's hourly dynamics, vectorised over customers (and Monte Carlo paths)."""

    def __init__(self, params: WorldParams, customers: int, days: int, start: pd.Timestamp) -> None:
        self.params = params
        self.n = customers
        self.days = days
        self.start = (
            pd.Timestamp(start).tz_localize("UTC")
            if pd.Timestamp(start).tz is None
            else pd.Timestamp(start)
        )
        self.n_regions = len(params.regions)
        self.decay = 0.5 ** (1.0 / params.frustration_half_life_hours)
        hours = np.arange(HOURS_PER_DAY)
        diurnal = np.where((hours >= 8) & (hours < 20), 1.8, 0.25)
        self.diurnal = diurnal / diurnal.mean()
        self.weekday = np.array([1.1, 1.1, 1.05, 1.05, 1.0, 0.6, 0.5])
        self.weekday = self.weekday / self.weekday.mean()
        self.start_weekday = self.start.dayofweek
        self._bill_cache: dict[str, object] = {}

    def population(self, rng: np.random.Generator) -> _Population:
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

    def step(
        self, pop: _Population, s: _State, hour: int, rng: np.random.Generator, record: bool
    ) -> _Step:
        day, hod = divmod(hour, HOURS_PER_DAY)
        date = self.start + pd.Timedelta(days=day)
        active = (pop.signup_hour <= hour) & (hour < pop.churn_hour)
        started = self._incidents(s, rng)
        severity = s.incident_severity[pop.region_slot].astype(float)
        days_since_bill = self._days_since_bill(date, pop.bill_day)
        problem_idx, problem_type = self._problems(pop, s, days_since_bill, severity, active, rng)
        # Contacts respond to frustration, open problems and incidents (both saturate).
        felt = self.params.frustration_cap * np.tanh(s.frustration / self.params.frustration_cap)
        rate = self._contact_rate(pop, s, felt, severity, hod, (self.start_weekday + day) % 7)
        contact_idx = np.flatnonzero(
            active & (rng.random(pop.segment.size) < np.minimum(rate, 0.9))
        )
        contact = self.contacts(pop, s, contact_idx, severity, rng, record, day)
        hazard = self._hazard(pop, s, felt, days_since_bill, active, hour, hod)
        s.frustration *= self.decay
        return _Step(problem_idx, problem_type, contact_idx, contact, hazard, started)

    def _incidents(self, s: _State, rng: np.random.Generator) -> np.ndarray:
        """Regional incidents: ongoing ones run down, new ones start (their slots)."""
        p = self.params
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
        return started

    def _problems(
        self,
        pop: _Population,
        s: _State,
        days_since_bill: np.ndarray,
        severity: np.ndarray,
        active: np.ndarray,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Operational problems (one uniform draw picks which, if any): (who, which type)."""
        p = self.params
        rates = np.array(p.problem_rates) / HOURS_PER_DAY
        pf_rate = rates[0] * np.where(days_since_bill <= 1, p.bill_payment_failure_boost, 1.0)
        app_rate = rates[3] * (1.0 + 2.0 * severity)
        u = rng.random(pop.segment.size)
        hit = active & (u < pf_rate + rates[1] + rates[2] + app_rate)
        problem_idx = np.flatnonzero(hit)
        n = problem_idx.size
        cum = np.cumsum(
            np.stack(
                [
                    pf_rate[problem_idx],
                    np.full(n, rates[1]),
                    np.full(n, rates[2]),
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
        return problem_idx, problem_type

    def _contact_rate(
        self,
        pop: _Population,
        s: _State,
        felt: np.ndarray,
        severity: np.ndarray,
        hod: int,
        weekday: int,
    ) -> np.ndarray:
        """Each customer's chance of a contact this hour."""
        p = self.params
        return (
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

    def _hazard(
        self,
        pop: _Population,
        s: _State,
        felt: np.ndarray,
        days_since_bill: np.ndarray,
        active: np.ndarray,
        hour: int,
        hod: int,
    ) -> np.ndarray:
        """Complaint hazard (per hour), zero while a complaint is open or the customer is gone."""
        p = self.params
        bill_peak = np.where(days_since_bill == p.bill_peak_day, p.bill_peak_boost, 1.0)
        return (
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

    def contacts(
        self,
        pop: _Population,
        s: _State,
        idx: np.ndarray,
        severity: np.ndarray,
        rng: np.random.Generator,
        record: bool,
        day: int = 0,
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
        if p.channel_shift_day is not None and day >= p.channel_shift_day:  # injected drift
            moved = rng.random(k) < p.channel_shift_share
            channel[moved] = SIM_CHANNELS.index(p.channel_shift_to)
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
