"""The event journal: contacts, complaints and operational events that arrive between daily
exports (posted to the service's ``/events``), kept in a database so that a restart loses
nothing, every replica of the service sees them, and the next daily build folds them in.

SQLite in the workspace by default; PostgreSQL (or any database SQLAlchemy reaches) by URL,
so that several service processes share one journal. Rows enter through the contract
(:func:`~data.contract.validate_table`, the one validation), are stored typed and read back
typed. Writes are idempotent by the contract's keys and correct for any subset of columns:
a value posted where the recorded row has none fills it in; an outcome that differs
(a contact closed, a complaint resolved, a correction) updates it; a row that says nothing
new (the same row again, or an older, partial version of it, as a retry sends) is a
duplicate; another customer or start for a recorded id is refused. Each row succeeds or
fails alone. Every accepted or updated row also appends a change (a running number, the
table and the customer), which other service processes follow to apply it.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from data.contract import COMPLAINTS, CONTACTS, EVENTS, MAX_ID_LENGTH, TableSchema, validate_table
from data.history import History

JOURNALED = {s.name: s for s in (CONTACTS, COMPLAINTS, EVENTS)}
# Columns whose later value corrects the recorded one (a contact closes and gets its outcome;
# a complaint is resolved). Any other recorded value may only be filled in, never changed.
CORRECTABLE = {
    "contacts": ("closed_at", "wait_seconds", "handle_seconds", "transferred", "resolved", "sentiment"),
    "complaints": ("resolved_at",),
    "events": (),
}  # fmt: skip
# The column whose arrival marks a row's outcome as known.
CLOSING_COLUMN = {"contacts": "closed_at", "complaints": "resolved_at"}
# Events posted without an id get one made of what they say, so that posting the same event
# again (a retry) is a duplicate, and one the export also holds is not counted twice.
EVENT_CONTENT = ("customer_id", "occurred_at", "event_type", "amount")
CHANGES = "journal_changes"

_SQL_TYPES = {
    "id": sa.String(MAX_ID_LENGTH),
    "category": sa.Text(),
    "text": sa.Text(),
    "time": sa.DateTime(timezone=False),  # naive UTC on every backend: one representation
    "float": sa.Float(precision=53),
    "int": sa.Integer(),
    "bool": sa.Boolean(),
}


def _tables(metadata: sa.MetaData) -> dict[str, sa.Table]:
    tables = {
        name: sa.Table(
            name,
            metadata,
            *(
                sa.Column(c.name, _SQL_TYPES[c.kind], primary_key=c.name in schema.key)
                for c in schema.columns
            ),
            sa.Index(f"{name}_customer", "customer_id"),
        )
        for name, schema in JOURNALED.items()
    }
    tables[CHANGES] = sa.Table(
        CHANGES,
        metadata,
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("table_name", sa.String(16), nullable=False),
        sa.Column("customer_id", sa.String(MAX_ID_LENGTH), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=False), nullable=False),
    )
    return tables


@dataclass(frozen=True)
class Recorded:
    """What happened to one posted row."""

    status: str  # "accepted", "updated", "duplicate" or "error"
    error: str | None = None


def journal_exists(url: str) -> bool:
    """Whether there may be a journal at ``url`` to fold in (a SQLite file that was never
    written is not made by asking)."""
    if not url.startswith("sqlite:///"):
        return True
    return Path(url.removeprefix("sqlite:///")).exists()


class EventJournal:
    """Journaled contract rows in the database at ``url`` (tables made when missing)."""

    def __init__(self, url: str | Path) -> None:
        url = str(url) if "://" in str(url) else f"sqlite:///{Path(url).resolve()}"
        database = sa.engine.make_url(url)
        self.sqlite = database.get_backend_name() == "sqlite"
        if self.sqlite and database.database:
            Path(database.database).parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: a failed statement never carries posted values into a log line.
        self.engine = sa.create_engine(url, pool_pre_ping=not self.sqlite, hide_parameters=True)
        if self.sqlite:
            sa.event.listen(self.engine, "connect", _sqlite_settings)
            sa.event.listen(self.engine, "begin", _sqlite_begin)
        metadata = sa.MetaData()
        self.tables = _tables(metadata)
        metadata.create_all(self.engine)
        # SQLite takes one writer at a time; threads of one process queue here rather than
        # fail on a busy database.
        self._write = threading.Lock() if self.sqlite else _NoLock()

    def close(self) -> None:
        self.engine.dispose()

    def record(self, table: str, rows: pd.DataFrame) -> list[Recorded]:
        """Validate ``rows`` (raw values; absent optional fields are null) against the
        contract and store the valid ones; one result per row, in order. A row that fails
        the contract or clashes with a recorded one never takes the others with it; a
        database that refuses the write (disk full) fails the call whole, and since every
        write is idempotent, the caller may simply retry. Versions of one row posted together
        (opened, then closed) are applied in the order posted."""
        schema = JOURNALED[table]
        rows = rows.reset_index(drop=True).reindex(columns=schema.column_names)
        results: list[Recorded] = [Recorded("error", "not recorded")] * len(rows)
        version = _versions(rows, schema.key)
        with self._write, self.engine.connect() as db:
            db.info["writes"] = True  # SQLite: take the write lock first (see _sqlite_begin)
            with db.begin():
                for wave in range(int(version.max(initial=-1)) + 1):
                    positions = np.flatnonzero(version == wave)
                    done = self._record_rows(db, schema, rows.iloc[positions])
                    for position, result in zip(positions, done, strict=True):
                        results[position] = result
        return results

    def _record_rows(
        self, db: sa.Connection, schema: TableSchema, rows: pd.DataFrame
    ) -> list[Recorded]:
        """Rows of distinct keys through the contract, then into the database."""
        valid, report = validate_table(rows.reset_index(drop=True), schema)
        if schema.name == "events":  # an event posted without an id is known by what it says
            valid = valid.assign(event_id=valid["event_id"].fillna(content_ids(valid)))
        results = [Recorded("error", reason) for reason in _reasons(report.rejected, len(rows))]
        positions = [i for i, r in enumerate(results) if r.error is None]
        for position, values in zip(positions, _records(valid, schema), strict=True):
            results[position] = self._upsert(db, schema, values)
        return results

    def frames(self, customer_id: str | None = None) -> dict[str, pd.DataFrame]:
        """Every journaled row (of one customer when given), per table, typed as the contract
        types them."""
        out = {}
        with self.engine.connect() as db:
            for name, schema in JOURNALED.items():
                query = sa.select(self.tables[name])
                if customer_id is not None:
                    query = query.where(self.tables[name].c.customer_id == customer_id)
                out[name] = _typed(db.execute(query).mappings().all(), schema)
        return out

    def changes_after(self, seq: int) -> list[tuple[int, str]]:
        """(running number, customer) of every change after ``seq``, in order."""
        changes = self.tables[CHANGES]
        with self.engine.connect() as db:
            rows = db.execute(
                sa.select(changes.c.seq, changes.c.customer_id)
                .where(changes.c.seq > seq)
                .order_by(changes.c.seq)
            ).all()
        return [(int(r.seq), r.customer_id) for r in rows]

    def latest_change(self, older_than_seconds: float = 0.0) -> int:
        """The running number of the latest change recorded at least this long ago (0 for
        none)."""
        changes = self.tables[CHANGES]
        before = datetime.now(UTC).replace(tzinfo=None) - pd.Timedelta(seconds=older_than_seconds)
        query = sa.select(sa.func.max(changes.c.seq)).where(changes.c.recorded_at <= before)
        with self.engine.connect() as db:
            return db.execute(query).scalar() or 0

    def fold_into(self, history: History) -> History:
        """``history`` with the journal's rows merged in by :func:`merge_rows`."""
        return fold(history, self.frames())

    # ------------------------------------------------------------------ internals
    def _upsert(self, db: sa.Connection, schema: TableSchema, values: dict) -> Recorded:
        if self.sqlite:  # one writer at a time (BEGIN IMMEDIATE): no insert can race this one
            return self._apply(db, schema, values)
        try:
            with db.begin_nested():  # a savepoint: a lost race costs only this row's attempt
                return self._apply(db, schema, values)
        except sa.exc.IntegrityError:  # another replica inserted the key meanwhile
            with db.begin_nested():
                return self._apply(db, schema, values)

    def _apply(self, db: sa.Connection, schema: TableSchema, values: dict) -> Recorded:
        """Insert a new row, fill in what a recorded one lacks, or say why not."""
        table = self.tables[schema.name]
        key = [table.c[k] == values[k] for k in schema.key]
        found = db.execute(sa.select(table).where(*key)).mappings().first()
        if found is None:
            db.execute(table.insert().values(**values))
            self._changed(db, schema.name, values["customer_id"])
            return Recorded("accepted")
        fixed = [c for c in schema.column_names if c not in CORRECTABLE[schema.name]]
        clash = [c for c in fixed if _differs(found[c], values[c]) and found[c] is not None]
        if clash:
            what = "+".join(schema.key)
            return Recorded("error", f"{schema.name} {what} already recorded with other {clash}")
        changes = {c: v for c, v in values.items() if v is not None and _differs(found[c], v)}
        if not changes:  # the same row again, or an older version of it
            return Recorded("duplicate")
        db.execute(table.update().where(*key).values(**changes))
        self._changed(db, schema.name, values["customer_id"])
        return Recorded("updated")

    def _changed(self, db: sa.Connection, table: str, customer_id: str) -> None:
        db.execute(
            self.tables[CHANGES]
            .insert()
            .values(
                table_name=table,
                customer_id=customer_id,
                recorded_at=datetime.now(UTC).replace(tzinfo=None),
            )
        )


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _sqlite_settings(connection: object, _: object) -> None:
    """Write-ahead log with NORMAL sync: a committed write survives the process (a crash or
    a restart of the service) and the file never corrupts; only an operating-system crash
    may lose the last commits, which FULL would fsync per request at ~10 ms each. A busy
    database (another process writing) is waited for, not failed. Transactions are begun
    here (see _sqlite_begin), so savepoints work."""
    connection.isolation_level = None
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _sqlite_begin(connection: sa.Connection) -> None:
    """A writing transaction takes SQLite's write lock at once (waited for while another
    process holds it), so two writers never deadlock upgrading a read."""
    immediate = connection.info.pop("writes", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _versions(rows: pd.DataFrame, key: tuple[str, ...]) -> np.ndarray:
    """Per row, how many rows of the same key came before it in the request (0: the first
    version). Rows without a whole key (events posted without ids) are never versions of
    another. Plain Python: a request holds a few rows."""
    seen: dict[tuple, int] = {}
    version = np.zeros(len(rows), dtype=np.int64)
    for i, values in enumerate(zip(*(rows[k].tolist() for k in key), strict=True)):
        if any(_missing(v) for v in values):
            continue
        version[i] = seen.get(values, 0)
        seen[values] = version[i] + 1
    return version


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or value != value


def _records(valid: pd.DataFrame, schema: TableSchema) -> Iterable[dict]:
    """Validated rows as plain values the database stores (naive UTC times, None for null)."""
    kinds = {c.name: c.kind for c in schema.columns}
    names = list(valid.columns)
    columns = [valid[name].tolist() for name in names]
    for values in zip(*columns, strict=True):
        yield {name: _plain(value, kinds[name]) for name, value in zip(names, values, strict=True)}


def _plain(value: object, kind: str) -> object:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if kind == "time":
        return pd.Timestamp(value).tz_convert("UTC").tz_localize(None).to_pydatetime()
    if kind == "bool":
        return bool(value)
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    return str(value)


def _differs(recorded: object, posted: object) -> bool:
    if recorded is None or posted is None:
        return recorded is not posted
    return recorded != posted


def _typed(rows: list, schema: TableSchema) -> pd.DataFrame:
    """Database rows as a frame of the contract's columns and dtypes."""
    frame = pd.DataFrame([dict(r) for r in rows], columns=schema.column_names)
    typed = schema.empty().reindex(range(len(frame)))
    for column in schema.columns:
        values = frame[column.name]
        if column.kind == "time":
            typed[column.name] = pd.to_datetime(values, utc=True).dt.as_unit("ns")
        elif len(frame):
            typed[column.name] = values.astype(typed[column.name].dtype)
    return typed


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


def _reasons(rejected: pd.DataFrame, n: int) -> list[str | None]:
    """Each input row's rejection reason (None for valid rows), from a contract report."""
    out: list[str | None] = [None] * n
    for index, reason in rejected["_reason"].items():
        out[int(index)] = reason
    return out


class ChangeFollower:
    """Where one process is in the journal's change log, so that it applies what any other
    process (a replica, a worker) recorded.

    On a shared database, writes commit out of order: a running number is taken at insert
    and seen only at commit, so a later number can be visible before an earlier one. A gap
    is therefore waited for, up to ``settle_seconds``, before it is passed over (a write
    that was rolled back leaves one for ever). Starting, the follower takes the changes of
    the last ``settle_seconds`` as new: marking a customer changed twice costs one rebuild,
    missing one would serve a stale score.
    """

    def __init__(
        self, journal: EventJournal, settle_seconds: float = 30.0, clock=time.monotonic
    ) -> None:
        self.journal, self.settle_seconds, self.clock = journal, settle_seconds, clock
        self.applied = journal.latest_change(older_than_seconds=settle_seconds)
        self._ahead: set[int] = set()  # seen numbers beyond a gap
        self._gap: tuple[int, float] | None = None  # (first missing number, since when)

    def poll(self) -> set[str]:
        """Customers with changes not seen before (each change is reported once)."""
        rows = self.journal.changes_after(self.applied)
        fresh = {customer for seq, customer in rows if seq not in self._ahead}
        self._ahead.update(seq for seq, _ in rows)
        self._advance()
        if self._ahead:
            missing, now = self.applied + 1, self.clock()
            if self._gap is None or self._gap[0] != missing:
                self._gap = (missing, now)
            elif now - self._gap[1] > self.settle_seconds:  # never coming: pass it over
                self.applied = min(self._ahead) - 1
                self._advance()
        if not self._ahead:
            self._gap = None
        return fresh

    def _advance(self) -> None:
        while self.applied + 1 in self._ahead:
            self.applied += 1
            self._ahead.discard(self.applied)
