"""The validated input of the feature code: all tables of the contract, in memory."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from data.contract import SCHEMAS


@dataclass(frozen=True)
class History:
    """Customers, their contacts, complaints, events and regional incidents.

    Frames follow :mod:`data.contract` (validated, UTC nanosecond timestamps).
    ``observed_until`` is the end of the observation window: nothing after it is known,
    so label windows that run past it are censored. ``absent`` names the inputs
    ("table.column") the source did not have: their columns are null here, and the features
    that need them are left out of any model trained on it. ``derived`` names the inputs
    filled in from others (sign-up times from each customer's first activity).
    ``observed_from`` is the start of observation: nothing before it is in the data, so a
    window reaching back before it saw only part of what happened (None: the history is
    complete, e.g. a history a CRM posts).
    """

    customers: pd.DataFrame
    contacts: pd.DataFrame
    complaints: pd.DataFrame
    events: pd.DataFrame
    incidents: pd.DataFrame
    observed_until: pd.Timestamp
    absent: frozenset[str] = frozenset()
    derived: frozenset[str] = frozenset()
    observed_from: pd.Timestamp | None = None

    @classmethod
    def from_frames(
        cls,
        customers: pd.DataFrame,
        contacts: pd.DataFrame | None = None,
        complaints: pd.DataFrame | None = None,
        events: pd.DataFrame | None = None,
        incidents: pd.DataFrame | None = None,
        observed_until: pd.Timestamp | None = None,
    ) -> History:
        """Build from already valid frames; missing tables become empty ones."""
        tables = {
            "customers": customers,
            "contacts": contacts if contacts is not None else SCHEMAS["contacts"].empty(),
            "complaints": complaints if complaints is not None else SCHEMAS["complaints"].empty(),
            "events": events if events is not None else SCHEMAS["events"].empty(),
            "incidents": incidents if incidents is not None else SCHEMAS["incidents"].empty(),
        }
        if observed_until is None:
            observed_until = latest_timestamp(tables)
        return cls(**tables, observed_until=pd.Timestamp(observed_until))

    def with_observed_from(self, start: pd.Timestamp | None) -> History:
        """The same history, its observation starting at ``start``."""
        return replace(self, observed_from=start)

    def for_customers(self, customer_ids: list[str]) -> History:
        """The part of the history that belongs to these customers (incidents are regional)."""
        ids = set(customer_ids)
        return History(
            customers=self.customers[self.customers["customer_id"].isin(ids)],
            contacts=self.contacts[self.contacts["customer_id"].isin(ids)],
            complaints=self.complaints[self.complaints["customer_id"].isin(ids)],
            events=self.events[self.events["customer_id"].isin(ids)],
            incidents=self.incidents,
            observed_until=self.observed_until,
            absent=self.absent,
            derived=self.derived,
            observed_from=self.observed_from,
        )


TIME_COLUMNS = {
    "customers": ("signup_at",),
    "contacts": ("started_at", "closed_at"),
    "complaints": ("filed_at", "resolved_at"),
    "events": ("occurred_at",),
    "incidents": ("started_at", "ended_at"),
}


def first_activity(tables: dict[str, pd.DataFrame]) -> pd.Timestamp | None:
    """The earliest contact, complaint or event: where an export's observation starts (sign-ups
    may be years older). None when there is none."""
    first = [
        tables[name][column].min()
        for name, column in (
            ("contacts", "started_at"),
            ("complaints", "filed_at"),
            ("events", "occurred_at"),
        )
        if name in tables and len(tables[name])
    ]
    first = [t for t in first if pd.notna(t)]
    return min(first) if first else None


def latest_timestamp(tables: dict[str, pd.DataFrame]) -> pd.Timestamp:
    """The latest timestamp found in any table (a fallback for ``observed_until``)."""
    latest = [
        tables[name][col].max()
        for name, cols in TIME_COLUMNS.items()
        for col in cols
        if name in tables and len(tables[name])
    ]
    latest = [t for t in latest if pd.notna(t)]
    if not latest:
        raise ValueError("history has no timestamps at all: cannot tell when it ends")
    return max(latest)
