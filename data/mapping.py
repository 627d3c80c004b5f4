"""A YAML mapping from a company's own export to the contract, instead of a script.

It renames source columns, maps source values to contract values, and parses times written
in the export's own format and zone. It is applied to each table as read from disk, before
the contract validates it, so everything the mapping does not fix is still reported row by
row (an unparsable time keeps its original text, and is set aside with it as the example)::

    tables:
      contacts:
        file: tickets.csv            # the export's file (default: contacts.parquet / .csv)
        columns:                     # contract column: source column
          contact_id: Ticket
          customer_id: Account
          started_at: Opened
          resolved: Status
        values:                      # contract column: {source value: contract value}
          resolved: {Solved: true, Open: false, Cancelled: null}
        times:                       # contract time column: its format and zone
          started_at: {format: "%d/%m/%Y %H:%M", zone: Europe/Rome}

Source columns that the mapping does not name keep their names (a column already called
``customer_id`` needs no entry). A value the ``values`` map does not list is kept as it is.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from data.contract import SCHEMAS, ContractError

MappedValue = str | int | float | bool | None
SPARK_READS_THE_CONTRACT = (
    "the Spark engine reads tables already in the contract's names; a mapping (data.mapping, "
    "--mapping) is applied by the embedded engine only"
)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimeFormat(_Frozen):
    """How one time column of the export is written."""

    format: str | None = Field(
        None, description="strftime pattern (default: ISO 8601, any offset it carries kept)"
    )
    zone: str = Field("UTC", description="IANA zone of times written without an offset")

    @field_validator("zone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {zone!r} (an IANA name such as Europe/Rome)"
            ) from None
        return zone


class TableMapping(_Frozen):
    """How one contract table is found in the export and renamed to the contract."""

    file: str | None = Field(None, description="the export's file or folder in the data folder")
    columns: dict[str, str] = Field(
        default_factory=dict, description="contract column: source column"
    )
    values: dict[str, dict[str, MappedValue]] = Field(
        default_factory=dict, description="contract column: {source value: contract value}"
    )
    times: dict[str, TimeFormat] = Field(
        default_factory=dict, description="contract time column: its format and zone"
    )


class Mapping(_Frozen):
    """The whole mapping: contract table name -> how to read it."""

    tables: dict[str, TableMapping] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _names_are_the_contract_s(self) -> Mapping:
        for table, m in self.tables.items():
            if table not in SCHEMAS:
                raise ValueError(f"unknown table {table!r}; the contract's tables: {list(SCHEMAS)}")
            schema = SCHEMAS[table]
            names = schema.column_names
            for section in ("columns", "values", "times"):
                unknown = sorted(set(getattr(m, section)) - set(names))
                if unknown:
                    raise ValueError(
                        f"tables.{table}.{section}: {unknown} are not columns of {table}; "
                        f"its columns: {names}"
                    )
            not_times = sorted(
                c for c in m.times if next(x for x in schema.columns if x.name == c).kind != "time"
            )
            if not_times:
                raise ValueError(f"tables.{table}.times: {not_times} are not time columns")
            sources = list(m.columns.values())
            twice = sorted({s for s in sources if sources.count(s) > 1})
            if twice:
                raise ValueError(f"tables.{table}.columns: source column(s) {twice} mapped twice")
        return self

    def file_of(self, table: str) -> str:
        m = self.tables.get(table)
        return m.file if m is not None and m.file else table


def load_mapping(path: Path | str) -> Mapping:
    """Read and check a mapping file; any problem is one error naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ContractError(f"mapping file {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
        return Mapping.model_validate(raw)
    except yaml.YAMLError as exc:
        raise ContractError(f"mapping file {path} is not valid YAML: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'mapping'}: {e['msg']}" for e in exc.errors()
        )
        raise ContractError(f"mapping file {path}: {problems}") from None


def apply_mapping(table: str, raw: pd.DataFrame, mapping: Mapping | None) -> pd.DataFrame:
    """``raw`` as read from the export -> a frame in the contract's names, values and UTC
    times (still to be validated). ``raw`` is not modified."""
    m = mapping.tables.get(table) if mapping is not None else None
    if m is None:
        return raw
    missing = {c: s for c, s in m.columns.items() if s not in raw.columns}
    if missing:
        raise ContractError(
            f"mapping for table '{table}': source column(s) "
            + ", ".join(f"{s!r} (for {c})" for c, s in missing.items())
            + f" not in the export; it has {sorted(map(str, raw.columns))}"
        )
    columns: dict[str, pd.Series] = {c: raw[s] for c, s in m.columns.items()}
    for name in raw.columns:
        if name not in columns and name not in m.columns.values():
            columns[name] = raw[name]
    out = pd.DataFrame(columns, index=raw.index)
    for column, table_of_values in m.values.items():
        if column in out:
            out[column] = _mapped_values(out[column], table_of_values)
    for column, fmt in m.times.items():
        if column in out:
            out[column] = _utc_times(out[column], fmt)
    return out


def _mapped_values(values: pd.Series, mapped: dict[str, MappedValue]) -> pd.Series:
    """Listed source values replaced (compared as text); the rest kept as they are."""
    as_text = {str(k): _as_text(v) for k, v in mapped.items()}
    text = values.astype("string")
    hit = text.isin(list(as_text)).fillna(False).to_numpy(dtype=bool)
    out = values.astype(object).copy()
    out[hit] = text[hit].map(as_text).astype(object).to_numpy()
    return out


def _as_text(value: MappedValue) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _utc_times(values: pd.Series, fmt: TimeFormat) -> pd.Series:
    """Times in ``fmt`` -> UTC. When some do not parse, the column stays text (parsed times
    as ISO 8601, the others as written) so that validation sets those rows aside and quotes
    them."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC")
    parsed = pd.to_datetime(values, format=fmt.format or "ISO8601", errors="coerce", utc=False)
    if not isinstance(parsed.dtype, pd.DatetimeTZDtype):  # naive: the export's own zone
        parsed = parsed.dt.tz_localize(fmt.zone, ambiguous="NaT", nonexistent="NaT")
    parsed = parsed.dt.tz_convert("UTC")
    failed = parsed.isna() & values.notna()
    if not failed.any():
        return parsed
    text = parsed.dt.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00").astype(object)
    text[failed] = values[failed].astype(str)
    return text.where(values.notna(), None)
