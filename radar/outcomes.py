"""``radar outcomes import FILE``: outreach outcomes from a CSV or Parquet file.

Every row passes the request schema of ``POST /outcomes`` and the same rule on customers
(only customers of the latest publication are known); rows that do not are set aside in
``WORKSPACE/rejects/outcomes/`` (replaced whole by the next import, never by another
command) with their line and reason, the rest are recorded (idempotent: importing the
same file twice records nothing new). Rows of one customer and contact time that disagree
within the file are all set aside: which one is true is the team's call, not the order of
the lines.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from data.contract import flag_of
from data.fileio import atomic_directory, write_frame, write_json
from serving.fields import item_time_problems
from serving.outreach.outcomes import OutcomeStore, OutreachOutcome, without_password

log = logging.getLogger(__name__)
FIELDS = tuple(OutreachOutcome.model_fields)
REQUIRED = tuple(name for name, f in OutreachOutcome.model_fields.items() if f.is_required())
REJECTED_FILE = "outcomes.csv"
REPORT_FILE = "report.json"
UNKNOWN = "customer_id: unknown customer id (not in the latest snapshot)"
CONFLICT = "conflicting duplicate: another row of the file has the same customer and time"


def read_raw(path: Path) -> pd.DataFrame:
    """The file as text columns (Parquet as typed); every failure names the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"outcomes file {path} does not exist")
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        # Text as written: "NA" may be a note, an empty cell is missing.
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        raise ValueError(f"outcomes file {path} is empty (not even a header row)") from None
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"outcomes file {path} is not UTF-8 text (byte {exc.start}: {exc.reason}); save it "
            "as UTF-8"
        ) from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"outcomes file {path} cannot be read: {exc}") from None


def read_outcomes(
    path: Path, known: pd.Index | None = None
) -> tuple[list[OutreachOutcome], pd.DataFrame]:
    """(valid outcomes, rejected rows with ``_line`` and ``_reason``) of a CSV or Parquet
    file; with ``known``, outcomes of other customers are rejected too."""
    raw = read_raw(path)
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise ValueError(
            f"outcomes file {path} lacks column(s) {missing}; it has {sorted(map(str, raw.columns))}"
        )
    unknown = [c for c in raw.columns if c not in FIELDS]
    if unknown:
        raise ValueError(f"outcomes file {path} has unknown column(s) {unknown}; known: {FIELDS}")
    parsed: list[tuple[int, dict, OutreachOutcome]] = []
    rejected = []
    for line, record in enumerate(raw.to_dict("records"), start=2):  # line 1 is the header
        values = {k: v for k, v in record.items() if not (isinstance(v, float) and pd.isna(v))}
        if "reached" in values:  # a file writes its flags as text
            values["reached"] = flag_of(values["reached"])
        try:
            outcome = OutreachOutcome.model_validate(values)
        except ValidationError as exc:
            problem = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                for e in exc.errors(include_input=False)[:3]
            )
            rejected.append({**record, "_line": line, "_reason": problem})
            continue
        if known is not None and outcome.customer_id not in known:
            rejected.append({**record, "_line": line, "_reason": UNKNOWN})
            continue
        late = item_time_problems(outcome)  # as POST /outcomes refuses it
        if late:
            rejected.append({**record, "_line": line, "_reason": "; ".join(late)})
            continue
        parsed.append((line, record, outcome))
    valid = _without_conflicts(parsed, rejected)
    return valid, pd.DataFrame(rejected, columns=[*raw.columns, "_line", "_reason"])


def _without_conflicts(
    parsed: list[tuple[int, dict, OutreachOutcome]], rejected: list[dict]
) -> list[OutreachOutcome]:
    """One outcome per customer and time: identical repeats count once; rows that disagree
    are all moved to ``rejected``."""
    by_key: dict[tuple, list[tuple[int, dict, OutreachOutcome]]] = {}
    for item in parsed:
        outcome = item[2]
        by_key.setdefault((outcome.customer_id, outcome.contacted_at), []).append(item)
    valid = []
    for rows in by_key.values():
        if len({r[2].model_dump_json() for r in rows}) == 1:
            valid.append(rows[0][2])
        else:
            rejected.extend(
                {**record, "_line": line, "_reason": CONFLICT} for line, record, _ in rows
            )
    rejected.sort(key=lambda r: r["_line"])
    return valid


def import_outcomes(
    path: Path, store_url: str, rejects_dir: Path, known: pd.Index | None = None
) -> dict[str, int]:
    """Validate and record a file's outcomes; returns counts by status (and ``rejected``).
    ``rejects_dir`` is replaced with this import's rejected rows and a report."""
    valid, rejected = read_outcomes(path, known)
    rejects_dir = Path(rejects_dir)
    with atomic_directory(rejects_dir) as staging:
        if len(rejected):
            write_frame(staging / REJECTED_FILE, rejected)
        write_json(
            staging / REPORT_FILE,
            {"source": str(path), "rows": len(valid) + len(rejected), "rejected": len(rejected)},
        )
    if len(rejected):
        first = rejected.iloc[0]
        log.warning(
            "%d of %d outcome rows set aside in %s, e.g. line %d: %s",
            len(rejected),
            len(rejected) + len(valid),
            rejects_dir / REJECTED_FILE,
            first["_line"],
            first["_reason"],
        )
    if not valid:
        raise ValueError(
            f"no valid outcome in {path}: all {len(rejected)} row(s) set aside in "
            f"{rejects_dir / REJECTED_FILE}"
        )
    try:
        store = OutcomeStore(store_url)
    except Exception as exc:
        raise OSError(f"outcome database unavailable: {without_password(exc)}") from None
    try:
        statuses = store.record([o.model_dump() for o in valid])
    finally:
        store.close()
    counts = {s: statuses.count(s) for s in ("accepted", "updated", "duplicate")}
    return {**counts, "rejected": len(rejected)}
