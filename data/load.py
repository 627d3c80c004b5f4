"""Load a folder of contract tables (Parquet or CSV), validate them, set bad rows aside."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from data.contract import SCHEMAS, ContractError, TableReport, reject_rows, validate_table
from data.history import History, latest_timestamp
from radar.fileio import write_frame, write_json

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
SUFFIXES = (".parquet", ".csv", ".csv.gz")


@dataclass
class LoadReport:
    """Per-table validation reports of one load."""

    source: Path
    tables: dict[str, TableReport]

    @property
    def n_rejected(self) -> int:
        return sum(r.n_rejected for r in self.tables.values())

    def summary(self) -> dict[str, object]:
        return {
            "source": str(self.source),
            "rows_rejected": self.n_rejected,
            "tables": {k: r.summary() for k, r in self.tables.items()},
        }

    def write(self, rejects_dir: Path) -> None:
        """Write the rejected rows (one CSV per table) and a JSON report."""
        for name, report in self.tables.items():
            if report.n_rejected:
                write_frame(rejects_dir / f"{name}_rejected.csv", report.rejected)
        write_json(rejects_dir / "load_report.json", self.summary())


def find_table_file(directory: Path, name: str) -> Path | None:
    for suffix in SUFFIXES:
        path = directory / f"{name}{suffix}"
        if path.exists():
            return path
    return None


def read_table_file(path: Path) -> pd.DataFrame:
    if path.name.endswith(".parquet"):
        return pd.read_parquet(path)
    # Read as text: the contract decides the types, so nothing is guessed here.
    return pd.read_csv(path, dtype=str, keep_default_na=True)


def load_history(
    directory: Path | str, rejects_dir: Path | None = None
) -> tuple[History, LoadReport]:
    """Read, validate and cross-check every table in ``directory``.

    Invalid rows are reported (table, column, count, examples) and, when ``rejects_dir``
    is given, written there; they never reach the features.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ContractError(f"data folder {directory} does not exist")
    frames: dict[str, pd.DataFrame] = {}
    reports: dict[str, TableReport] = {}
    for name, schema in SCHEMAS.items():
        path = find_table_file(directory, name)
        if path is None:
            if not schema.optional:
                expected = ", ".join(f"{name}{s}" for s in SUFFIXES)
                raise ContractError(
                    f"required table '{name}' not found in {directory} (looked for {expected})"
                )
            frames[name] = schema.empty()
            continue
        raw = read_table_file(path)
        frames[name], reports[name] = validate_table(raw, schema)

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

    observed_until = _observed_until(directory, frames)
    report = LoadReport(directory, reports)
    for table in reports.values():
        for issue in table.issues:
            log.warning("%s", issue)
    if rejects_dir is not None:
        report.write(Path(rejects_dir))
    log.info(
        "loaded %s: %s; %d rows set aside; observed until %s",
        directory,
        ", ".join(f"{k} {len(v)}" for k, v in frames.items()),
        report.n_rejected,
        observed_until,
    )
    return History(**frames, observed_until=observed_until), report


def _observed_until(directory: Path, frames: dict[str, pd.DataFrame]) -> pd.Timestamp:
    manifest = directory / MANIFEST
    if manifest.exists():
        value = json.loads(manifest.read_text()).get("observed_until")
        if value:
            return pd.Timestamp(value).tz_convert("UTC")
    return latest_timestamp(frames)
