"""The input data contract: table schemas declared once and one validator for every boundary.

Every table that enters the system (files on disk, the simulator's output, a history posted
to the service) goes through :func:`validate_table`. It never drops a row silently: rows
that break the contract come back in ``TableReport.rejected`` with a ``_reason`` column,
and values outside a closed vocabulary are mapped to ``other`` with a warning.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import numpy as np
import pandas as pd

ColumnKind = Literal["id", "time", "float", "int", "bool", "category", "text"]

FALLBACK_CATEGORY = "other"  # what a value outside a closed vocabulary becomes
# Plausible time range: also keeps times inside what pandas and the window keys can hold.
EARLIEST_TIME = pd.Timestamp("1950-01-01", tz="UTC")
LATEST_TIME = pd.Timestamp("2200-01-01", tz="UTC")
EXAMPLES_PER_ISSUE = 3
# Words an export writes for "no value". They mean missing only in typed columns (times,
# numbers, flags); in ids and text they are data (a region may be called "NA").
NULL_TOKENS = frozenset({"na", "n/a", "nan", "null", "none", "nat", "-"})
# Plausible bounds: a queue or a handling time over 30 days, or an amount beyond a billion,
# is a unit or export error, and would otherwise dominate every sum it enters.
MAX_DURATION_SECONDS = 30 * 86_400
MAX_AMOUNT = 1e9
MAX_ID_LENGTH = 128


class ContractError(ValueError):
    """A table cannot be used at all (missing table or required column)."""


@dataclass(frozen=True)
class Column:
    """One declared column: its kind, nullability and allowed values."""

    name: str
    kind: ColumnKind
    nullable: bool = False
    # Must be present in the input. An optional column that is absent is filled with null
    # and named in the report (``TableReport.absent``): the features that need it are off.
    required: bool = True
    # A closed vocabulary: values outside it are mapped to ``other`` with a warning. Empty
    # (the default for ``category`` columns): the data's own words, trimmed and lower-cased.
    categories: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    description: str = ""  # what it means (the API's documentation reads it)
    example: object = None


@dataclass(frozen=True)
class TableSchema:
    """A table of the contract: columns, primary key and time-order checks. Rows whose key
    is not whole (an optional id left out) are never duplicates of each other."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    # (earlier, later): when both are set, later must not precede earlier.
    ordered: tuple[tuple[str, str], ...] = ()
    optional: bool = False

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def empty(self) -> pd.DataFrame:
        """An empty frame with this table's columns and dtypes."""
        return pd.DataFrame({c.name: pd.Series(dtype=_DTYPES[c.kind]) for c in self.columns})


_DTYPES: dict[str, object] = {
    "id": "str",
    "time": "datetime64[ns, UTC]",
    "float": "float64",
    "int": "Int64",
    "bool": "boolean",
    "category": "str",
    "text": "str",
}


def _optional(name: str, kind: ColumnKind, description: str, example: object, **rules) -> Column:
    """A column an export may leave out, or leave empty in a row."""
    return Column(
        name, kind, nullable=True, required=False, description=description, example=example, **rules
    )


CUSTOMER_ID = "Customer id as in the CRM."

CUSTOMERS = TableSchema(
    name="customers",
    columns=(
        Column("customer_id", "id", description=CUSTOMER_ID, example="C000042"),
        Column(
            "signup_at",
            "time",
            required=False,
            description="When the customer signed up (absent: when first seen).",
            example="2024-03-01T10:00:00Z",
        ),
        # A profile value left empty is unknown, not a reason to drop the customer (and with
        # them every contact they made).
        _optional("segment", "category", "Customer segment, in the company's own words.", "retail"),
        _optional(
            "region", "text", "Service region (regional incidents are matched on it).", "north"
        ),
        _optional("age_band", "category", "Age band, in the company's own words.", "30-44"),
        _optional("plan", "category", "Plan or product, in the company's own words.", "standard"),
        _optional("bill_day", "int", "Day of the month the bill is issued.", 12, min=1, max=28),
    ),
    key=("customer_id",),
    # Absent: derived from contacts and complaints (first seen = signed up).
    optional=True,
)

CONTACTS = TableSchema(
    name="contacts",
    columns=(
        Column("contact_id", "id", description="Unique contact id.", example="K1"),
        Column("customer_id", "id", description=CUSTOMER_ID, example="C000042"),
        Column(
            "started_at",
            "time",
            description="When the contact started.",
            example="2026-05-28T14:02:00Z",
        ),
        _optional(
            "closed_at",
            "time",
            "When it closed; null while open (the outcome fields are known then).",
            "2026-05-28T14:20:00Z",
        ),
        # A contact of unknown channel or reason is still a contact (it counts in no slot).
        _optional(
            "channel",
            "category",
            "Channel, in the company's own words (phone, chat, ...).",
            "phone",
        ),
        _optional("reason", "category", "Contact reason, in the company's own words.", "billing"),
        _optional(
            "wait_seconds", "float", "Seconds in the queue.", 2400, min=0, max=MAX_DURATION_SECONDS
        ),
        _optional(
            "handle_seconds", "float", "Seconds of handling.", 420, min=0, max=MAX_DURATION_SECONDS
        ),
        _optional("transferred", "bool", "Whether the contact was transferred.", False),
        _optional("resolved", "bool", "Whether the issue was resolved; known at close.", False),
        _optional(
            "sentiment",
            "float",
            "-100 (furious) to 100 (delighted); known at close.",
            -85,
            min=-100,
            max=100,
        ),
    ),
    key=("contact_id",),
    ordered=(("started_at", "closed_at"),),
)

COMPLAINTS = TableSchema(
    name="complaints",
    columns=(
        Column("complaint_id", "id", description="Unique complaint id.", example="Q1"),
        Column("customer_id", "id", description=CUSTOMER_ID, example="C000042"),
        Column(
            "filed_at", "time", description="When it was filed.", example="2026-05-29T09:00:00Z"
        ),
        _optional("resolved_at", "time", "When it was resolved; null while open.", None),
        _optional(
            "category", "category", "Complaint category, in the company's own words.", "billing"
        ),
        _optional("severity", "int", "1 critical, 2 standard, 3 minor.", 2, min=1, max=3),
        _optional("channel", "category", "Channel it came through.", "email"),
    ),
    key=("complaint_id",),
    ordered=(("filed_at", "resolved_at"),),
)

EVENTS = TableSchema(
    name="events",
    columns=(
        # Optional: without ids, identical rows are separate events and all count (real logs
        # open several incidents on one item in the same second).
        _optional(
            "event_id",
            "id",
            "Unique event id; without one an event is known by what it says (posting the same "
            "event again is a duplicate).",
            "E1",
        ),
        Column("customer_id", "id", description=CUSTOMER_ID, example="C000042"),
        Column(
            "occurred_at", "time", description="When it happened.", example="2026-05-29T06:00:00Z"
        ),
        Column(
            "event_type",
            "category",
            description="What happened, in the company's own words; payment_failed, "
            "deduction_delayed, order_delayed, app_error, bill_issued and refund also feed "
            "families of their own.",
            example="payment_failed",
        ),
        _optional(
            "amount", "float", "Amount involved, if any.", 49.9, min=-MAX_AMOUNT, max=MAX_AMOUNT
        ),
    ),
    key=("event_id",),
    optional=True,
)

INCIDENTS = TableSchema(
    name="incidents",
    columns=(
        Column("region", "text", description="Region affected.", example="north"),
        Column(
            "started_at", "time", description="When it started.", example="2026-05-29T06:00:00Z"
        ),
        Column("ended_at", "time", nullable=True, description="When it ended; null while running."),
        Column(
            "severity",
            "int",
            min=1,
            max=3,
            description="1 critical, 2 standard, 3 minor.",
            example=2,
        ),
    ),
    key=("region", "started_at"),
    ordered=(("started_at", "ended_at"),),
    optional=True,
)

SCHEMAS: dict[str, TableSchema] = {
    s.name: s for s in (CUSTOMERS, CONTACTS, COMPLAINTS, EVENTS, INCIDENTS)
}


@dataclass
class Issue:
    """One kind of problem found in one column of a table."""

    table: str
    column: str
    problem: str
    count: int
    examples: list[str]  # "line 14, contact_id K7: 'abc'": where, which row, what value
    severity: Literal["rejected", "warning"] = "rejected"

    def __str__(self) -> str:
        what = "rows set aside" if self.severity == "rejected" else "rows changed"
        return (
            f"{self.table}.{self.column}: {self.problem} ({self.count} {what}; "
            f"e.g. {'; '.join(self.examples)})"
        )


@dataclass
class TableReport:
    """What validation did to one table."""

    table: str
    n_input: int
    n_valid: int
    rejected: pd.DataFrame
    issues: list[Issue] = field(default_factory=list)
    # Per input row: the warnings that changed it ("" for none), so a batch of many
    # customers' rows validated at once can tell each customer what happened to theirs.
    row_warnings: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    absent: list[str] = field(default_factory=list)  # optional columns not in the input
    # Where the valid rows came from (see SOURCE_ROWS), so rows set aside later (a customer
    # missing from customers) still name their line: the input's source column and, per
    # valid row, its position in the input.
    source: pd.Series | None = None
    positions: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def n_rejected(self) -> int:
        return len(self.rejected)

    def summary(self) -> dict[str, object]:
        return {
            "table": self.table,
            "rows_in": self.n_input,
            "rows_valid": self.n_valid,
            "rows_rejected": self.n_rejected,
            "absent_columns": list(self.absent),
            "issues": [
                {
                    "column": i.column,
                    "problem": i.problem,
                    "count": i.count,
                    "severity": i.severity,
                    "examples": [str(e) for e in i.examples],
                }
                for i in self.issues
            ],
        }


def validate_table(raw: pd.DataFrame, schema: TableSchema) -> tuple[pd.DataFrame, TableReport]:
    """Coerce ``raw`` to ``schema``; return (valid rows, report with the rejected rows).

    Raises :class:`ContractError` only when the table as a whole is unusable (a required
    column is missing). Row-level problems never raise.
    """
    missing = [c.name for c in schema.columns if c.required and c.name not in raw.columns]
    if missing:
        raise ContractError(
            f"table '{schema.name}' is missing required column(s) {missing}; "
            f"it has {sorted(map(str, raw.columns))}"
        )
    raw = raw.reset_index(drop=True)
    absent = [c.name for c in schema.columns if c.name not in raw.columns]
    if len(raw) <= SMALL_TABLE_ROWS:
        valid, report = _validate_rows(raw, schema)
        report.absent = absent
        return valid, report
    checks = _ColumnChecks(raw, schema)
    frame = pd.DataFrame({col.name: checks.column(col) for col in schema.columns})
    for earlier, later in schema.ordered:
        bad = (frame[later] < frame[earlier]).fillna(False).to_numpy()
        shown = raw[later] if later in raw.columns else frame[later]
        checks.flag(bad, later, f"before {earlier}", shown)
    ok = checks.reasons == ""
    whole = frame[list(schema.key)].notna().all(axis=1).to_numpy()
    dup = frame.duplicated(subset=list(schema.key), keep="first").to_numpy() & ok & whole
    checks.flag(dup, "+".join(schema.key), "duplicate key", frame[list(schema.key)])

    ok = checks.reasons == ""
    rejected = raw.loc[~ok].copy()
    rejected["_reason"] = checks.reasons[~ok]
    valid = frame.loc[ok].reset_index(drop=True)
    report = TableReport(
        schema.name, len(raw), int(ok.sum()), rejected, checks.issues, checks.row_warnings, absent
    )
    return valid, _with_sources(report, raw, ok)


class _ColumnChecks:
    """The vectorised checks of one raw table: each row's first problem, the issues found
    and the per-row warnings (unknown categories), gathered as the columns are coerced."""

    def __init__(self, raw: pd.DataFrame, schema: TableSchema) -> None:
        self.raw, self.schema, self.n = raw, schema, len(raw)
        self.reasons = np.full(self.n, "", dtype=object)
        self.row_warnings = np.full(self.n, "", dtype=object)
        self.issues: list[Issue] = []
        self.where = _Locator(raw, schema)

    def flag(
        self,
        mask: np.ndarray,
        column: str,
        problem: str,
        values: pd.Series | pd.DataFrame | np.ndarray,
    ) -> None:
        mask = np.asarray(mask, dtype=bool) & (self.reasons == "")  # first reason wins
        if not mask.any():
            return
        self.reasons[mask] = f"{column}: {problem}"
        rows = np.flatnonzero(mask)[:EXAMPLES_PER_ISSUE]
        if isinstance(values, pd.DataFrame):
            shown = values.iloc[rows].astype(str).agg("|".join, axis=1).tolist()
        else:
            shown = list(values.iloc[rows] if isinstance(values, pd.Series) else values[rows])
        examples = [self.where.describe(i, v) for i, v in zip(rows, shown, strict=True)]
        self.issues.append(Issue(self.schema.name, column, problem, int(mask.sum()), examples))

    def column(self, col: Column) -> pd.Series:
        """``col`` coerced to its kind, every problem of its values flagged."""
        raw = self.raw
        values = raw[col.name] if col.name in raw.columns else pd.Series([None] * self.n)
        values = _null_tokens_as_missing(values.reset_index(drop=True), col)
        coerced, unparsable = _coerce(values, col)
        present = values.notna().to_numpy()
        problem = f"not a valid {col.kind}" + _PROBLEM_DETAIL.get(col.kind, "")
        self.flag(unparsable & present, col.name, problem, values)
        if not col.nullable and col.name in raw.columns:
            missing = coerced.isna().to_numpy() & ~(unparsable & present)
            self.flag(missing, col.name, "missing", values)
        if col.kind == "category" and col.categories:
            coerced = self._known_categories(col, values, coerced)
        if col.kind == "time":
            self._zoneless(col, values, coerced)
        if col.min is not None or col.max is not None:
            num = coerced.astype("float64")
            bad = np.zeros(self.n, dtype=bool)
            if col.min is not None:
                bad |= (num < col.min).fillna(False).to_numpy()
            if col.max is not None:
                bad |= (num > col.max).fillna(False).to_numpy()
            self.flag(bad, col.name, f"out of range [{col.min}, {col.max}]", values)
        return coerced

    def _zoneless(self, col: Column, values: pd.Series, coerced: pd.Series) -> None:
        """Times written without a zone are read as UTC, and said so (a warning per column)."""
        kept = coerced.notna().to_numpy() & (self.reasons == "")
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            return
        if pd.api.types.is_datetime64_dtype(values.dtype):
            zoneless = kept
        else:  # the text as written (an aware datetime prints its offset)
            text = values.astype("str").str.strip()
            has = text.str.contains(_ZONE.pattern) & text.str.contains("[T :]")
            zoneless = kept & ~has.fillna(False).to_numpy(dtype=bool)
        if zoneless.any():
            rows = np.flatnonzero(zoneless)[:EXAMPLES_PER_ISSUE]
            examples = [self.where.describe(i, values.iloc[i]) for i in rows]
            self.issues.append(
                Issue(
                    self.schema.name,
                    col.name,
                    ZONELESS,
                    int(zoneless.sum()),
                    examples,
                    severity="warning",
                )
            )

    def _known_categories(self, col: Column, values: pd.Series, coerced: pd.Series) -> pd.Series:
        """Unknown values become the fallback category, with a warning on each such row."""
        known = coerced.isin(col.categories).to_numpy() | coerced.isna().to_numpy()
        if known.all():
            return coerced
        unknown = values[~known]
        note = f"unknown value mapped to '{FALLBACK_CATEGORY}'"
        self.issues.append(
            Issue(
                self.schema.name,
                col.name,
                note,
                int((~known).sum()),
                sorted(set(map(str, unknown)))[:EXAMPLES_PER_ISSUE],
                severity="warning",
            )
        )
        shown = unknown.astype(str).to_numpy()
        self.row_warnings[~known] = (
            self.row_warnings[~known] + f"{self.schema.name}.{col.name}: {note} (" + shown + ")\n"
        )
        return coerced.where(known, FALLBACK_CATEGORY)


def reject_rows(
    valid: pd.DataFrame, report: TableReport, mask: np.ndarray, column: str, problem: str
) -> pd.DataFrame:
    """Move rows of an already valid table aside (e.g. a foreign key with no parent)."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return valid
    bad = valid.loc[mask].copy()
    if report.source is not None:  # where they came from, as validation's own rejects say
        bad[report.source.name] = report.source.to_numpy()[report.positions[mask]]
        report.positions = report.positions[~mask]
    where = _Locator(bad.reset_index(drop=True), SCHEMAS[report.table])
    shown = bad[column].head(EXAMPLES_PER_ISSUE).tolist()
    examples = [where.describe(i, v) for i, v in enumerate(shown)]
    report.issues.append(Issue(report.table, column, problem, int(mask.sum()), examples))
    bad["_reason"] = f"{column}: {problem}"
    report.rejected = pd.concat([report.rejected, bad], ignore_index=True)
    report.n_valid -= int(mask.sum())
    return valid.loc[~mask].reset_index(drop=True)


# Where each row came from, when the reader knows (a column of 1-based numbers beside the
# contract's, carried into the rejects): the line of a CSV file (its header is line 1), the
# row of a Parquet file, or the row a mapping's query returned.
SOURCE_ROWS = {"_line": "line", "_row": "row", "_query_row": "row of the query"}


class _Locator:
    """Names a row of a raw table for a report: where it came from, its id, the value."""

    def __init__(self, raw: pd.DataFrame, schema: TableSchema) -> None:
        self.raw = raw
        ids = [c.name for c in schema.columns if c.kind == "id" and c.name in raw.columns]
        self.ids = [k for k in schema.key if k in ids] + [k for k in ids if k not in schema.key]
        self.source = source_column(raw)

    def describe(self, row: int, value: object) -> str:
        """``line 14, contact_id K7: 'abc'`` (``missing`` for a value that is absent)."""
        if self.source is not None:
            where = f"{SOURCE_ROWS[self.source]} {self.raw[self.source].iat[row]}"
        else:
            where = f"row {row + 1}"
        for name in self.ids:  # the row's first id that is there
            known = self.raw[name].iat[row]
            if not _is_missing(known) and str(known).strip():
                where += f", {name} {str(known).strip()[:MAX_ID_LENGTH]}"
                break
        shown = "missing" if _is_missing(value) or str(value).strip() == "" else repr(str(value))
        return f"{where}: {shown}"


def source_column(raw: pd.DataFrame) -> str | None:
    """The column of :data:`SOURCE_ROWS` a raw table carries, if any."""
    return next((c for c in SOURCE_ROWS if c in raw.columns), None)


ZONELESS = "no time zone: read as UTC (a mapping's times: can declare the export's zone)"
_ZONE = re.compile(r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$")


def _has_zone(value: object) -> bool:
    """Whether a present time value says its zone (text with Z or an offset, or an aware
    timestamp)."""
    if isinstance(value, str):
        text = value.strip()
        # A date alone, or a time of day without an offset, has no zone; "-05" after a
        # date is its day, not an offset.
        return bool(_ZONE.search(text)) and ("T" in text or " " in text or ":" in text)
    if isinstance(value, datetime):
        return value.tzinfo is not None
    return False


_PROBLEM_DETAIL = {
    "time": f" (unparsable, or outside {EARLIEST_TIME.year}..{LATEST_TIME.year})",
    "float": " (not a finite number)",
    "int": " (not a whole number)",
    "id": f" (longer than {MAX_ID_LENGTH} characters)",
}


# Up to this many rows a table is validated value by value: the same rules as the vectorised
# path (the contract tests hold the two equal on random messy tables), without pandas' fixed
# cost per operation, which dominates for the few rows the service validates per request.
SMALL_TABLE_ROWS = 64


def _validate_rows(raw: pd.DataFrame, schema: TableSchema) -> tuple[pd.DataFrame, TableReport]:
    """:func:`validate_table` for a few rows, one value at a time."""
    n = len(raw)
    checks = _ValueChecks(raw, schema)
    parsed = {col.name: checks.column(col) for col in schema.columns}
    for earlier, later in schema.ordered:
        bad = [
            a is not None and b is not None and b < a
            for a, b in zip(parsed[earlier], parsed[later], strict=True)
        ]
        shown = raw[later].tolist() if later in raw.columns else [None] * n
        checks.flag(bad, later, f"before {earlier}", shown)

    seen: set[tuple] = set()
    dup = []
    for i in range(n):
        key = tuple(parsed[k][i] for k in schema.key)
        whole = all(part is not None for part in key)
        dup.append(key in seen and whole and not checks.reasons[i])
        seen.add(key)
    if any(dup):  # rare: the examples written exactly as the vectorised path writes them
        rows = np.flatnonzero(dup)
        keys = _typed_frame({k: [parsed[k][i] for i in rows] for k in schema.key}, schema)
        joined = dict(zip(rows, keys.astype(str).agg("|".join, axis=1), strict=True))
        checks.flag(dup, "+".join(schema.key), "duplicate key", [joined.get(i) for i in range(n)])

    ok = np.array([not r for r in checks.reasons], dtype=bool)
    rejected = raw.loc[~ok].copy()
    rejected["_reason"] = np.array(checks.reasons, dtype=object)[~ok]
    keep = np.flatnonzero(ok)
    valid = _typed_frame({name: [v[i] for i in keep] for name, v in parsed.items()}, schema)
    warnings = np.array(checks.row_warnings, dtype=object)
    report = TableReport(schema.name, n, int(ok.sum()), rejected, checks.issues, warnings)
    return valid, _with_sources(report, raw, ok)


class _ValueChecks:
    """:class:`_ColumnChecks` value by value, in plain lists, for a few rows."""

    def __init__(self, raw: pd.DataFrame, schema: TableSchema) -> None:
        self.raw, self.schema, self.n = raw, schema, len(raw)
        self.reasons = [""] * self.n
        self.row_warnings = [""] * self.n
        self.issues: list[Issue] = []
        self.where = _Locator(raw, schema)

    def flag(self, bad: list[bool], column: str, problem: str, values: list) -> None:
        rows = [i for i in range(self.n) if bad[i] and not self.reasons[i]]  # first reason wins
        if not rows:
            return
        for i in rows:
            self.reasons[i] = f"{column}: {problem}"
        examples = [self.where.describe(i, values[i]) for i in rows[:EXAMPLES_PER_ISSUE]]
        self.issues.append(Issue(self.schema.name, column, problem, len(rows), examples))

    def column(self, col: Column) -> list:
        """``col``'s values parsed (None for missing), every problem flagged."""
        raw, n = self.raw, self.n
        column = raw[col.name] if col.name in raw.columns else pd.Series([None] * n, dtype=object)
        values, coerced, failed = _coerce_values(column, col)
        problem = f"not a valid {col.kind}" + _PROBLEM_DETAIL.get(col.kind, "")
        self.flag(failed, col.name, problem, values)
        if not col.nullable and col.name in raw.columns:
            missing = [c is None and not f for c, f in zip(coerced, failed, strict=True)]
            self.flag(missing, col.name, "missing", values)
        if col.kind == "category" and col.categories:
            coerced = self._known_categories(col, values, coerced)
        if col.kind == "time":
            zoneless = [
                c is not None and not self.reasons[i] and not _has_zone(values[i])
                for i, c in enumerate(coerced)
            ]
            if any(zoneless):
                rows = [i for i, z in enumerate(zoneless) if z]
                examples = [self.where.describe(i, values[i]) for i in rows[:EXAMPLES_PER_ISSUE]]
                self.issues.append(
                    Issue(self.schema.name, col.name, ZONELESS, len(rows), examples, "warning")
                )
        if col.min is not None or col.max is not None:
            low, high = col.min, col.max
            bad = [
                c is not None and ((low is not None and c < low) or (high is not None and c > high))
                for c in coerced
            ]
            self.flag(bad, col.name, f"out of range [{col.min}, {col.max}]", values)
        return coerced

    def _known_categories(self, col: Column, values: list, coerced: list) -> list:
        unknown = [c is not None and c not in col.categories for c in coerced]
        if not any(unknown):
            return coerced
        note = f"unknown value mapped to '{FALLBACK_CATEGORY}'"
        shown = sorted({str(v) for v, u in zip(values, unknown, strict=True) if u})
        self.issues.append(
            Issue(
                self.schema.name,
                col.name,
                note,
                sum(unknown),
                shown[:EXAMPLES_PER_ISSUE],
                severity="warning",
            )
        )
        for i in np.flatnonzero(unknown):
            self.row_warnings[i] += f"{self.schema.name}.{col.name}: {note} ({values[i]})\n"
        return [FALLBACK_CATEGORY if u else c for c, u in zip(coerced, unknown, strict=True)]


def _with_sources(report: TableReport, raw: pd.DataFrame, ok: np.ndarray) -> TableReport:
    column = source_column(raw)
    if column is not None:
        report.source = raw[column]
        report.positions = np.flatnonzero(ok)
    return report


_NAT = np.iinfo(np.int64).min


def _typed_frame(columns: dict[str, list], schema: TableSchema) -> pd.DataFrame:
    """Parsed values (None for missing) as a frame with the contract's dtypes.

    Built from arrays in one frame construction: the service validates a few rows per
    request, where pandas' cost per Series and per ``astype`` is most of the work.
    """
    kinds = {c.name: c.kind for c in schema.columns}
    out: dict[str, object] = {}
    for name, values in columns.items():
        kind = kinds[name]
        if kind == "time":  # nanoseconds since the epoch (NaT as its integer), then UTC
            ns = np.array([_NAT if v is None else v.value for v in values], dtype=np.int64)
            out[name] = pd.DatetimeIndex(ns.view("M8[ns]"), tz="UTC")
        elif kind == "float":
            out[name] = np.array([np.nan if v is None else v for v in values], dtype="float64")
        else:  # nullable integers and flags; text (missing stays missing)
            out[name] = pd.array(values, dtype=_DTYPES[kind])
    return pd.DataFrame(out, index=pd.RangeIndex(len(next(iter(columns.values()), ()))))


def _coerce_values(column: pd.Series, col: Column) -> tuple[list, list, list[bool]]:
    """(values with null words as missing, parsed values with None for missing, which
    present values failed to parse): :func:`_null_tokens_as_missing` and :func:`_coerce`,
    one value at a time."""
    textual = column.dtype == object or pd.api.types.is_string_dtype(column.dtype)
    values = column.tolist()
    if col.kind in ("time", "float", "int", "bool") and textual:
        values = [v if _is_missing(v) or not _null_word(v) else np.nan for v in values]
    coerced: list = []
    failed: list[bool] = []
    for v in values:
        if _is_missing(v):
            coerced.append(None)
            failed.append(False)
            continue
        c = _coerce_one(v, col)
        coerced.append(c)
        if col.kind in ("time", "float", "int", "bool"):
            failed.append(c is None)
        else:  # an id too long fails; an empty text is missing, not unparsable
            failed.append(col.kind == "id" and len(str(v).strip()) > MAX_ID_LENGTH)
    return values, coerced, failed


# A decimal number as text, which float() and pandas read alike.
_PLAIN_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def _null_word(value: object) -> bool:
    word = str(value).strip().lower()
    return word in NULL_TOKENS or word == ""


def _is_missing(value: object) -> bool:
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and np.isnan(value))
    )


def _coerce_one(value: object, col: Column) -> object:
    """One present value as its column's type, or None when it does not parse."""
    if col.kind == "time":
        try:
            if isinstance(value, str):
                t = pd.to_datetime(value, utc=True, format="ISO8601")
            elif isinstance(value, datetime | np.datetime64):  # pd.Timestamp is a datetime
                t = pd.Timestamp(value)
                t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
            else:  # a number is not a time (epoch units are a guess the contract never makes)
                return None
        except (ValueError, TypeError, OverflowError):
            return None
        if pd.isna(t) or not EARLIEST_TIME <= t <= LATEST_TIME:
            return None
        return t.as_unit("ns")
    if col.kind in ("float", "int"):
        if isinstance(value, bool | np.bool_):
            value = float(value)
        if isinstance(value, int | float | np.integer | np.floating):
            number = float(value)
        elif isinstance(value, str) and _PLAIN_NUMBER.fullmatch(value):
            number = float(value)  # the common case, without pandas' set-up per value
        else:
            number = pd.to_numeric(pd.Series([value], dtype=object), errors="coerce").iloc[0]
            number = float(number) if not _is_missing(number) else np.nan
        if not np.isfinite(number) or (col.kind == "int" and number % 1 != 0):
            return None
        return number
    if col.kind == "bool":
        return _BOOL_WORDS.get(str(value).strip().lower())
    text = str(value).strip()
    if text == "":
        return None
    if col.kind == "id" and len(text) > MAX_ID_LENGTH:
        return None
    return text.lower() if col.kind == "category" else text


def _null_tokens_as_missing(values: pd.Series, col: Column) -> pd.Series:
    """In typed columns read as text, words such as 'NA' or 'null' mean missing."""
    textual = values.dtype == object or pd.api.types.is_string_dtype(values.dtype)
    if col.kind not in ("time", "float", "int", "bool") or not textual:
        return values
    words = values.astype("str").str.strip().str.lower()
    return values.mask(words.isin(NULL_TOKENS) | (words == ""))


def _coerce(values: pd.Series, col: Column) -> tuple[pd.Series, np.ndarray]:
    """Convert one column to its declared dtype; also return which values failed to parse."""
    values = values.reset_index(drop=True)
    if col.kind == "time":
        if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(
            values.dtype
        ):
            parsed = pd.to_datetime(values, utc=True)
        else:
            parsed = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
        # Range-check before converting to nanoseconds, which overflow outside 1677..2262.
        parsed = parsed.where((parsed >= EARLIEST_TIME) & (parsed <= LATEST_TIME)).dt.as_unit("ns")
        return parsed, parsed.isna().to_numpy()
    if col.kind in ("float", "int"):
        if pd.api.types.is_bool_dtype(values.dtype):
            values = values.astype("float64")
        num = pd.to_numeric(values, errors="coerce").astype("float64")
        num = num.where(np.isfinite(num))  # inf is not a measurement
        if col.kind == "int":
            frac = (num % 1 != 0).fillna(False).to_numpy()
            num = num.mask(frac)
            return num.astype("Int64"), num.isna().to_numpy()
        return num, num.isna().to_numpy()
    if col.kind == "bool":
        if pd.api.types.is_bool_dtype(values.dtype):
            parsed = values.astype("boolean")
            return parsed, parsed.isna().to_numpy()
        text = values.astype("str").str.strip().str.lower()
        mapped = text.map(_BOOL_WORDS)
        parsed = mapped.astype("boolean")
        return parsed, parsed.isna().to_numpy()
    # id, category, text: strings with surrounding whitespace removed; empty means missing.
    text = values.astype("str").str.strip()
    text = text.where(values.notna() & (text != ""), None)
    if col.kind == "id":  # absurdly long ids are an export error, and bloat every index
        too_long = (text.str.len() > MAX_ID_LENGTH).fillna(False).to_numpy()
        return text.mask(too_long).astype("str"), too_long
    if col.kind == "category":
        text = text.str.lower()
    parsed = text.astype("str")
    return parsed, np.zeros(len(values), dtype=bool)


_BOOL_WORDS = {
    "true": True,
    "1": True,
    "1.0": True,
    "yes": True,
    "t": True,
    "false": False,
    "0": False,
    "0.0": False,
    "no": False,
    "f": False,
}


def flag_of(value: object) -> object:
    """A flag written as text in a file (``true``, ``1``, ``no``...) as a bool; anything else
    as it is (the caller's schema then says what is wrong with it)."""
    if isinstance(value, str):
        return _BOOL_WORDS.get(value.strip().lower(), value)
    return value


def check_columns(frame: pd.DataFrame, expected: Sequence[str], what: str) -> None:
    """Raise a specific error when a frame does not carry exactly the expected columns."""
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise ContractError(f"{what} is missing column(s) {missing[:10]} (of {len(missing)})")
