"""What ``radar score`` publishes and where: the one module that knows the layout.

    OUT/YYYY-MM-DD/                      the day's list (a link to its latest publication)
        risk_list.{parquet,csv,html}     ranked eligible customers with reasons
        features_snapshot.parquet        features of every customer at the cutoff
        snapshot.json                    what produced it
        history/<table>.parquet          the validated history it was built from (the
                                         service's online feature state)
    OUT/YYYY-MM-DD.<publication>/        each publication of the day, written whole
    OUT/latest.json                      which publication the service should load

A publication is written whole into a folder of its own, then ``latest.json`` is pointed at
it, then the day's link; older publications of the day go last. So a reader that follows
the pointer never finds its folder missing, whatever is re-published meanwhile.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date as Date
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from data.contract import SCHEMAS, check_columns
from data.fileio import atomic_directory, fsync_folder, process_alive, write_json
from data.history import History
from features.catalogue import FEATURE_NAMES, KEY_COLUMNS

log = logging.getLogger(__name__)

LATEST = "latest.json"
LIST_PARQUET = "risk_list.parquet"
LIST_CSV = "risk_list.csv"
LIST_HTML = "risk_list.html"
SNAPSHOT_FEATURES = "features_snapshot.parquet"
SNAPSHOT_META = "snapshot.json"
SNAPSHOT_HISTORY = "history"
HISTORY_TABLES = ("customers", "contacts", "complaints", "events", "incidents")
EVENT_TABLES = ("contacts", "complaints", "events")  # the tables that grow with time
SNAPSHOT_COLUMNS = (*KEY_COLUMNS, *FEATURE_NAMES, "eligible")
# What a list tells outreach to do with each customer (serving.outreach decides it).
CONTACT, HOLDOUT, NONE = "contact", "holdout", "none"
ASSIGNMENTS = (CONTACT, HOLDOUT, NONE)
LIST_REQUIRED = ("customer_id", "probability")
# Publications of a day kept beside the current one, and how long any superseded one is
# kept at least: a reader that read the pointer just before a re-publication (or several,
# in quick succession) still finds the folder it names.
KEPT_BEFORE_CURRENT = 1
SUPERSEDED_GRACE_SECONDS = 120
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def publish(out_dir: Path, day: Date, write: Callable[[Path], None], meta: dict) -> Path:
    """Publish ``day``: ``write(folder)`` fills a new folder (with ``meta`` as
    ``snapshot.json``), then ``latest.json`` points at it, then the day's link does; older
    publications of the day are cleaned last. Returns the day's path."""
    out_dir = Path(out_dir)
    name = f"{day.isoformat()}.{uuid.uuid4().hex[:12]}"
    with atomic_directory(out_dir / name) as staging:
        write(staging)
        write_json(staging / SNAPSHOT_META, meta)
    write_json(
        out_dir / LATEST,
        {"date": day.isoformat(), "path": name, "publication": name.rsplit(".", 1)[1]},
    )
    _link(out_dir / day.isoformat(), name)
    _clean(out_dir, day)
    return out_dir / day.isoformat()


def _link(day_path: Path, target: str) -> None:
    """Point the day's path at ``target`` (a sibling) in one rename."""
    for stale in day_path.parent.glob(f".{day_path.name}.link-*"):  # of writers that died
        pid = stale.name.rsplit("-", 1)[1]
        if pid.isdigit() and (int(pid) == os.getpid() or not process_alive(int(pid))):
            stale.unlink(missing_ok=True)
    temporary = day_path.with_name(f".{day_path.name}.link-{os.getpid()}")
    temporary.symlink_to(target)
    if day_path.is_dir() and not day_path.is_symlink():  # a folder of an older layout
        shutil.rmtree(day_path)
    os.replace(temporary, day_path)
    fsync_folder(day_path.parent)


def _clean(out_dir: Path, day: Date) -> None:
    """Remove the day's older publications, but the last :data:`KEPT_BEFORE_CURRENT` and any
    written in the last :data:`SUPERSEDED_GRACE_SECONDS`."""
    current = os.readlink(out_dir / day.isoformat())
    older = sorted(
        (p for p in out_dir.glob(f"{day.isoformat()}.*") if p.name != current and p.is_dir()),
        key=lambda p: p.stat().st_mtime,
    )
    old_enough = time.time() - SUPERSEDED_GRACE_SECONDS
    for folder in older[: max(len(older) - KEPT_BEFORE_CURRENT, 0)]:
        if folder.stat().st_mtime < old_enough:
            shutil.rmtree(folder, ignore_errors=True)


def pointer(out_dir: Path) -> str:
    """The text of ``latest.json`` ('' when nothing is published): changes with every
    publication, so a service can tell when to reload."""
    path = Path(out_dir) / LATEST
    return path.read_text() if path.exists() else ""


def latest_folder(out_dir: Path) -> tuple[str, Path]:
    """(date, folder) of the publication ``latest.json`` names."""
    path = Path(out_dir) / LATEST
    if not path.exists():
        raise FileNotFoundError(
            f"no published snapshot: {path} is missing (run `radar score` first)"
        )
    latest = json.loads(path.read_text())
    return latest["date"], Path(out_dir) / latest["path"]


def published_days(out_dir: Path) -> list[tuple[Date, Path]]:
    """(date, folder) of every published list, oldest first. Only folders named by a real
    date count: anything else in the folder (``2026-13-45``, a copy) is passed over."""
    found = []
    for folder in sorted(Path(out_dir).glob("????-??-??")):
        if not (_DAY.match(folder.name) and (folder / LIST_PARQUET).exists()):
            continue
        try:
            found.append((Date.fromisoformat(folder.name), folder))
        except ValueError:
            log.warning("%s is not a date: not a published list, passed over", folder)
    return found


class ListError(ValueError):
    """A published list that cannot be judged as it is: which file, what, how many rows."""


def read_list(folder: Path) -> pd.DataFrame:
    """A published list, checked before anyone believes it: the columns a list has, one row
    per customer, a probability in [0, 1] for every row and, when there is one, an
    assignment that is one of :data:`ASSIGNMENTS`."""
    path = Path(folder) / LIST_PARQUET
    try:
        listed = pd.read_parquet(path)
    except Exception as exc:
        raise ListError(f"{path} cannot be read: {exc}") from None
    missing = [c for c in LIST_REQUIRED if c not in listed.columns]
    if missing:
        raise ListError(f"{path} lacks column(s) {missing}; it has {sorted(listed.columns)}")
    customers = listed["customer_id"]
    probability = pd.to_numeric(listed["probability"], errors="coerce")
    problems = {
        "customer_id: missing": customers.isna(),
        "customer_id: listed more than once": customers.duplicated(keep=False),
        "probability: missing or not in [0, 1]": ~probability.between(0, 1),
    }
    if "assignment" in listed.columns:
        problems[f"assignment: not one of {list(ASSIGNMENTS)}"] = ~listed["assignment"].isin(
            ASSIGNMENTS
        )
    for problem, bad in problems.items():
        if bad.any():
            row = listed[bad.to_numpy()].iloc[0]
            column = problem.split(":")[0]
            raise ListError(
                f"{path}: {int(bad.sum())} row(s) with {problem}, e.g. customer "
                f"{row['customer_id']!r}: {column} {row[column]!r}"
            )
    return listed.assign(probability=probability)


def known_customers(out_dir: Path) -> pd.Index:
    """The customers of the latest publication's history: those the service knows."""
    _, folder = latest_folder(out_dir)
    path = folder / SNAPSHOT_HISTORY / "customers.parquet"
    return pd.Index(pd.read_parquet(path, columns=["customer_id"])["customer_id"].astype(str))


def list_of_day(out_dir: Path, day: Date) -> Path | None:
    """The list published for ``day``, if any."""
    path = Path(out_dir) / day.isoformat() / LIST_PARQUET
    return path if path.exists() else None


def read_meta(folder: Path) -> dict:
    return json.loads((Path(folder) / SNAPSHOT_META).read_text())


@dataclass(frozen=True)
class Snapshot:
    """Features of every customer at one cutoff, as published by ``radar score``."""

    date: str
    cutoff_at: pd.Timestamp
    features: pd.DataFrame  # indexed by customer_id, with an ``eligible`` column
    path: Path

    def history(self, only: str | None = None) -> History:
        """The validated history the snapshot was built from (every table, all of it), or with
        ``only`` one of its event tables (contacts, complaints, events) read, the others empty."""
        folder = self.path / SNAPSHOT_HISTORY
        if not folder.is_dir():
            raise FileNotFoundError(
                f"snapshot {self.path} has no published history ({folder} is missing; an older "
                "version wrote it): run `radar score` again to publish one"
            )
        tables = {}
        for name in HISTORY_TABLES:
            path = folder / f"{name}.parquet"
            if only is not None and name in EVENT_TABLES and name != only:
                frame = pq.read_schema(path).empty_table().to_pandas()
            else:  # repeated text as categories: a code per row, not a string
                frame = pd.read_parquet(path, read_dictionary=_categories(name))
            check_columns(frame, SCHEMAS[name].column_names, f"snapshot {folder / name}.parquet")
            tables[name] = frame
        meta = read_meta(self.path)
        observed_from = meta.get("data_observed_from")
        return History(
            **tables,
            observed_until=pd.Timestamp(meta["data_observed_until"]),
            observed_from=None if observed_from is None else pd.Timestamp(observed_from),
        )

    def features_of(self, customer_ids: list[str]) -> pd.DataFrame:
        """The published features of these customers only (read from the file, not held)."""
        return _snapshot_features(self.path, customer_ids)


def _categories(table: str) -> list[str]:
    return [c.name for c in SCHEMAS[table].columns if c.kind == "category"]


def load_snapshot(out_dir: Path, customers: list[str] | None = None) -> Snapshot:
    """The snapshot ``latest.json`` points to, with the features of ``customers`` only when
    given (none for an empty list: a service reads a sample for its check, not a million)."""
    day, folder = latest_folder(out_dir)
    features = _snapshot_features(folder, customers)
    return Snapshot(day, pd.Timestamp(read_meta(folder)["cutoff_at"]), features, folder)


def _snapshot_features(folder: Path, customers: list[str] | None) -> pd.DataFrame:
    path = folder / SNAPSHOT_FEATURES
    if customers is None:
        features = pd.read_parquet(path)
    elif not customers:
        features = pq.read_schema(path).empty_table().to_pandas()
    else:
        features = pd.read_parquet(path, filters=[("customer_id", "in", list(customers))])
    check_columns(features, SNAPSHOT_COLUMNS, f"snapshot {path}")
    return features.set_index("customer_id", drop=False)
