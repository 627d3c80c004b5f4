"""The 48-hour label, eligibility and censoring at each (customer, cutoff).

- label: 1 when the customer files a complaint with ``filed_at`` in ``(t, t + horizon]``;
  a complaint exactly at ``t`` belongs to the previous cutoff's window, never to ``t``'s.
- eligible: signed up before ``t`` and (by default) no complaint open at ``t``, judged
  only on what was known before ``t``. A complaint counts as open until it is resolved,
  for at most ``open_complaint_days``: never for ever, so a customer who complained once
  (in an export without resolution times, or whose complaint was never closed) is scored
  again. The bound holds for every complaint, resolved later or not, so whether one is open
  at ``t`` never depends on a resolution recorded after ``t``.
- censored: ``t + horizon`` runs past the end of observation, so the label is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.history import History
from experiments.config import DEFAULT_OPEN_COMPLAINT_DAYS, LabelConfig
from features.build import normalise_cutoffs
from features.parameters import FeatureParameters
from features.pit import EventStream, to_seconds


@dataclass(frozen=True)
class LabelRules:
    """What is predicted and for whom (the configuration's ``labels:`` resolved with the
    open-complaint bound the model learnt)."""

    horizon_hours: int = 48
    exclude_open_complaints: bool = True
    open_complaint_days: float = DEFAULT_OPEN_COMPLAINT_DAYS


def label_rules(labels: LabelConfig, parameters: FeatureParameters) -> LabelRules:
    """The rules a model was trained with: the configured horizon and exclusion, and the
    model's own open-complaint bound (the list, the service and Spark all use this)."""
    return LabelRules(
        labels.horizon_hours, labels.exclude_open_complaints, parameters.open_complaint_days
    )


@dataclass(frozen=True)
class LabelRows:
    """Label, eligibility and why not, for some (customer, cutoff) pairs."""

    label: np.ndarray  # int8: a complaint within the horizon
    signed_up: np.ndarray  # known customer, signed up before the cutoff
    complaint_open: np.ndarray  # a complaint open at the cutoff
    eligible: np.ndarray  # signed up and, when the rules exclude them, no complaint open
    censored: np.ndarray  # the horizon runs past the end of observation


class LabelEngine:
    """Label, eligibility and censoring of any customer at any cutoff, with the complaint
    streams sorted once (a training grid asks for every customer at every day).

    Customers are addressed by their position in ``history.customers``; cutoffs are whole
    seconds as :func:`features.pit.to_seconds` gives them.
    """

    def __init__(self, history: History, rules: LabelRules) -> None:
        self.rules = rules
        self.index = pd.Index(history.customers["customer_id"])
        cp = history.complaints
        codes = self.index.get_indexer(cp["customer_id"])
        # Labels look at (t, t + h]: complaint times are ceiled so a sub-second time at a
        # boundary never falls into a cutoff's past. Open complaints look before t.
        self.filed_ahead = EventStream(codes, cp["filed_at"], rounding="ceil")
        self.filed = EventStream(codes, cp["filed_at"])
        self.resolved = EventStream(codes, closing_times(cp, rules.open_complaint_days))
        self.signup = to_seconds(history.customers["signup_at"], "floor")
        self.horizon = rules.horizon_hours * 3600
        self.last_labelled = to_seconds([history.observed_until], "floor")[0] - self.horizon

    def at(self, codes: np.ndarray, t: np.ndarray) -> LabelRows:
        """Label, eligibility and censoring of customers ``codes`` (-1: unknown) at ``t``."""
        known = codes >= 0
        safe = np.where(known, codes, 0)
        label = (self.filed_ahead.count_after(safe, t, self.horizon) > 0) & known
        signed_up = known & (self.signup[safe] < t)
        complaint_open = known & (self.filed.count(safe, t) - self.resolved.count(safe, t) > 0)
        eligible = signed_up & ~complaint_open if self.rules.exclude_open_complaints else signed_up
        # t + horizon past the end of observation (integer seconds: exact).
        censored = t > self.last_labelled
        return LabelRows(label.astype(np.int8), signed_up, complaint_open, eligible, censored)


def closing_times(complaints: pd.DataFrame, open_days: float) -> pd.Series:
    """When each complaint stops counting as open: its resolution, but no later than
    ``open_days`` after it was filed (the export may lack the column, or the row the value).

    Bounding every complaint, not only those without a resolution time, keeps the rule
    point-in-time: at any moment a complaint unresolved so far counts as open for the same
    time whether or not a later export records when it was resolved."""
    bound = complaints["filed_at"] + pd.Timedelta(days=open_days)
    resolved = complaints["resolved_at"].fillna(bound)
    return resolved.where(resolved < bound, bound)


def build_labels(history: History, cutoffs: pd.DataFrame, rules: LabelRules) -> pd.DataFrame:
    """``customer_id, cutoff_at, label, eligible, censored, signed_up, complaint_open`` for
    each cutoff, in order (see :class:`LabelRows`)."""
    keys = normalise_cutoffs(cutoffs)
    engine = LabelEngine(history, rules)
    rows = engine.at(
        engine.index.get_indexer(keys["customer_id"]), to_seconds(keys["cutoff_at"], "floor")
    )
    return keys.assign(
        label=rows.label,
        eligible=rows.eligible,
        censored=rows.censored,
        signed_up=rows.signed_up,
        complaint_open=rows.complaint_open,
    )


def daily_cutoffs(customers: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
    """Every customer at every midnight (UTC) from ``first`` to ``last`` inclusive."""
    days = pd.date_range(first.normalize(), last.normalize(), freq="D", tz="UTC").as_unit("ns")
    ids = customers["customer_id"].to_numpy()
    return pd.DataFrame(
        {"customer_id": np.tile(ids, len(days)), "cutoff_at": np.repeat(days, len(ids))}
    )
