"""``radar outcomes import FILE``: outreach outcomes from a CSV or Parquet file.

Every row passes the request schema of ``POST /outcomes``; rows that do not are set aside
in ``WORKSPACE/rejects/outcomes.csv`` with the reason, the rest are recorded (idempotent:
importing the same file twice records nothing new).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from data.fileio import write_frame
from serving.outreach.outcomes import OutcomeStore, OutreachOutcome, without_password

log = logging.getLogger(__name__)
FIELDS = tuple(OutreachOutcome.model_fields)
REQUIRED = tuple(name for name, f in OutreachOutcome.model_fields.items() if f.is_required())


def read_outcomes(path: Path) -> tuple[list[OutreachOutcome], pd.DataFrame]:
    """(valid outcomes, rejected rows with ``_line`` and ``_reason``) of a CSV or Parquet file."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"outcomes file {path} does not exist")
    if path.suffix == ".parquet":
        raw = pd.read_parquet(path)
    else:  # text as written: "NA" may be a note, an empty cell is missing
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise ValueError(
            f"outcomes file {path} lacks column(s) {missing}; it has {sorted(map(str, raw.columns))}"
        )
    unknown = [c for c in raw.columns if c not in FIELDS]
    if unknown:
        raise ValueError(f"outcomes file {path} has unknown column(s) {unknown}; known: {FIELDS}")
    valid, rejected = [], []
    for line, record in enumerate(raw.to_dict("records"), start=2):  # line 1 is the header
        values = {k: v for k, v in record.items() if not (isinstance(v, float) and pd.isna(v))}
        try:
            valid.append(OutreachOutcome.model_validate(values))
        except ValidationError as exc:
            problem = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3]
            )
            rejected.append({**record, "_line": line, "_reason": problem})
    return valid, pd.DataFrame(rejected, columns=[*raw.columns, "_line", "_reason"])


def import_outcomes(path: Path, store_url: str, rejects_dir: Path) -> dict[str, int]:
    """Validate and record a file's outcomes; returns counts by status (and ``rejected``)."""
    valid, rejected = read_outcomes(path)
    rejects = Path(rejects_dir) / "outcomes.csv"
    if len(rejected):
        rejects.parent.mkdir(parents=True, exist_ok=True)
        write_frame(rejects, rejected)
        first = rejected.iloc[0]
        log.warning(
            "%d of %d outcome rows set aside in %s, e.g. line %d: %s",
            len(rejected),
            len(rejected) + len(valid),
            rejects,
            first["_line"],
            first["_reason"],
        )
    if not valid:
        raise ValueError(
            f"no valid outcome in {path}: all {len(rejected)} row(s) set aside in {rejects}"
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
