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
        rng = np.random.default_rng(self.seed)
        truth_rng = np.random.default_rng([self.seed, 1])
        pop = self.dynamics.population(rng)
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
        for hour in range(self.days * HOURS_PER_DAY):
            if hour % HOURS_PER_DAY == 0:
                day = hour // HOURS_PER_DAY
                if progress and day % 30 == 0:
                    log.info("simulating day %d/%d", day, self.days)
                if self.truth_paths and day >= self.first_truth_day:
                    rec["risk"].append((day, self._true_risk(pop_paths, state, hour, truth_rng)))
            step = self.dynamics.step(pop, state, hour, rng, record=True)
            record_hour(self.dynamics, pop, state, step, hour, rng, rec)
        return build_tables(self.dynamics, self.seed, pop, rec)

    def _true_risk(
        self, pop_paths: _Population, state: _State, hour: int, rng: np.random.Generator
    ) -> np.ndarray:
        """P(complaint within the horizon | full hidden state now), by forward simulation."""
        s = state.tile(self.truth_paths)
        cumulative = np.zeros(s.frustration.size)
        for k in range(self.horizon_hours):
            cumulative += self.dynamics.step(pop_paths, s, hour + k, rng, record=False).hazard
        return (1.0 - np.exp(-cumulative)).reshape(self.truth_paths, self.n).mean(axis=0)
