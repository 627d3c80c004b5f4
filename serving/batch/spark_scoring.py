"""``radar score --engine spark``: the day's scores, reasons and features on Apache Spark.

Each customer partition runs the embedded scoring (:func:`serving.batch.risk_list.score_customers`:
validation, eligibility, ``build_features``, the registered model, exact SHAP reasons) on
its own customers, explaining its own highest-risk customers up to the day's capacity and
everyone at or above the medium tier. The day's capacity is then applied across all
partitions: reasons are kept for the global top ``capacity`` and the medium tier and
above, exactly the customers the embedded list explains, and customers are ranked.

Output, Parquet partitioned by date (a re-run replaces only its own date)::

    OUT/risk_list/scored_for=YYYY-MM-DD/   rank, probability (full precision), tier, reasons
    OUT/features/scored_for=YYYY-MM-DD/    every signed-up customer's features and eligibility

The outreach assignment, the HTML page and the service snapshot stay with the embedded
``radar score``: they are a day's few thousand rows, not a distributed job.
"""

from __future__ import annotations

import logging
import time
from datetime import date as Date
from pathlib import Path

import pandas as pd

from data.spark_tables import (
    PARTITION_COLUMN,
    load_report,
    output_path,
    partition_history,
    read_tables,
    spark_session,
    validation_tally,
)
from experiments.config import RadarConfig
from features.catalogue import FEATURES
from serving.batch.risk_list import reason_columns, score_customers
from serving.scorer import Scorer
from training.metrics import daily_capacity
from training.spark_dataset import feature_ddl, observed_start

log = logging.getLogger(__name__)

DATE_COLUMN = "scored_for"
LIST_FOLDER = "risk_list"
FEATURES_FOLDER = "features"


def _schema(top_reasons: int) -> str:
    """One row per signed-up customer: the features, and the score of the eligible ones."""
    columns = ["customer_id string", "cutoff_at timestamp", "eligible boolean"]
    columns += feature_ddl()
    columns += [
        "probability double",
        "risk_tier string",
        "complaint_open boolean",
        *[f"reason_{i + 1} string" for i in range(top_reasons)],
        "reason_codes string",
        "suggested_action string",
        "reasons_json string",
        "model_name string",
        "model_version string",
    ]
    return ", ".join(columns)


def score_on_spark(
    config: RadarConfig, data_dir: Path | str, day: Date, scorer: Scorer, spark=None
) -> dict:
    """Score every eligible customer of ``data_dir`` as of ``day`` on Spark; return a summary
    (where the output went, how many customers, tiers, the capacity explained)."""
    started = time.perf_counter()
    spark = spark or spark_session(
        "complaint-radar score", config.spark.master, config.spark.partitions
    )
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    tables = read_tables(spark, data_dir, config.spark.partitions)
    incidents, observed_until = tables.incidents, tables.observed_until
    observed_from = observed_start(tables, config.split)
    labels, ev, top = config.labels, config.evaluation, scorer.serving.top_reasons
    # Each partition explains up to the capacity of the whole population: a superset of its
    # share of the global top, which is cut to size below.
    upper = daily_capacity(tables.n_customers, ev.capacity_fraction, ev.capacity_k)
    schema = _schema(top)

    tally = validation_tally(spark)
    scores_of = _partition_scorer(
        scorer, day, labels, (incidents, observed_until, observed_from), upper, tally
    )
    scored = (
        tables.packed.groupBy(PARTITION_COLUMN)
        .applyInPandas(scores_of, schema)
        .persist(StorageLevel.DISK_ONLY)
    )
    # Computed once (and kept on disk) before anything is written: bad data stops the run
    # here, and the date's earlier output stays in place.
    n_scored = scored.count()
    report = load_report(tables, tally.value, config.data)
    out = config.spark.output or config.workspace.spark_dir
    stamp = F.lit(day.isoformat()).alias(DATE_COLUMN)
    feature_columns = ["customer_id", "cutoff_at", *[f"`{f.name}`" for f in FEATURES], "eligible"]
    scored.select(*feature_columns, stamp).write.mode("overwrite").partitionBy(DATE_COLUMN).parquet(
        output_path(out, FEATURES_FOLDER)
    )
    listed = scored.where(F.col("eligible"))
    n_eligible = listed.count()
    capacity = daily_capacity(n_eligible, ev.capacity_fraction, ev.capacity_k)
    order = [F.desc("probability"), F.asc("customer_id")]
    listed = _explained_within(listed, capacity, order, top)
    ranked = _ranked(spark, listed.orderBy(*order))
    ranked.select(*ranked.columns, stamp).write.mode("overwrite").partitionBy(DATE_COLUMN).parquet(
        output_path(out, LIST_FOLDER)
    )
    tiers = {r["risk_tier"]: r["count"] for r in listed.groupBy("risk_tier").count().collect()}
    scored.unpersist()
    summary = {
        "scored_for": day.isoformat(),
        "engine": "spark",
        "risk_list": output_path(out, LIST_FOLDER, f"{DATE_COLUMN}={day.isoformat()}"),
        "features": output_path(out, FEATURES_FOLDER, f"{DATE_COLUMN}={day.isoformat()}"),
        "n_customers": tables.n_customers,
        "n_signed_up": n_scored,
        "rows_rejected": report["rows_rejected"],
        "n_eligible": n_eligible,
        "explained_capacity": capacity,
        "tiers": tiers,
        "partitions": tables.partitions,
        "seconds": round(time.perf_counter() - started, 1),
        "model_name": scorer.model_name,
        "model_version": scorer.model_version,
    }
    log.info(
        "Spark scored %d eligible customers for %s in %.0f s", n_eligible, day, summary["seconds"]
    )
    return summary


def _partition_scorer(scorer: Scorer, day: Date, labels, context: tuple, upper: int, tally):
    """The function each customer partition is scored by: its history built and validated,
    features, probabilities and up to ``upper`` explanations, as one flat frame."""
    incidents, observed_until, observed_from = context
    top = scorer.serving.top_reasons

    def scores_of(pdf: pd.DataFrame) -> pd.DataFrame:
        history, validated = partition_history(pdf, incidents, observed_until, observed_from)
        tally.add(validated)
        cutoff = pd.Timestamp(day).tz_localize("UTC")
        if not (history.customers["signup_at"] < cutoff).any():
            return pd.DataFrame()  # nobody to score here (Spark accepts an empty frame)
        scored, snapshot = score_customers(
            history,
            scorer,  # shipped with the function (cloudpickle: reason texts are lambdas)
            day,
            labels,
            explain_top=upper,
        )
        out = snapshot.copy()
        out["cutoff_at"] = out["cutoff_at"].dt.tz_localize(None)
        listed = pd.DataFrame(
            {
                "customer_id": scored["customer_id"].to_numpy(),
                "probability": scored["probability"].to_numpy(),
                "risk_tier": scored["risk_tier"].to_numpy(),
                "complaint_open": scored["complaint_open"].to_numpy(),
                **reason_columns(scored["reasons"], top),
                "model_name": scored["model_name"].to_numpy(),
                "model_version": scored["model_version"].to_numpy(),
            }
        )
        return out.merge(listed, on="customer_id", how="left")

    return scores_of


def _explained_within(listed, capacity: int, order: list, top: int):
    """The list's columns, reasons kept for the top ``capacity`` and the high and medium
    tiers only (as the embedded engine does), cleared for everyone else."""
    from pyspark.sql import functions as F

    last = listed.orderBy(*order).limit(capacity).collect()[-1] if capacity else None
    within = (
        (F.col("probability") > last["probability"])
        | (
            (F.col("probability") == last["probability"])
            & (F.col("customer_id") <= last["customer_id"])
        )
        if last is not None
        else F.lit(False)
    )
    keep = within | F.col("risk_tier").isin("high", "medium")
    cleared = {f"reason_{i + 1}": F.lit("") for i in range(top)} | {
        "reason_codes": F.lit(""),
        "suggested_action": F.lit("No action needed"),
        "reasons_json": F.lit("[]"),
    }
    return listed.select(
        "customer_id",
        "probability",
        "risk_tier",
        "segment",
        "complaint_open",
        *[F.when(keep, F.col(c)).otherwise(v).alias(c) for c, v in cleared.items()],
        "cutoff_at",
        "model_name",
        "model_version",
    )


def _ranked(spark, ordered):
    """``ordered`` with a 1-based ``rank`` column first, numbered without moving every row to
    one task (``zipWithIndex`` counts each partition, then numbers within it)."""
    from pyspark.sql.types import LongType, StructField, StructType

    schema = StructType([StructField("rank", LongType(), False), *ordered.schema.fields])
    rows = ordered.rdd.zipWithIndex().map(lambda pair: (pair[1] + 1, *pair[0]))
    return spark.createDataFrame(rows, schema)


def read_spark_list(out: Path, day: Date) -> pd.DataFrame:
    """One date of the Spark engine's risk list, ranked (as pandas)."""
    frame = pd.read_parquet(Path(out) / LIST_FOLDER / f"{DATE_COLUMN}={day.isoformat()}")
    frame["cutoff_at"] = pd.to_datetime(frame["cutoff_at"], utc=True)
    return frame.sort_values("rank", kind="stable").reset_index(drop=True)
