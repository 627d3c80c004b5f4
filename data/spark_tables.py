"""The contract's tables on Apache Spark, cut into customer partitions.

The Spark engine runs the embedded code (validation, labels, ``build_features``, the
scorer) once per partition of customers, inside ``groupBy(partition).applyInPandas``.
Every per-customer table (customers, contacts, complaints, events) is read by Spark,
its columns prefixed with the table's name (``contacts__started_at``), tagged with a
``_table`` column and a partition number (a hash of ``customer_id``), and all four are
unioned into one frame: a partition's rows of every table then arrive together in one
pandas frame, and :func:`partition_history` turns them back into a validated
:class:`~data.history.History`. Regional incidents are few; they are read on the driver
and shipped to every partition with the function.

Times are read in UTC (``spark.sql.session.timeZone``), so the naive timestamps Spark
hands to pandas are UTC instants, which the contract accepts as such.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from data.contract import (
    EXAMPLES_PER_ISSUE,
    SCHEMAS,
    ContractError,
    Issue,
    TableReport,
    validate_table,
)
from data.history import TIME_COLUMNS, History
from data.load import (
    MANIFEST,
    LoadReport,
    check_limits,
    complete_customers,
    find_table_file,
    manifest_observed_until,
    read_table_file,
    set_aside_orphans,
)
from experiments.config import DataConfig

log = logging.getLogger(__name__)

PER_CUSTOMER_TABLES = ("customers", "contacts", "complaints", "events")
TABLE_COLUMN = "_table"
PARTITION_COLUMN = "_partition"
SEPARATOR = "__"
NANOS = "__ns"  # suffix of a nanosecond time carried as the text of its integer


def spark_session(app: str, master: str | None = None, shuffle_partitions: int | None = None):
    """The active Spark session, or a new one: ``master`` (e.g. ``local[2]``) only when this
    process starts Spark itself; under ``spark-submit`` the cluster's session is used."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable(
            "the Spark engine needs PySpark: pip install -e '.[spark]' (make installs it)"
        ) from None
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ  # spark-submit started the JVM for us
    if not submitted and not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        raise SparkUnavailable(
            "the Spark engine needs a Java 17+ runtime and none was found (no java on PATH, no "
            "JAVA_HOME): `make java` installs Debian's openjdk-17-jre-headless"
        )
    if not submitted:
        # Local workers run the interpreter running this code (the project's environment);
        # on a cluster, spark-submit's --archives / spark.pyspark.python decide.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    builder = (
        SparkSession.builder.appName(app)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        # pandas writes nanosecond times, which Spark reads only as integers (exactly).
        .config("spark.sql.legacy.parquet.nanosAsLong", "true")
        .config("spark.ui.showConsoleProgress", "false")
    )
    if master and not submitted:
        builder = builder.master(master)
    if shuffle_partitions:
        builder = builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions))
    return builder.getOrCreate()


class SparkUnavailable(RuntimeError):
    """Spark cannot start here: PySpark or Java is missing."""


@dataclass(frozen=True)
class SparkTables:
    """The per-customer tables as one partitioned Spark frame, plus what every partition
    shares: the incidents and the end of observation."""

    packed: object  # pyspark.sql.DataFrame: _table, _partition and prefixed columns
    incidents: pd.DataFrame
    observed_until: pd.Timestamp
    observed_from: pd.Timestamp  # the first contact, event or complaint
    data_start: pd.Timestamp  # its day (for the periods)
    partitions: int
    n_customers: int
    source: str  # the data folder or URI
    sources: dict[str, str]  # where each table was found


def output_path(base: Path | str, *parts: str) -> str:
    """``base/part/...`` as Spark writes to it: a local path, or a URI kept as written."""
    return "/".join([str(base).rstrip("/"), *parts])


def is_uri(source: Path | str) -> bool:
    """Whether ``source`` names a folder on a cluster's file system (``hdfs://``, ``s3a://``,
    ``gs://``, ``abfss://``...) rather than a local path."""
    return "://" in str(source)


def read_tables(spark, directory: Path | str, partitions: int) -> SparkTables:
    """Read every table of ``directory`` (files or Parquet folders, as the embedded engine
    does; or, given a URI, ``<table>/`` or ``<table>.parquet`` folders on any file system
    Spark reaches) into one frame partitioned by a hash of ``customer_id``."""
    from pyspark.sql import functions as F

    if not is_uri(directory):
        directory = Path(directory)
        if not directory.is_dir():
            raise ContractError(f"data folder {directory} does not exist")
    frames = []
    sources: dict[str, str] = {}
    for name in PER_CUSTOMER_TABLES:
        schema = SCHEMAS[name]
        path = _locate(spark, directory, name)
        if path is None:
            if not schema.optional:
                raise ContractError(f"required table '{name}' not found in {directory}")
            continue
        sources[name] = path
        frame = _read(spark, path)
        missing = [c.name for c in schema.columns if c.required and c.name not in frame.columns]
        if missing:
            raise ContractError(
                f"{path}: table '{name}' is missing required column(s) {missing}; "
                f"it has {sorted(frame.columns)}"
            )
        frames.append(
            frame.select(
                F.lit(name).alias(TABLE_COLUMN),
                F.pmod(F.xxhash64(F.col("customer_id").cast("string")), F.lit(partitions))
                .cast("int")
                .alias(PARTITION_COLUMN),
                *[_column(frame, name, c) for c in schema.columns if c.name in frame.columns],
            )
        )
    packed = frames[0]
    for frame in frames[1:]:
        packed = packed.unionByName(frame, allowMissingColumns=True)
    # The periods start with the first activity; observation ends with the manifest or, as
    # in load_history, the latest time of any table.
    starts = {"contacts": "started_at", "events": "occurred_at", "complaints": "filed_at"}
    firsts = [f"{t}{SEPARATOR}{c}" for t, c in starts.items()]
    lasts = [f"{t}{SEPARATOR}{c}" for t in PER_CUSTOMER_TABLES for c in TIME_COLUMNS[t]]
    bounds = (
        packed.agg(
            *[F.min(_instant(packed, c)).alias(f"first {c}") for c in firsts if _has(packed, c)],
            *[F.max(_instant(packed, c)).alias(f"last {c}") for c in lasts if _has(packed, c)],
            F.sum((F.col(TABLE_COLUMN) == "customers").cast("long")).alias("customers"),
        )
        .first()
        .asDict()
    )
    first = [_utc(v) for k, v in bounds.items() if k.startswith("first ") and v is not None]
    if not first:
        raise ContractError(
            f"{directory}: no contacts, events or complaints: nothing to learn from"
        )
    incidents = _incidents(spark, directory)
    last = [_utc(v) for k, v in bounds.items() if k.startswith("last ") and v is not None]
    last += [incidents[c].max() for c in TIME_COLUMNS["incidents"] if incidents[c].notna().any()]
    return SparkTables(
        packed=packed,
        incidents=incidents,
        observed_until=_observed_until(spark, directory, last),
        observed_from=min(first),
        data_start=min(first).normalize(),
        partitions=partitions,
        n_customers=int(bounds["customers"]),
        source=str(directory),
        sources=sources,
    )


def daily_activity(tables: SparkTables) -> pd.Series:
    """Rows of contacts, events and complaints per UTC day (sorted), counted by Spark: what
    ``split.start: auto`` reads to find where the data becomes dense."""
    from pyspark.sql import functions as F

    starts = {"contacts": "started_at", "events": "occurred_at", "complaints": "filed_at"}
    packed = tables.packed
    days = None
    for table, column in starts.items():
        name = f"{table}{SEPARATOR}{column}"
        if not _has(packed, name):
            continue
        instant = _instant(packed, name)
        if name + NANOS in packed.columns:  # integer nanoseconds
            instant = F.timestamp_seconds(F.floor(instant / 1_000_000_000))
        day = packed.where(F.col(TABLE_COLUMN) == table).select(F.to_date(instant).alias("day"))
        days = day if days is None else days.unionByName(day)
    counted = days.where(F.col("day").isNotNull()).groupBy("day").count().toPandas()
    index = pd.to_datetime(counted["day"]).dt.tz_localize("UTC")
    return pd.Series(counted["count"].to_numpy(), index=index).sort_index()


def partition_history(
    pdf: pd.DataFrame,
    incidents: pd.DataFrame,
    observed_until: pd.Timestamp,
    observed_from: pd.Timestamp | None = None,
) -> tuple[History, dict]:
    """One partition's rows (as :func:`read_tables` packed them) as a validated history, and
    a tally of what validation did to each table (same rules as ``load_history``; add it to
    a :func:`validation_tally` accumulator)."""
    frames: dict[str, pd.DataFrame] = {}
    reports: dict[str, TableReport] = {}
    for name in PER_CUSTOMER_TABLES:
        schema = SCHEMAS[name]
        prefix = f"{name}{SEPARATOR}"
        columns = [c for c in pdf.columns if c.startswith(prefix)]
        if not columns:  # the export has no such table
            frames[name] = schema.empty()
            continue
        rows = pdf[pdf[TABLE_COLUMN] == name]
        raw = _times(pd.DataFrame({c[len(prefix) :]: rows[c].to_numpy() for c in columns}))
        frames[name], reports[name] = validate_table(raw, schema)
    derived = complete_customers(frames, reports)
    set_aside_orphans(frames, reports)
    tally = {
        name: {
            "rows_in": report.n_input,
            "rows_rejected": report.n_rejected,
            "issues": {
                (i.column, i.problem, i.severity): [i.count, list(i.examples)]
                for i in report.issues
            },
        }
        for name, report in reports.items()
    }
    history = History(
        **frames,
        incidents=incidents,
        observed_until=observed_until,
        derived=derived,
        observed_from=observed_from,
    )
    return history, tally


class TallyParam:
    """Merges partitions' validation tallies (Spark's accumulator protocol: zero and
    addInPlace): counts add up, a few examples of each problem are kept."""

    def zero(self, value: dict) -> dict:
        return {}

    def addInPlace(self, total: dict, part: dict) -> dict:
        for table, counts in part.items():
            mine = total.setdefault(table, {"rows_in": 0, "rows_rejected": 0, "issues": {}})
            mine["rows_in"] += counts["rows_in"]
            mine["rows_rejected"] += counts["rows_rejected"]
            for key, (count, examples) in counts["issues"].items():
                seen = mine["issues"].setdefault(key, [0, []])
                seen[0] += count
                seen[1] = (seen[1] + examples)[:EXAMPLES_PER_ISSUE]
        return total


def validation_tally(spark):
    """An accumulator of every partition's validation tally (see :func:`partition_history`)."""
    return spark.sparkContext.accumulator({}, TallyParam())


def load_report(tables: SparkTables, tally: dict, limits: DataConfig) -> dict:
    """The load report of a Spark run (as ``load_history`` writes it), after the same limits:
    a table mostly rejected, or with too few valid rows, stops the run
    (:class:`~data.load.DataQualityError`) before anything is fitted or published."""
    reports = {
        name: TableReport(
            table=name,
            n_input=counts["rows_in"],
            n_valid=counts["rows_in"] - counts["rows_rejected"],
            rejected=pd.DataFrame(index=range(counts["rows_rejected"])),  # counted, not kept
            issues=[
                Issue(name, column, problem, count, examples, severity)
                for (column, problem, severity), (count, examples) in counts["issues"].items()
            ],
        )
        for name, counts in tally.items()
    }
    for report in reports.values():
        for issue in report.issues:
            log.warning("%s", issue)
    check_limits(reports, tables.sources, limits, None)
    return {**LoadReport(tables.source, reports).summary(), "engine": "spark"}


def _column(frame, table: str, column) -> object:
    """One source column, prefixed. A time Parquet stores in nanoseconds (which Spark reads
    as a long, ``spark.sql.legacy.parquet.nanosAsLong``) travels as the text of that integer,
    so no digit is lost on the way to pandas (:func:`_times`)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType

    name = f"{table}{SEPARATOR}{column.name}"
    if column.kind == "time" and isinstance(frame.schema[column.name].dataType, LongType):
        return F.col(column.name).cast("string").alias(name + NANOS)
    return F.col(column.name).alias(name)


def _has(packed, name: str) -> bool:
    return name in packed.columns or name + NANOS in packed.columns


def _instant(packed, name: str):
    """A time column as something Spark orders by instant (nanoseconds as a long)."""
    from pyspark.sql import functions as F

    return F.col(name + NANOS).cast("long") if name + NANOS in packed.columns else F.col(name)


def _utc(value) -> pd.Timestamp:
    """A Spark bound (naive UTC datetime, or integer nanoseconds) as a UTC timestamp."""
    if isinstance(value, int):
        return pd.Timestamp(value, unit="ns", tz="UTC")
    return pd.Timestamp(value).tz_localize("UTC")


def _times(raw: pd.DataFrame) -> pd.DataFrame:
    """Nanosecond times that travelled as text (see :func:`_column`) back as UTC times."""
    for column in [c for c in raw.columns if c.endswith(NANOS)]:
        ns = pd.to_numeric(raw.pop(column), dtype_backend="numpy_nullable")
        raw[column[: -len(NANOS)]] = pd.to_datetime(ns, unit="ns", utc=True)
    return raw


def _locate(spark, directory: Path | str, name: str) -> str | None:
    """Where table ``name`` is: as ``load_history`` finds it locally; on a cluster's file
    system, a ``<name>/`` or ``<name>.parquet`` folder (or file) of Parquet."""
    if not is_uri(directory):
        path = find_table_file(Path(directory), name)
        return None if path is None else str(path)
    for candidate in (name, f"{name}.parquet"):
        uri = f"{str(directory).rstrip('/')}/{candidate}"
        if _exists(spark, uri):
            return uri
    return None


def _exists(spark, uri: str) -> bool:
    """Whether ``uri`` exists, asked of the Hadoop file system Spark itself reads with."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return bool(path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).exists(path))


def _read(spark, path: str):
    """A table file or Parquet folder as a Spark frame (CSV: every column as text, as the
    embedded reader does; the contract parses them)."""
    if path.endswith((".csv", ".csv.gz")):
        return spark.read.option("header", True).option("inferSchema", False).csv(path)
    return spark.read.parquet(path)


def _incidents(spark, directory: Path | str) -> pd.DataFrame:
    """The regional incidents, validated on the driver (a few rows per region and week)."""
    schema = SCHEMAS["incidents"]
    path = _locate(spark, directory, "incidents")
    if path is None:
        return schema.empty()
    if is_uri(directory):
        frame = _read(spark, path)
        columns = [
            _column(frame, "incidents", c) for c in schema.columns if c.name in frame.columns
        ]
        raw = frame.select(*columns).toPandas()
        raw.columns = [c.split(SEPARATOR, 1)[1] for c in raw.columns]
        raw = _times(raw)
    else:
        raw = read_table_file(Path(path))
    frame, report = validate_table(raw, schema)
    if report.n_rejected:
        log.warning("incidents: %d row(s) set aside", report.n_rejected)
    return frame


def _observed_until(spark, directory: Path | str, latest: list) -> pd.Timestamp:
    if is_uri(directory):
        uri = f"{str(directory).rstrip('/')}/{MANIFEST}"
        declared = None
        if _exists(spark, uri):
            text = spark.read.text(uri, wholetext=True).first()[0]
            value = json.loads(text).get("observed_until")
            declared = pd.Timestamp(value).tz_convert("UTC") if value else None
    else:
        declared = manifest_observed_until(Path(directory))
    if declared is not None:
        return declared
    if not latest:
        raise ContractError(f"{directory}: no timestamps to tell when observation ended")
    return max(latest)
