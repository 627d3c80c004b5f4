"""A YAML mapping from a company's own export to the contract, instead of a script.

It renames source columns, maps source values to contract values, and parses times written
in the export's own format and zone. It is applied to each table as read from disk, before
the contract validates it, so everything the mapping does not fix is still reported row by
row (an unparsable time keeps its original text, and is set aside with it as the example)::

    tables:
      contacts:
        file: tickets.csv            # the export's file (default: contacts.parquet / .csv)
        delimiter: ";"               # CSV only (default ","); encoding: latin-1 (default utf-8)
        columns:                     # contract column: source column
          contact_id: Ticket
          customer_id: Account
          started_at: Opened
          resolved: Status
        values:                      # contract column: {source value: contract value}
          resolved: {Solved: true, Open: false, Cancelled: null}
        times:                       # contract time column: its format and zone
          started_at: {format: "%d/%m/%Y %H:%M", zone: Europe/Rome}
      incidents: null                # not in this export (whatever file is called so)
      complaints:                    # where renaming is not enough: a DuckDB SELECT over the
        query: |                     # export's files (paths relative to the data folder)
          SELECT "Incident ID" AS complaint_id, "CI Name" AS customer_id,
                 "Reopen Time" AS filed_at,
                 COALESCE("Resolved Time", "Close Time") AS resolved_at
          FROM read_csv('incidents*.csv', delim=';', all_varchar=true)
          WHERE "Reopen Time" IS NOT NULL
        times:
          filed_at: {format: "%d-%m-%Y %H:%M:%S", zone: Europe/Amsterdam}
    observed_until: 2014-03-31T23:59:59Z   # when the export ends (default: manifest.json's,
                                           # else the latest time in any table)

Source columns that the mapping does not name keep their names (a column already called
``customer_id`` needs no entry). A value the ``values`` map does not list is kept as it is.
A query is DuckDB's SQL (any delimiter, quoting and encoding DuckDB reads, filters,
``COALESCE``, joins, several files per table): one ``SELECT``, run in a database of its own
with nothing fetched from the network; its ``values`` and ``times`` apply to what it returns.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import yaml
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

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
    query: str | None = Field(
        None,
        description="a DuckDB SELECT over the export's files (paths relative to the data "
        "folder) that returns the table (instead of file)",
    )
    delimiter: str | None = Field(
        None, min_length=1, max_length=1, description="the CSV file's delimiter (default ,)"
    )
    encoding: str | None = Field(None, description="the CSV file's encoding (default utf-8)")
    columns: dict[str, str] = Field(
        default_factory=dict, description="contract column: source column"
    )
    values: dict[str, dict[str, MappedValue]] = Field(
        default_factory=dict, description="contract column: {source value: contract value}"
    )
    times: dict[str, TimeFormat] = Field(
        default_factory=dict, description="contract time column: its format and zone"
    )

    @model_validator(mode="after")
    def _a_file_or_a_query(self) -> TableMapping:
        reads_a_file = [k for k in ("file", "delimiter", "encoding") if getattr(self, k)]
        if self.query is not None and reads_a_file:
            raise ValueError(f"a query reads the files itself: drop {reads_a_file} (or the query)")
        if self.encoding is not None:
            try:
                codecs.lookup(self.encoding)
            except LookupError:
                raise ValueError(f"unknown encoding {self.encoding!r} (e.g. latin-1)") from None
        return self


class Mapping(_Frozen):
    """The whole mapping: contract table name -> how to read it."""

    # A table mapped to null is absent from the export, whatever files lie in its folder (a
    # desk's "incidents.csv" is not the contract's regional incidents).
    tables: dict[str, TableMapping | None] = Field(default_factory=dict)
    observed_until: AwareDatetime | None = Field(
        None,
        description="when the export's observation ended (default: manifest.json's, else the "
        "latest time in any table); for an export whose later rows only follow up earlier ones",
    )
    _source: str = PrivateAttr("the mapping")  # the file it was read from (for messages)

    @property
    def source(self) -> str:
        return self._source

    @model_validator(mode="after")
    def _names_are_the_contract_s(self) -> Mapping:
        for table, m in self.tables.items():
            if table not in SCHEMAS:
                raise ValueError(f"unknown table {table!r}; the contract's tables: {list(SCHEMAS)}")
            if m is None:
                if not SCHEMAS[table].optional:
                    raise ValueError(f"tables.{table}: a required table cannot be left out")
                continue
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

    def leaves_out(self, table: str) -> bool:
        """Whether the mapping says the export has no such table (``table: null``)."""
        return table in self.tables and self.tables[table] is None


def run_query(query: str, directory: Path, table: str, mapping: Mapping) -> pd.DataFrame:
    """A mapping's query for ``table``, run by DuckDB over the files of ``directory``; any
    problem is one error naming the table and the mapping file. Times DuckDB returns with a
    zone come back in UTC; nothing is fetched from the network (extensions neither install
    nor load themselves)."""
    import duckdb

    where = f"{mapping.source}: tables.{table}.query"
    try:
        with duckdb.connect(config=QUERY_SETTINGS) as db:
            db.execute("SET TimeZone = 'UTC'")
            db.execute("SET file_search_path = ?", [str(Path(directory).resolve())])
            db.execute("SET lock_configuration = true")
            statements = db.extract_statements(query)
            kinds = [s.type.name for s in statements]
            if kinds != ["SELECT"]:
                raise ContractError(f"{where} must be one SELECT statement; it holds {kinds}")
            return db.sql(query).df()
    except duckdb.Error as exc:
        message = " ".join(str(exc).split())
        raise ContractError(f"{where} failed in DuckDB: {message}") from None


# A query's own database: nothing fetched or loaded behind its back (times come back in UTC).
QUERY_SETTINGS = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


def load_mapping(path: Path | str) -> Mapping:
    """Read and check a mapping file; any problem is one error naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ContractError(f"mapping file {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
        if not isinstance(raw, dict):
            raise ContractError(f"mapping file {path} must hold a mapping with a tables: key")
        mapping = Mapping.model_validate(raw)
        mapping._source = str(path)
        return mapping
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
