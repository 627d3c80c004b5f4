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


def label_window(history: History, cutoffs: pd.DataFrame, horizon_hours: int) -> np.ndarray:
    """1 where a complaint is filed in ``(t, t + horizon]``, else 0."""
    keys = normalise_cutoffs(cutoffs)
    index = pd.Index(history.customers["customer_id"])
    codes = index.get_indexer(keys["customer_id"])
    filed = EventStream(
        index.get_indexer(history.complaints["customer_id"]),
        history.complaints["filed_at"],
        rounding="ceil",
    )
    t = to_seconds(keys["cutoff_at"], "floor")
    return (filed.count_after(codes, t, horizon_hours * 3600) > 0).astype(np.int8)


def open_complaints(history: History, cutoffs: pd.DataFrame) -> np.ndarray:
    """Complaints filed before ``t`` and not resolved before ``t``."""
    keys = normalise_cutoffs(cutoffs)
    index = pd.Index(history.customers["customer_id"])
    codes = index.get_indexer(keys["customer_id"])
    t = to_seconds(keys["cutoff_at"], "floor")
    cp = history.complaints
    filed = EventStream(index.get_indexer(cp["customer_id"]), cp["filed_at"])
    resolved = EventStream(
        index.get_indexer(cp["customer_id"]), cp["resolved_at"]
    )  # NaT: still open
    return filed.count(codes, t) - resolved.count(codes, t)


def build_labels(
    history: History,
    cutoffs: pd.DataFrame,
    horizon_hours: int,
    exclude_open_complaints: bool = True,
) -> pd.DataFrame:
    """``customer_id, cutoff_at, label, eligible, censored`` for each cutoff, in order."""
    keys = normalise_cutoffs(cutoffs)
    signup = history.customers.set_index("customer_id")["signup_at"]
    signed_up = signup.reindex(keys["customer_id"]).to_numpy() < keys["cutoff_at"].to_numpy()
    eligible = signed_up.copy()
    if exclude_open_complaints:
        eligible &= open_complaints(history, keys) == 0
    horizon = pd.Timedelta(hours=horizon_hours)
    censored = (keys["cutoff_at"] + horizon > history.observed_until).to_numpy()
    return keys.assign(
        label=label_window(history, keys, horizon_hours),
        eligible=eligible,
        censored=censored,
    )


def daily_cutoffs(customers: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
    """Every customer at every midnight (UTC) from ``first`` to ``last`` inclusive."""
    days = pd.date_range(first.normalize(), last.normalize(), freq="D", tz="UTC").as_unit("ns")
    ids = customers["customer_id"].to_numpy()
    return pd.DataFrame(
        {"customer_id": np.tile(ids, len(days)), "cutoff_at": np.repeat(days, len(ids))}
    )
