"""The hidden state of the world's customers, their static attributes, one hour's events."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np


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
