"""Build a ``/score`` history payload from contract tables (demo, tests, CRM examples)."""

from __future__ import annotations

import math

import pandas as pd

from data.contract import COMPLAINTS, CONTACTS, CUSTOMERS, EVENTS
from data.history import History


def _json_value(value: object) -> object:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _records(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, object]]:
    return [
        {c: _json_value(v) for c, v in zip(columns, row, strict=True)}
        for row in frame[columns].itertuples(index=False)
    ]


def history_payload(history: History, customer_id: str, before: pd.Timestamp) -> dict[str, object]:
    """The customer's profile and everything that started before ``before``, as JSON."""
    mine = history.for_customers([customer_id])
    if mine.customers.empty:
        raise KeyError(f"customer {customer_id} is not in the history")
    no_id = lambda cols: [c for c in cols if c != "customer_id"]  # noqa: E731
    return {
        "customer": _records(mine.customers, CUSTOMERS.column_names)[0],
        "contacts": _records(
            mine.contacts[mine.contacts["started_at"] < before], no_id(CONTACTS.column_names)
        ),
        "complaints": _records(
            mine.complaints[mine.complaints["filed_at"] < before], no_id(COMPLAINTS.column_names)
        ),
        "events": _records(
            mine.events[mine.events["occurred_at"] < before], no_id(EVENTS.column_names)
        ),
    }
