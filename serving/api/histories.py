"""Posted histories, both ways: a request's histories as one validated history (one
contract pass per table), and a customer's history as the payload a CRM would post (the
demo, tests and examples build theirs so)."""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd

from data.contract import COMPLAINTS, CONTACTS, CUSTOMERS, EVENTS, validate_table
from data.history import History
from serving.api.schemas import CustomerHistory
from serving.fields import item_time_problems


def histories_from_request(
    posted: list[CustomerHistory],
    cutoff: pd.Timestamp,
    incidents: pd.DataFrame | None = None,
    observed_from: pd.Timestamp | None = None,
) -> tuple[History, list[list[str]], list[list[str]]]:
    """Posted histories -> one validated :class:`History` (one contract pass per table),
    observed from where the published data's observation starts (a CRM's history is read as
    the exports are).

    Returns (history, each item's problems that reject it, each item's warnings such as
    remapped categories). Messages name the table, column and problem, never a posted value
    other than an unknown category. A customer posted twice in one request is an error. A
    profile without ``signup_at`` is signed up when first seen, as exports are.
    """
    ids = [h.customer.customer_id for h in posted]
    first = {}
    for i, cid in enumerate(ids):
        first.setdefault(cid, i)
    keep = [i for i, cid in enumerate(ids) if first[cid] == i]
    rows: dict = {CUSTOMERS: [], CONTACTS: [], COMPLAINTS: [], EVENTS: []}
    for i in keep:
        h, cid = posted[i], ids[i]
        profile = h.customer.model_dump()
        if profile["signup_at"] is None:
            profile["signup_at"] = first_seen(h)
        rows[CUSTOMERS].append(profile)
        for schema, items in (
            (CONTACTS, h.contacts),
            (COMPLAINTS, h.complaints),
            (EVENTS, h.events),
        ):
            rows[schema].extend({**x.model_dump(), "customer_id": cid} for x in items)
    # Ids are unique per customer here, not across the request: one item's ids must not
    # collide with another's (no feature reads them).
    for schema, column in (
        (CONTACTS, "contact_id"),
        (COMPLAINTS, "complaint_id"),
        (EVENTS, "event_id"),
    ):
        for row in rows[schema]:
            if row.get(column) is not None:
                row[column] = f"{row['customer_id']}/{row[column]}"
    problems: dict[str, list[str]] = {cid: [] for cid in ids}
    warnings: dict[str, set[str]] = {cid: set() for cid in ids}
    for i in keep:  # a time that has not happened yet: the item fails, never its value shown
        problems[ids[i]].extend(_time_problems(posted[i]))
    frames = {}
    for schema, records in rows.items():
        raw = pd.DataFrame(records, columns=schema.column_names)
        valid, report = validate_table(raw, schema)
        frames[schema.name] = valid
        if report.n_rejected:
            for cid, reason in report.rejected.groupby("customer_id")["_reason"]:
                for text, count in reason.value_counts().items():
                    problems[str(cid)].append(f"{schema.name}.{text} ({count} row(s))")
        noted = report.row_warnings != ""
        if noted.any():
            for cid, note in zip(
                raw["customer_id"][noted], report.row_warnings[noted], strict=True
            ):
                warnings[str(cid)].update(n for n in note.split("\n") if n)
    item_problems = [
        problems[cid] if first[cid] == i else ["customer_id posted more than once in this request"]
        for i, cid in enumerate(ids)
    ]
    history = replace(
        History.from_frames(**frames, incidents=incidents, observed_until=cutoff),
        observed_from=observed_from,
    )
    item_warnings = [sorted(warnings[cid]) if first[cid] == i else [] for i, cid in enumerate(ids)]
    return history, item_problems, item_warnings


def _time_problems(history: CustomerHistory) -> list[str]:
    """``table.column: problem`` for each kind of time of a posted history that cannot have
    happened yet (or is too early), with how many rows have it."""
    found: dict[str, int] = {}
    for table, items in (
        ("customers", [history.customer]),
        ("contacts", history.contacts),
        ("complaints", history.complaints),
        ("events", history.events),
    ):
        for item in items:
            for problem in item_time_problems(item):
                key = f"{table}.{problem}"
                found[key] = found.get(key, 0) + 1
    return [f"{problem} ({count} row(s))" for problem, count in found.items()]


def first_seen(history: CustomerHistory) -> object:
    """The earliest contact, complaint or event of a posted history (None when it has none)."""
    times = [
        *(c.started_at for c in history.contacts),
        *(c.filed_at for c in history.complaints),
        *(e.occurred_at for e in history.events),
    ]
    return min(times, default=None)


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
