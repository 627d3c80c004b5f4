"""The event journal: contacts, complaints and operational events that arrive between daily
exports (posted to the service's ``/events``), kept in a SQLite file so a restart loses
nothing, and folded into the next daily build.

Rows enter through the contract (:func:`validate_table`), so the journal holds only valid
rows. Writes are idempotent by the contract's keys: the same row again is a duplicate; a
contact posted open and later again with its close time and outcome is an update; a row
that contradicts the recorded one (another customer, another start) is refused.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from data.contract import COMPLAINTS, CONTACTS, EVENTS, TableSchema, validate_table
from data.history import History

JOURNALED = {s.name: s for s in (CONTACTS, COMPLAINTS, EVENTS)}
# Columns a later post may fill in (a contact closes; a complaint is resolved).
OUTCOME_COLUMNS = {
    "contacts": (
        "closed_at",
        "wait_seconds",
        "handle_seconds",
        "transferred",
        "resolved",
        "sentiment",
    ),
    "complaints": ("resolved_at",),
    "events": (),
}
# The column whose arrival marks a row's outcome as known.
CLOSING_COLUMN = {"contacts": "closed_at", "complaints": "resolved_at"}


@dataclass(frozen=True)
class Outcome:
    """What happened to one posted row."""

    status: str  # "accepted", "updated", "duplicate" or "error"
    error: str | None = None


class EventJournal:
    """An append-mostly SQLite store of contract rows (one table per contract table)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # One connection, used under the lock: writes are small and the service's workers
        # are threads of one process.
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        # Write-ahead log with NORMAL sync: a committed write survives the process (a crash or
        # a restart of the service) and the file never corrupts; only an operating-system
        # crash may lose the last commits, which FULL would fsync per request at ~10 ms each.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        for schema in JOURNALED.values():
            columns = ", ".join(f'"{c}" TEXT' for c in schema.column_names)
            keys = ", ".join(f'"{k}"' for k in schema.key)
            self._db.execute(
                f'CREATE TABLE IF NOT EXISTS "{schema.name}" ({columns}, PRIMARY KEY ({keys}))'
            )
            # The service reads one customer's rows when its feature state changes.
            self._db.execute(
                f'CREATE INDEX IF NOT EXISTS "{schema.name}_customer" '
                f'ON "{schema.name}" (customer_id)'
            )

    def close(self) -> None:
        self._db.close()

    def record(self, table: str, rows: pd.DataFrame) -> list[Outcome]:
        """Validate ``rows`` (raw values; absent optional fields are null) against the
        contract and store the valid ones; one outcome per row, in order."""
        schema = JOURNALED[table]
        rows = rows.reset_index(drop=True).reindex(columns=schema.column_names)
        valid, report = validate_table(rows, schema)
        if table == "events":  # an event posted without an id is known by what it says
            valid = valid.assign(event_id=valid["event_id"].fillna(content_ids(valid)))
        outcomes = [Outcome("error", reason) for reason in _reasons(report.rejected, len(rows))]
        positions = [i for i, o in enumerate(outcomes) if o.error is None]
        with self._transaction():
            for position, (_, row) in zip(positions, valid.iterrows(), strict=True):
                outcomes[position] = self._upsert(schema, row)
        return outcomes

    def frames(self, customer_id: str | None = None) -> dict[str, pd.DataFrame]:
        """Every journaled row (of one customer when given), per table, typed by the contract."""
        where, args = (
            ("WHERE customer_id = ?", [customer_id]) if customer_id is not None else ("", [])
        )
        with self._lock:
            raw = {
                name: pd.read_sql_query(
                    f'SELECT * FROM "{name}" {where}', self._db, params=args, dtype=str
                )
                for name in JOURNALED
            }
        return {name: validate_table(frame, JOURNALED[name])[0] for name, frame in raw.items()}

    def fold_into(self, history: History) -> History:
        """``history`` with the journal's rows merged in by :func:`merge_rows`."""
        return fold(history, self.frames())

    # ------------------------------------------------------------------ internals
    def _upsert(self, schema: TableSchema, row: pd.Series) -> Outcome:
        values = {c: _text(row[c]) for c in schema.column_names}
        where = " AND ".join(f'"{k}" = ?' for k in schema.key)
        found = self._db.execute(
            f'SELECT * FROM "{schema.name}" WHERE {where}', [values[k] for k in schema.key]
        ).fetchone()
        if found is None:
            names = ", ".join(f'"{c}"' for c in values)
            marks = ", ".join("?" for _ in values)
            self._db.execute(
                f'INSERT INTO "{schema.name}" ({names}) VALUES ({marks})', list(values.values())
            )
            return Outcome("accepted")
        recorded = dict(zip(schema.column_names, found, strict=True))
        if recorded == values:
            return Outcome("duplicate")
        fixed = [c for c in schema.column_names if c not in OUTCOME_COLUMNS[schema.name]]
        clash = [c for c in fixed if recorded[c] != values[c]]
        if clash:
            return Outcome(
                "error", f"{schema.name} {'+'.join(schema.key)} already recorded with other {clash}"
            )
        changes = {c: v for c, v in values.items() if v is not None and recorded[c] != v}
        sets = ", ".join(f'"{c}" = ?' for c in changes)
        self._db.execute(
            f'UPDATE "{schema.name}" SET {sets} WHERE {where}',
            [*changes.values(), *[values[k] for k in schema.key]],
        )
        return Outcome("updated")

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")


# Events posted without an id get one made of what they say, so that posting the same event
# again (a retry) is a duplicate, and one the export also holds is not counted twice.
EVENT_CONTENT = ("customer_id", "occurred_at", "event_type", "amount")


def content_ids(events: pd.DataFrame) -> pd.Series:
    """An id per event row made of its customer, time, type and amount."""
    nanoseconds = events["occurred_at"].dt.tz_convert("UTC").dt.as_unit("ns").astype("int64")
    amount = events["amount"].to_numpy(dtype="float64", na_value=np.nan)
    text = [
        f"{customer}|{at}|{kind}|{value!r}"
        for customer, at, kind, value in zip(
            events["customer_id"].astype(object),
            nanoseconds,
            events["event_type"].astype(object),
            amount,
            strict=True,
        )
    ]
    ids = ["auto-" + hashlib.sha1(t.encode()).hexdigest()[:24] for t in text]
    return pd.Series(ids, index=events.index, dtype="str")


def fold(history: History, posted: dict[str, pd.DataFrame]) -> History:
    """``history`` with posted rows merged into its contacts, complaints and events."""
    tables = {
        name: merge_rows(getattr(history, name), posted[name], name)
        for name in JOURNALED
        if name in posted
    }
    return replace(history, **tables)


def merge_rows(exported: pd.DataFrame, posted: pd.DataFrame, table: str) -> pd.DataFrame:
    """Exported rows with posted rows merged in by the contract's key.

    The export is the system of record for the rows it holds, with one exception: a posted
    row that carries an outcome the exported one still lacks (a contact the export has open
    and the CRM has since closed, a complaint since resolved) replaces it. Posted rows the
    export lacks are added. Nightly builds and the service's online state both merge here.
    """
    if posted.empty:
        return exported
    key = list(JOURNALED[table].key)
    exported_keys, posted_keys = _keys(exported, key), _keys(posted, key)
    known = posted_keys.isin(exported_keys)
    if table == "events":  # exports may leave event ids out: the same content is the same event
        content = list(EVENT_CONTENT)
        known = known | _keys(posted, content).isin(_keys(exported, content))
    drop = np.zeros(len(exported), dtype=bool)
    closes = CLOSING_COLUMN.get(table)
    if closes is not None and known.any():
        newer = posted[known]
        position = exported_keys.get_indexer(posted_keys[known])
        fills = exported[closes].isna().to_numpy()[position] & newer[closes].notna().to_numpy()
        drop[position[fills]] = True
        known[np.flatnonzero(known)[fills]] = False
    added = posted[~known]
    if not drop.any() and added.empty:
        return exported
    return pd.concat([exported[~drop], added], ignore_index=True)


def _keys(frame: pd.DataFrame, key: list[str]) -> pd.MultiIndex:
    """Row keys comparable across frames: times as integer nanoseconds (their text depends
    on the precision of the rest of the column), everything else as text."""
    columns = {
        c: frame[c].dt.tz_convert("UTC").dt.as_unit("ns").astype("int64")
        if isinstance(frame[c].dtype, pd.DatetimeTZDtype)
        else frame[c].astype(str)
        for c in key
    }
    return pd.MultiIndex.from_frame(pd.DataFrame(columns))


def _text(value: object) -> str | None:
    """A validated value as the text the contract reads back (ISO times, plain numbers)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return str(value)


def _reasons(rejected: pd.DataFrame, n: int) -> list[str | None]:
    """Each input row's rejection reason (None for valid rows), from a contract report."""
    out: list[str | None] = [None] * n
    for index, reason in rejected["_reason"].items():
        out[int(index)] = reason
    return out
