"""Load a folder of contract tables (Parquet or CSV), validate them, set bad rows aside.

A run stops with a :class:`DataQualityError` naming the table when a table keeps fewer
valid rows than ``data.min_rows`` asks, or loses more than ``data.max_reject_fraction`` of
its rows to validation: a header-only export or a column in the wrong format must never
produce a model or a risk list.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from data.contract import (
    SCHEMAS,
    ContractError,
    TableReport,
    reject_rows,
    validate_table,
)
from data.fileio import atomic_directory, write_frame, write_json
from data.history import History, first_activity, latest_timestamp
from data.mapping import Mapping, apply_mapping, load_mapping, run_query
from experiments.config import DataConfig

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
SUFFIXES = (".parquet", ".csv", ".csv.gz")
LOAD_REPORT = "load_report.json"
# The simulator's true 48 h risk per customer-day, beside its tables (synthetic data only).
TRUE_RISK_FILE = "true_risk.parquet"


class DataQualityError(ContractError):
    """A table is empty or mostly rejected: the run stops rather than learn from scraps."""


@dataclass
class LoadReport:
    """Per-table validation reports of one load."""

    source: Path
    tables: dict[str, TableReport]
    error: str | None = None  # what stopped the load before every table was validated

    @property
    def n_rejected(self) -> int:
        return sum(r.n_rejected for r in self.tables.values())

    def summary(self) -> dict[str, object]:
        return {
            "source": str(self.source),
            **({"error": self.error} if self.error else {}),
            "rows_rejected": self.n_rejected,
            "tables": {k: r.summary() for k, r in self.tables.items()},
        }

    def write(self, rejects_dir: Path) -> None:
        """Replace ``rejects_dir`` with this load's rejected rows (one CSV per table) and a
        JSON report, so no file of an earlier load is left beside it."""
        with atomic_directory(rejects_dir) as staging:
            for name, report in self.tables.items():
                if report.n_rejected:
                    write_frame(staging / f"{name}_rejected.csv", report.rejected)
            write_json(staging / LOAD_REPORT, self.summary())


def find_table_file(directory: Path, name: str) -> Path | None:
    """``<name>.parquet``, ``.csv`` or ``.csv.gz``, or a folder ``<name>/`` (or
    ``<name>.parquet/``, as Spark writes it) of Parquet files, partitioned or not; ``name``
    may also carry its suffix (a mapping's ``file: tickets.csv``)."""
    for candidate in (*(f"{name}{suffix}" for suffix in SUFFIXES), name):
        path = directory / candidate
        if path.is_file() or (path.is_dir() and any(path.rglob("*.parquet"))):
            return path
    return None


def read_table_file(
    path: Path, delimiter: str | None = None, encoding: str | None = None
) -> pd.DataFrame:
    """Read one table file (a CSV with ``delimiter`` and ``encoding`` when given); any
    failure is a one-line error naming the file."""
    try:
        if path.is_dir():  # a dataset: every Parquet file below, partition columns included
            return pd.read_parquet(path)
        if path.name.endswith(".parquet"):
            return pd.read_parquet(path)
        # All text, and only an empty field is missing: the contract decides types and
        # which words mean "missing" in typed columns, so a region called "NA" survives.
        frame = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            sep=delimiter or ",",
            encoding=encoding or "utf-8",
        )
    except pd.errors.EmptyDataError:
        raise ContractError(f"{path}: the file is empty (not even a header row)") from None
    except UnicodeDecodeError as exc:
        raise ContractError(
            f"{path}: not {encoding or 'UTF-8'} text (byte {exc.start}: {exc.reason}); give the "
            "file's encoding in the mapping (encoding: latin-1, say) or re-export it as UTF-8"
        ) from None
    except (OSError, ValueError) as exc:
        raise ContractError(f"{path}: cannot be read: {exc}") from None
    _one_column_of_many(path, frame, delimiter)
    return frame


# Delimiters a header read as one column gives away.
OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}


def _one_column_of_many(path: Path, frame: pd.DataFrame, delimiter: str | None) -> None:
    """A header read as one column full of ';' (or tabs, or '|') is a file with another
    delimiter: say so, rather than report every contract column missing."""
    if len(frame.columns) != 1:
        return
    header = str(frame.columns[0])
    for mark, name in OTHER_DELIMITERS.items():
        if mark != delimiter and header.count(mark) >= 1:
            shown = "\\t" if mark == "\t" else mark
            raise ContractError(
                f"{path}: the header reads as one column {header[:60]!r}: the file looks "
                f'{name}-separated; give the table `delimiter: "{shown}"` in the mapping'
            )


def read_table(
    directory: Path, name: str, mapping: Mapping | None
) -> tuple[pd.DataFrame, str] | None:
    """Table ``name`` of the export in ``directory``, as the mapping reads it (its file, or
    its query), renamed to the contract and numbered as :data:`~data.contract.SOURCE_ROWS`
    says; and where it came from. None when the export has no such table."""
    if mapping is not None and mapping.leaves_out(name):
        return None
    m = mapping.tables.get(name) if mapping is not None else None
    if m is not None and m.query is not None:
        raw = run_query(m.query, directory, name, mapping)
        where = f"{mapping.source} (tables.{name}.query)"
        numbered, first = "_query_row", 1
    else:
        path = find_table_file(directory, mapping.file_of(name) if mapping else name)
        if path is None and mapping is not None and mapping.file_of(name) != name:
            raise ContractError(
                f"table '{name}': the mapping names file {mapping.file_of(name)!r}, "
                f"not found in {directory}"
            )
        if path is None:
            return None
        raw = read_table_file(path, m.delimiter if m else None, m.encoding if m else None)
        where = str(path)
        csv = not path.is_dir() and not path.name.endswith(".parquet")
        numbered, first = ("_line", 2) if csv else ("_row", 1)  # a CSV's header is line 1
    try:
        mapped = apply_mapping(name, raw, mapping)
    except ContractError as exc:
        raise ContractError(f"{where}: {exc}") from None
    return mapped.assign(**{numbered: np.arange(first, first + len(mapped))}), where


def load_history(
    directory: Path | str, rejects_dir: Path | None = None, limits: DataConfig | None = None
) -> tuple[History, LoadReport]:
    """Read, validate and cross-check every table in ``directory``.

    Invalid rows are reported (table, column, count, examples) and, when ``rejects_dir``
    is given, written there; they never reach the features. Tables that break ``limits``
    (default: :class:`DataConfig` defaults) stop the load after the report is written.
    """
    directory = Path(directory)
    limits = limits or DataConfig()
    if not directory.is_dir():
        raise ContractError(f"data folder {directory} does not exist")
    unknown = sorted(set(limits.min_rows) - set(SCHEMAS))
    if unknown:
        raise ContractError(
            f"data.min_rows names unknown table(s) {unknown}; tables: {list(SCHEMAS)}"
        )
    mapping = load_mapping(limits.mapping) if limits.mapping is not None else None
    frames: dict[str, pd.DataFrame] = {}
    reports: dict[str, TableReport] = {}
    sources: dict[str, str] = {}
    try:
        for name, schema in SCHEMAS.items():
            found = read_table(directory, name, mapping)
            if found is None:
                if not schema.optional:
                    expected = ", ".join([*(f"{name}{s}" for s in SUFFIXES), f"{name}/*.parquet"])
                    raise ContractError(
                        f"required table '{name}' not found in {directory} (looked for {expected})"
                    )
                frames[name] = schema.empty()
                continue
            raw, sources[name] = found
            try:
                frames[name], reports[name] = validate_table(raw, schema)
            except ContractError as exc:
                raise ContractError(f"{sources[name]}: {exc}") from None
    except ContractError as exc:
        # The rejects folder says what stopped this load, never an earlier load's rows.
        if rejects_dir is not None:
            LoadReport(directory, reports, error=str(exc)).write(Path(rejects_dir))
        raise

    absent = absent_inputs({name: r.absent for name, r in reports.items()})
    derived = complete_customers(frames, reports)
    set_aside_orphans(frames, reports)
    report = LoadReport(directory, reports)
    for table in reports.values():
        for issue in table.issues:
            log.warning("%s", issue)
    if rejects_dir is not None:
        report.write(Path(rejects_dir))
    check_limits(reports, sources, limits, rejects_dir)
    observed_until = _observed_until(directory, frames, mapping)
    log.info(
        "loaded %s: %s; %d rows set aside; observed until %s",
        directory,
        ", ".join(f"{k} {len(v)}" for k, v in frames.items()),
        report.n_rejected,
        observed_until,
    )
    if absent:
        log.info("absent from %s (features that need them are off): %s", directory, sorted(absent))
    history = History(
        **frames,
        observed_until=observed_until,
        absent=frozenset(absent),
        derived=derived,
        observed_from=first_activity(frames),
    )
    return history, report


def absent_inputs(missing_columns: dict[str, list[str]]) -> set[str]:
    """The inputs ("table.column") an export lacks, from the contract columns missing in
    each table found (``missing_columns``; a table not in it was not found). Customer ids
    and sign-up times are never absent: they are derived from first sight."""
    absent = {
        f"{name}.{column}"
        for name, schema in SCHEMAS.items()
        for column in missing_columns.get(name, schema.column_names)
    }
    return absent - {"customers.customer_id", "customers.signup_at"}


def complete_customers(
    frames: dict[str, pd.DataFrame], reports: dict[str, TableReport]
) -> frozenset[str]:
    """Fill in (in place) what an export leaves out of the customers: the whole table from the
    other tables' customer ids, or sign-up times from each customer's first activity.
    Returns the inputs so derived."""
    if "customers" not in reports:  # no customers table: everyone seen, from first sight
        frames["customers"], reports["customers"] = derive_customers(frames)
    elif "signup_at" in reports["customers"].absent:
        frames["customers"] = with_first_seen_signup(frames["customers"], frames)
    else:
        return frozenset()
    return frozenset({"customers.signup_at"})


def first_seen(frames: dict[str, pd.DataFrame]) -> pd.Series:
    """Each customer's earliest contact, complaint or event (customer_id -> time)."""
    times = pd.concat(
        [
            frames["contacts"].set_index("customer_id")["started_at"],
            frames["complaints"].set_index("customer_id")["filed_at"],
            frames["events"].set_index("customer_id")["occurred_at"],
        ]
    )
    return times.groupby(level=0).min()


def derive_customers(frames: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, TableReport]:
    """The customers of an export without a customers table: every customer id of the
    contacts, complaints and events, signed up when first seen; the profile absent."""
    seen = first_seen(frames)
    customers = SCHEMAS["customers"].empty().reindex(range(len(seen)))  # nulls, contract dtypes
    customers["customer_id"] = seen.index.astype(str)
    customers["signup_at"] = seen.reset_index(drop=True)
    absent = [c for c in SCHEMAS["customers"].column_names if c not in ("customer_id", "signup_at")]
    report = TableReport(
        "customers", len(customers), len(customers), customers.iloc[:0], absent=absent
    )
    log.info("no customers table: %d customers derived from their first contact", len(customers))
    return customers, report


def with_first_seen_signup(
    customers: pd.DataFrame, frames: dict[str, pd.DataFrame]
) -> pd.DataFrame:
    """``customers`` with ``signup_at`` (absent from the export) set to each one's first
    contact, complaint or event; a customer never seen signs up at the end of time."""
    seen = first_seen(frames)
    signup = customers["customer_id"].map(seen)
    return customers.assign(signup_at=signup.astype(customers["signup_at"].dtype))


def set_aside_orphans(frames: dict[str, pd.DataFrame], reports: dict[str, TableReport]) -> None:
    """Set aside (in place, into each table's report) the contacts, complaints and events of
    customers missing from ``frames["customers"]``."""
    known = set(frames["customers"]["customer_id"])
    for name in ("contacts", "complaints", "events"):
        if name in reports:
            orphan = ~frames[name]["customer_id"].isin(known).to_numpy()
            frames[name] = reject_rows(
                frames[name],
                reports[name],
                orphan,
                "customer_id",
                "unknown customer (not in customers)",
            )


def check_limits(
    reports: dict[str, TableReport],
    sources: dict[str, str],
    limits: DataConfig,
    rejects_dir: Path | None,
) -> None:
    """Raise :class:`DataQualityError` for the first table that is too small or too rejected."""
    where = f"; rejected rows in {rejects_dir}" if rejects_dir is not None else ""
    for name, report in reports.items():
        share = report.n_rejected / report.n_input if report.n_input else 0.0
        if share > limits.max_reject_fraction:
            worst = max(report.issues, key=lambda i: (i.severity == "rejected", i.count))
            raise DataQualityError(
                f"{sources[name]}: table '{name}' had {report.n_rejected:,} of {report.n_input:,} "
                f"rows ({share:.1%}) set aside, more than data.max_reject_fraction "
                f"({limits.max_reject_fraction:.0%}); most: {worst}{where}"
            )
    for name, fewest in limits.min_rows.items():
        valid = reports[name].n_valid if name in reports else 0
        if valid < fewest:
            source = sources.get(name, f"table '{name}'")
            raise DataQualityError(
                f"{source}: table '{name}' has {valid:,} valid row(s), fewer than "
                f"data.min_rows.{name} ({fewest:,}); is the export empty?"
            )


def _observed_until(
    directory: Path, frames: dict[str, pd.DataFrame], mapping: Mapping | None
) -> pd.Timestamp:
    """The end of observation: the mapping's, else the manifest's, else the latest time."""
    if mapping is not None and mapping.observed_until is not None:
        return pd.Timestamp(mapping.observed_until).tz_convert("UTC")
    declared = manifest_observed_until(directory)
    return declared if declared is not None else latest_timestamp(frames)


def manifest_observed_until(directory: Path) -> pd.Timestamp | None:
    """The end of observation ``manifest.json`` declares (UTC), or None without one."""
    manifest = Path(directory) / MANIFEST
    if not manifest.exists():
        return None
    try:
        value = json.loads(manifest.read_text(encoding="utf-8")).get("observed_until")
    except (ValueError, AttributeError) as exc:
        raise ContractError(f"{manifest}: not a JSON object ({exc})") from None
    if not value:
        return None
    try:
        parsed = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ContractError(f"{manifest}: observed_until {value!r} is not a time") from None
    if parsed.tz is None:
        raise ContractError(
            f"{manifest}: observed_until {value!r} has no time zone (write e.g. '{value}Z' for UTC)"
        )
    return parsed.tz_convert("UTC")


def read_true_risk(data_dir: Path | str) -> pd.DataFrame | None:
    """The simulator's true risk, when the data folder is a synthetic world."""
    path = Path(data_dir) / TRUE_RISK_FILE
    if not path.exists():
        return None
    risk = pd.read_parquet(path)
    risk["customer_id"] = risk["customer_id"].astype(str)
    risk["cutoff_at"] = pd.to_datetime(risk["cutoff_at"], utc=True).dt.as_unit("ns")
    return risk


def release_freed_memory() -> None:
    """Hand memory that loaded tables freed back to the system: glibc's heap (half a
    gigabyte at 300,000 customers; a no-op where there is no glibc) and Arrow's pool, which
    keeps the text buffers of loaded tables after they are gone (0.3 GB there)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    pa.default_memory_pool().release_unused()
