"""Case-based event logs (a service desk's tickets, a process-mining export) as contract tables.

A log has one row per event of a case: the case id, the customer it belongs to, the
activity and when it happened. The declared rules say what is what:
- every case is one contact of its customer, started at the case's first event;
- a case *complains* when one of its events is a declared complaint activity (an
  escalation, a reopening, a formal complaint): the complaint is filed at the first such
  event.
Nothing else is invented: the contract's optional columns and tables stay absent, and the
feature families that need them are off.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from data.contract import ContractError
from data.fileio import atomic_directory, write_frame, write_json
from data.load import MANIFEST, read_table_file


@dataclass(frozen=True)
class EventLogRules:
    """Which columns of the log hold what, and which activities are complaints."""

    case: str
    customer: str
    activity: str
    time: str
    complaint_activities: tuple[str, ...]
    time_format: str | None = None  # strftime pattern; None: parsed as ISO 8601
    time_zone: str = "UTC"  # zone of times written without one

    def __post_init__(self) -> None:
        if not self.complaint_activities:
            raise ContractError("name at least one complaint activity: which events are complaints")


def import_event_log(
    log: pd.DataFrame, rules: EventLogRules
) -> tuple[dict[str, pd.DataFrame], pd.Timestamp]:
    """(``contacts`` and ``complaints`` of ``log`` by ``rules``, the time of its last event).
    Pure: ``log`` is not modified."""
    needed = [rules.case, rules.customer, rules.activity, rules.time]
    missing = [c for c in needed if c not in log.columns]
    if missing:
        raise ContractError(
            f"the event log has no column(s) {missing}; it has {sorted(map(str, log.columns))}"
        )
    events = pd.DataFrame(
        {
            "case": log[rules.case].astype(str),
            "customer": log[rules.customer].astype(str),
            "activity": log[rules.activity].astype(str),
            "time": _times(log[rules.time], rules),
        }
    )
    unknown = sorted(set(rules.complaint_activities) - set(events["activity"]))
    if unknown:
        raise ContractError(
            f"complaint activities {unknown} never occur in the log; its activities are "
            f"{sorted(events['activity'].unique())[:20]}"
        )
    events = events.sort_values(["case", "time"], kind="stable")
    first = events.groupby("case", sort=True).first()
    contacts = pd.DataFrame(
        {
            "contact_id": first.index.to_numpy(),
            "customer_id": first["customer"].to_numpy(),
            "started_at": first["time"].to_numpy(),
        }
    )
    escalated = events[events["activity"].isin(rules.complaint_activities)]
    filed = escalated.groupby("case", sort=True).first()
    complaints = pd.DataFrame(
        {
            "complaint_id": filed.index.to_numpy(),
            "customer_id": filed["customer"].to_numpy(),
            "filed_at": filed["time"].to_numpy(),
        }
    )
    return {"contacts": contacts, "complaints": complaints}, events["time"].max()


def write_event_log_tables(
    log_file: Path, out: Path, rules: EventLogRules
) -> dict[str, pd.DataFrame]:
    """Import ``log_file`` (CSV or Parquet) into the folder ``out`` (replaced whole): the
    tables and a manifest whose ``observed_until`` is the log's last event."""
    log = read_table_file(Path(log_file))
    tables, observed_until = import_event_log(log, rules)
    with atomic_directory(Path(out)) as staging:
        for name, frame in tables.items():
            write_frame(staging / f"{name}.parquet", frame)
        write_json(
            staging / MANIFEST,
            {"observed_until": observed_until.isoformat(), "source": str(log_file)},
        )
    return tables


def _times(values: pd.Series, rules: EventLogRules) -> pd.Series:
    """The log's times as UTC; an unparsable one is an error naming it."""
    parsed = pd.to_datetime(values, format=rules.time_format, errors="coerce")
    bad = parsed.isna() & values.notna()
    if bad.any():
        raise ContractError(
            f"event log column {rules.time!r}: {int(bad.sum())} time(s) do not match "
            f"{rules.time_format or 'ISO 8601'}, e.g. {values[bad].head(3).tolist()}"
        )
    if parsed.dt.tz is None:
        parsed = parsed.dt.tz_localize(rules.time_zone)
    return parsed.dt.tz_convert("UTC").dt.as_unit("ns")
