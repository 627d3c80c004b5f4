"""``radar train --engine spark``: the training set assembled on Apache Spark.

Each customer partition runs the embedded code on its own customers: validation, labels,
the sampling of customer-days (an independent stream of the configured seed per
partition) and ``build_features``. The sampled rows are written as Parquet partitioned by
cutoff date, then read by the driver, which fits, evaluates and registers the model as
the embedded engine does: Spark carries the work that grows with customers x days, the
driver only the sample it learns from.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from data.load import read_true_risk
from data.spark_tables import (
    PARTITION_COLUMN,
    SEPARATOR,
    daily_activity,
    is_uri,
    load_report,
    output_path,
    partition_history,
    read_tables,
    spark_session,
    validation_tally,
)
from experiments.config import RadarConfig, SplitConfig
from features.catalogue import FEATURES, KEY_COLUMNS
from features.parameters import (
    VOCABULARIES,
    FeatureParameters,
    most_frequent,
    resolution_days,
    resolution_seconds,
)
from training.dataset import Periods, assemble_rows, log_periods, place_periods, start_day

log = logging.getLogger(__name__)

DATE_COLUMN = "cutoff_date"
TRAINING_SET = "training_set"


def feature_ddl() -> list[str]:
    """The catalogue's features as Spark columns (DDL): categorical ones text, the rest doubles."""
    return [f"`{f.name}` {'string' if f.categories is not None else 'double'}" for f in FEATURES]


def training_schema() -> str:
    """The Spark schema (DDL) of the assembled rows, in the embedded frame's column order."""
    columns = ["customer_id string", "cutoff_at timestamp"]
    columns += feature_ddl()
    columns += ["label tinyint", "weight double", "split string", f"{DATE_COLUMN} date"]
    return ", ".join(columns)


def spark_training_frame(
    config: RadarConfig, data_dir: Path | str, spark=None
) -> tuple[pd.DataFrame, Periods, dict]:
    """The training frame of ``data_dir`` assembled on Spark, its periods and a load summary.

    The rows are also left at ``<spark output>/training_set/cutoff_date=YYYY-MM-DD/``.
    """
    started = time.perf_counter()
    spark = spark or spark_session(
        "complaint-radar train", config.spark.master, config.spark.partitions
    )
    tables = read_tables(spark, data_dir, config.spark.partitions)
    start = (
        start_day(config.split, daily_activity(tables))
        if config.split.start is not None
        else tables.data_start
    )
    periods = place_periods(start, tables.observed_until, config.labels, config.split)
    incidents, observed_until = tables.incidents, tables.observed_until
    observed_from = observed_start(tables, config.split, start)
    parameters = _learnt_parameters(config, tables, incidents, observed_until, periods)
    log.info("feature parameters: %s", parameters.as_dict())
    tally = validation_tally(spark)
    counted = spark.sparkContext.accumulator({}, CountsParam())

    def rows_of(key: tuple, pdf: pd.DataFrame) -> pd.DataFrame:
        history, validated = partition_history(pdf, incidents, observed_until, observed_from)
        tally.add(validated)
        frame, counts = assemble_rows(history, periods, config, int(key[0]), parameters)
        counted.add(counts)
        frame[DATE_COLUMN] = frame["cutoff_at"].dt.tz_localize(None).dt.normalize()
        frame["cutoff_at"] = frame["cutoff_at"].dt.tz_localize(None)
        return frame

    target = output_path(config.spark.output or config.workspace.spark_dir, TRAINING_SET)
    log.info(
        "assembling the training set on Spark: %d customers in %d partitions -> %s",
        tables.n_customers,
        tables.partitions,
        target,
    )
    rows = tables.packed.groupBy(PARTITION_COLUMN).applyInPandas(rows_of, training_schema())
    # Static overwrite: the whole training set is replaced (dates of an earlier run with
    # other periods must not linger), unlike the scores, which replace only their own date.
    rows.write.mode("overwrite").option("partitionOverwriteMode", "static").partitionBy(
        DATE_COLUMN
    ).parquet(target)
    summary = load_report(tables, tally.value, config.data)  # stops here on bad data
    summary["periods"] = counted.value
    summary["feature_parameters"] = parameters.as_dict()
    frame = read_training_set(target, spark)
    true_risk = None if is_uri(data_dir) else read_true_risk(data_dir)
    if true_risk is not None:
        frame = frame.merge(
            true_risk[[*KEY_COLUMNS, "true_risk"]], on=list(KEY_COLUMNS), how="left"
        )
    log.info(
        "Spark assembled %d of %d eligible customer-days in %.0f s (%d rows set aside)",
        len(frame),
        sum(c["eligible_customer_days"] for c in counted.value.values()),
        time.perf_counter() - started,
        summary["rows_rejected"],
    )
    log_periods(frame, periods)
    return frame, periods, summary


def _learnt_parameters(config: RadarConfig, tables, incidents, observed_until, periods):
    """The feature parameters, learnt across every partition before any row is built."""
    # Estimating a threshold would need a pass over every partition's contacts first: on
    # Spark they are the configured values (a null is a clear error here). The
    # vocabularies and the open-complaint bound are counted across partitions, so every
    # partition fills the same slots and judges eligibility alike.
    train_end = periods.train[1] + pd.Timedelta(days=1)
    learnt = learn_from_partitions(tables, incidents, observed_until, train_end)
    return replace(
        FeatureParameters.configured(config.features),
        **learnt.vocabularies,
        lookback_days=float(config.split.warmup_days),
        first_seen_signup=not has_signup_times(tables),
        open_complaint_days=(
            float(config.labels.open_complaint_days)
            if config.labels.open_complaint_days is not None
            else resolution_days(learnt.resolution_seconds)
        ),
    )


@dataclass(frozen=True)
class Learnt:
    """What the driver learns from every partition before the training rows are built."""

    vocabularies: dict[str, tuple[str, ...]]
    resolution_seconds: dict[float, int]  # complaints' seconds to resolution -> how many


# The vocabulary row that carries the complaints' times to resolution (as text of seconds).
RESOLUTION = "complaint_resolution_seconds"


def learn_from_partitions(
    tables, incidents: pd.DataFrame, observed_until: pd.Timestamp, before: pd.Timestamp
) -> Learnt:
    """The most frequent channels, reasons and event types of the rows validation keeps,
    timed before ``before``, and the times to resolution of the complaints resolved before
    it: counted per partition, added up across them, ranked and summarised as the embedded
    engine does (so both fill the same slots and bound open complaints alike)."""
    from pyspark.sql import functions as F

    def counts_of(key: tuple, pdf: pd.DataFrame) -> pd.DataFrame:
        history, _ = partition_history(pdf, incidents, observed_until)
        tables = {"contacts": history.contacts, "events": history.events}
        rows = [
            (name, value, int(n))
            for name, vocabulary in VOCABULARIES.items()
            for value, n in vocabulary.seen(tables, before).value_counts().items()
        ]
        seconds = resolution_seconds(history.complaints, before).value_counts()
        rows += [(RESOLUTION, repr(float(value)), int(n)) for value, n in seconds.items()]
        return pd.DataFrame(rows, columns=["vocabulary", "value", "n"])

    counted = (
        tables.packed.groupBy(PARTITION_COLUMN)
        .applyInPandas(counts_of, "vocabulary string, value string, n long")
        .groupBy("vocabulary", "value")
        .agg(F.sum("n").alias("n"))
        .collect()
    )
    counts: dict[str, dict[str, int]] = {name: {} for name in (*VOCABULARIES, RESOLUTION)}
    for row in counted:
        counts[row["vocabulary"]][row["value"]] = int(row["n"])
    return Learnt(
        {name: most_frequent(counts[name], v.slots) for name, v in VOCABULARIES.items()},
        {float(value): n for value, n in counts[RESOLUTION].items()},
    )


def observed_start(tables, split: SplitConfig, start: pd.Timestamp | None = None) -> pd.Timestamp:
    """Where observation starts, as the embedded engine has it: the first activity, or the
    dense start when ``split.start`` is ``auto`` (``start``, when already found)."""
    if split.start != "auto":
        return tables.observed_from
    start = start if start is not None else start_day(split, daily_activity(tables))
    return max(tables.observed_from, start)


def has_signup_times(tables) -> bool:
    """Whether the export carries sign-up times (else they are each customer's first activity)."""
    return any(c.startswith(f"customers{SEPARATOR}signup_at") for c in tables.packed.columns)


class CountsParam:
    """Adds up the partitions' period counts (Spark's accumulator protocol)."""

    def zero(self, value: dict) -> dict:
        return {}

    def addInPlace(self, total: dict, part: dict) -> dict:
        for period, counts in part.items():
            mine = total.setdefault(period, dict.fromkeys(counts, 0))
            for key, n in counts.items():
                mine[key] = mine.get(key, 0) + n
        return total


def read_training_set(path: Path | str, spark=None) -> pd.DataFrame:
    """The rows Spark wrote, as the embedded engine's frame: UTC nanosecond cutoffs, day by
    day and by customer id within a day (Spark's task order is not deterministic). A local
    folder is read directly; a cluster's URI through Spark (Arrow batches to the driver)."""
    frame = spark.read.parquet(str(path)).toPandas() if is_uri(path) else pd.read_parquet(path)
    frame = frame.drop(columns=DATE_COLUMN)
    frame["cutoff_at"] = pd.to_datetime(frame["cutoff_at"], utc=True).dt.as_unit("ns")
    return frame.sort_values(["cutoff_at", "customer_id"], kind="stable").reset_index(drop=True)
