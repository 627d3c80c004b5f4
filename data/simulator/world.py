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
from dataclasses import replace

import numpy as np
import pandas as pd

from data.simulator.dynamics import Dynamics
from data.simulator.params import HOURS_PER_DAY, WorldParams
from data.simulator.state import _Population, _State
from data.simulator.tables import build_tables, record_hour

log = logging.getLogger(__name__)


class World:
    """Simulates one world: ``World(params, customers, days, seed, start).run()``."""

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
        self.dynamics = Dynamics(params, customers, days, start)
        self.start = self.dynamics.start
        self.n, self.days, self.seed = customers, days, seed
        self.n_regions = self.dynamics.n_regions
        self.truth_paths = truth_paths
        self.horizon_hours = horizon_hours
        # The true risk is the costly part (paths x horizon steps per day); evaluation only
        # needs it on the test period, so it can be limited to the last ``truth_days`` days.
        self.first_truth_day = 0 if truth_days is None else max(0, days - truth_days)

    def run(self, progress: bool = True) -> dict[str, pd.DataFrame]:
        """Simulate and return the contract tables plus ``true_risk``."""
        self.begin()
        for _ in range(self.days):
            self.advance_day(progress)
        return self.tables()

    # ------------------------------------------------ step by step (the outreach loop)
    def begin(self) -> None:
        """Draw the population and start the clock at hour 0."""
        self._rng = np.random.default_rng(self.seed)
        self._truth_rng = np.random.default_rng([self.seed, 1])
        self._pop = self.dynamics.population(self._rng)
        # Who a call annoys: a stream of its own, so the world's own draws stay as they are.
        p = self.dynamics.params
        share = (
            np.asarray(p.outreach_annoyed_share_by_age)[self._pop.age]
            if p.outreach_annoyed_share_by_age is not None
            else p.outreach_annoyed_share
        )
        self._annoyed = np.random.default_rng([self.seed, 7]).random(self.n) < share
        self._pop_paths = (
            self._pop.tile(self.truth_paths, self.n_regions) if self.truth_paths else self._pop
        )
        self._state = _State(
            frustration=np.zeros(self.n),
            open_problems=np.zeros(self.n, dtype=np.int64),
            last_problem=np.full(self.n, -1),
            complaint_open_until=np.full(self.n, -1.0),
            incident_left=np.zeros(self.n_regions, dtype=np.int64),
            incident_severity=np.zeros(self.n_regions, dtype=np.int64),
        )
        self._rec: dict[str, list] = {
            "contacts": [],
            "complaints": [],
            "events": [],
            "incidents": [],
            "risk": [],
        }
        self.hour = 0

    def advance_day(self, progress: bool = True) -> None:
        """Simulate the next 24 hours (recording the true risk at the day's start)."""
        day = self.hour // HOURS_PER_DAY
        if progress and day % 30 == 0:
            log.info("simulating day %d/%d", day, self.days)
        if self.truth_paths and day >= self.first_truth_day:
            risk = self._true_risk(self._pop_paths, self._state, self.hour, self._truth_rng)
            self._rec["risk"].append((day, risk))
        for hour in range(self.hour, self.hour + HOURS_PER_DAY):
            step = self.dynamics.step(self._pop, self._state, hour, self._rng, record=True)
            record_hour(self.dynamics, self._pop, self._state, step, hour, self._rng, self._rec)
        self.hour += HOURS_PER_DAY

    def tables(self) -> dict[str, pd.DataFrame]:
        """The contract tables (and ``true_risk``) of everything simulated so far: what an
        export taken now would hold (contacts and complaints closing later are open)."""
        return build_tables(
            self.dynamics, self.seed, self._pop, self._rec, self.hour // HOURS_PER_DAY
        )

    def call_effect(self, customers: np.ndarray) -> np.ndarray:
        """The share of hidden frustration a call reaching these customers (positions) now
        removes (negative: it adds): ``params.outreach_effect`` for everyone, unless the
        params make it depend on the cause and the customer (see :class:`WorldParams`)."""
        p, s = self.dynamics.params, self._state
        effect = np.full(customers.size, p.outreach_effect)
        if p.outreach_effect_by_problem is not None:
            problem = s.last_problem[customers]
            has_problem = (s.open_problems[customers] > 0) & (problem >= 0)
            by_problem = np.asarray(p.outreach_effect_by_problem)[np.maximum(problem, 0)]
            effect = np.where(has_problem, by_problem, effect)
        if p.outreach_effect_in_incident is not None:
            running = s.incident_left[self._pop.region_slot[customers]] > 0
            effect = np.where(running, p.outreach_effect_in_incident, effect)
        if p.outreach_calm_frustration is not None:
            angry = s.frustration[customers] / p.outreach_calm_frustration
            effect = effect / (1.0 + angry**2)
        effect = np.where(self._annoyed[customers], -p.outreach_annoyance, effect)
        return effect

    def reach(self, customers: np.ndarray) -> None:
        """Outreach reached these customers (positions) now: each loses its
        :meth:`call_effect` share of their hidden frustration."""
        self._state.frustration[customers] *= 1.0 - self.call_effect(customers)

    def risk_if_reached(
        self, customers: np.ndarray, paths: int = 32
    ) -> tuple[np.ndarray, np.ndarray]:
        """(true 48 h complaint probability of ``customers`` now, the same if outreach reached
        them now): the same forward paths with and without the call (common random numbers,
        so the difference is the call's effect, not path noise)."""
        pop_paths = self._pop.tile(paths, self.n_regions)
        reached = replace(self._state, frustration=self._state.frustration.copy())
        reached.frustration[customers] *= 1.0 - self.call_effect(customers)
        seed = [self.seed, 3, self.hour]
        risks = [
            self._true_risk(pop_paths, state, self.hour, np.random.default_rng(seed), paths)
            for state in (self._state, reached)
        ]
        return risks[0][customers], risks[1][customers]

    def _true_risk(
        self,
        pop_paths: _Population,
        state: _State,
        hour: int,
        rng: np.random.Generator,
        paths: int | None = None,
    ) -> np.ndarray:
        """P(complaint within the horizon | full hidden state now), by forward simulation."""
        paths = paths or self.truth_paths
        s = state.tile(paths)
        cumulative = np.zeros(s.frustration.size)
        for k in range(self.horizon_hours):
            cumulative += self.dynamics.step(pop_paths, s, hour + k, rng, record=False).hazard
        return (1.0 - np.exp(-cumulative)).reshape(paths, self.n).mean(axis=0)
