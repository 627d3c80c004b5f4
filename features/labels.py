"""The 48-hour label, eligibility and censoring at each (customer, cutoff).

- label: 1 when the customer files a complaint with ``filed_at`` in ``(t, t + horizon]``;
  a complaint exactly at ``t`` belongs to the previous cutoff's window, never to ``t``'s.
- eligible: signed up before ``t`` and (by default) no complaint open at ``t``, judged
  only on what was known before ``t``.
- censored: ``t + horizon`` runs past the end of observation, so the label is unknown.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.history import History
from features.build import normalise_cutoffs
from features.pit import EventStream, to_seconds


class LabelEngine:
    """Label, eligibility and censoring of any customer at any cutoff, with the complaint
    streams sorted once (a training grid asks for every customer at every day).

    Customers are addressed by their position in ``history.customers``; cutoffs are whole
    seconds as :func:`features.pit.to_seconds` gives them.
    """

    def __init__(
        self, history: History, horizon_hours: int, exclude_open_complaints: bool = True
    ) -> None:
        self.index = pd.Index(history.customers["customer_id"])
        cp = history.complaints
        codes = self.index.get_indexer(cp["customer_id"])
        # Labels look at (t, t + h]: complaint times are ceiled so a sub-second time at a
        # boundary never falls into a cutoff's past. Open complaints look before t.
        self.filed_ahead = EventStream(codes, cp["filed_at"], rounding="ceil")
        self.filed = EventStream(codes, cp["filed_at"])
        self.resolved = EventStream(codes, cp["resolved_at"])  # NaT: still open
        self.signup = to_seconds(history.customers["signup_at"], "floor")
        self.horizon = horizon_hours * 3600
        self.exclude_open_complaints = exclude_open_complaints
        self.last_labelled = to_seconds([history.observed_until], "floor")[0] - self.horizon

    def at(self, codes: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(label, eligible, censored) of customers ``codes`` (-1: unknown) at cutoffs ``t``."""
        known = codes >= 0
        safe = np.where(known, codes, 0)
        label = (self.filed_ahead.count_after(safe, t, self.horizon) > 0) & known
        eligible = known & (self.signup[safe] < t)
        if self.exclude_open_complaints:
            eligible &= self.filed.count(safe, t) - self.resolved.count(safe, t) == 0
        # t + horizon past the end of observation (integer seconds: exact).
        censored = t > self.last_labelled
        return label.astype(np.int8), eligible, censored


def build_labels(
    history: History,
    cutoffs: pd.DataFrame,
    horizon_hours: int,
    exclude_open_complaints: bool = True,
) -> pd.DataFrame:
    """``customer_id, cutoff_at, label, eligible, censored`` for each cutoff, in order.

    - label: 1 when a complaint is filed in ``(t, t + horizon]``;
    - eligible: signed up before ``t`` and (by default) no complaint open at ``t``;
    - censored: ``t + horizon`` runs past the end of observation.
    """
    keys = normalise_cutoffs(cutoffs)
    engine = LabelEngine(history, horizon_hours, exclude_open_complaints)
    label, eligible, censored = engine.at(
        engine.index.get_indexer(keys["customer_id"]), to_seconds(keys["cutoff_at"], "floor")
    )
    return keys.assign(label=label, eligible=eligible, censored=censored)


def daily_cutoffs(customers: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
    """Every customer at every midnight (UTC) from ``first`` to ``last`` inclusive."""
    days = pd.date_range(first.normalize(), last.normalize(), freq="D", tz="UTC").as_unit("ns")
    ids = customers["customer_id"].to_numpy()
    return pd.DataFrame(
        {"customer_id": np.tile(ids, len(days)), "cutoff_at": np.repeat(days, len(ids))}
    )
