"""The Spark engine (local mode) against the embedded one on the same small world: the
same training rows, the same probabilities (to 1e-9) and the same reasons."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.config import with_section

pytestmark = pytest.mark.slow

pyspark = pytest.importorskip("pyspark", reason="PySpark is not installed")
if shutil.which("java") is None:
    pytest.skip("no Java runtime (make java installs Debian's)", allow_module_level=True)


@pytest.fixture(scope="module")
def spark():
    from data.spark_tables import spark_session

    session = spark_session("complaint-radar tests", "local[2]", 3)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def flawed_world(small_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small world with one contact that breaks the contract (a negative wait), and its
    contacts as a folder of Parquet files, as an export from a data lake would be."""
    out = tmp_path_factory.mktemp("flawed") / "world"
    shutil.copytree(small_world, out)
    contacts = pd.read_parquet(out / "contacts.parquet")
    contacts.loc[5, "wait_seconds"] = -5.0
    (out / "contacts.parquet").unlink()
    (out / "contacts").mkdir()
    half = len(contacts) // 2
    contacts.iloc[:half].to_parquet(out / "contacts" / "part-0.parquet", index=False)
    contacts.iloc[half:].to_parquet(out / "contacts" / "part-1.parquet", index=False)
    return out


def test_training_on_spark_assembles_the_embedded_rows_and_registers(
    spark, flawed_world: Path, trained, tmp_path: Path
) -> None:
    from training.dataset import load_training_frame
    from training.spark_dataset import TRAINING_SET, read_training_set
    from training.train import train

    config = with_section(
        trained["config"].model_copy(
            update={"workspace": trained["config"].workspace.model_copy(update={"root": tmp_path})}
        ),
        "spark",
        partitions=3,
    )
    # As a URI, the way a cluster names its data (hdfs://, s3a://): read through Hadoop.
    result = train(config, flawed_world.as_uri(), engine="spark")
    on_spark = read_training_set(config.workspace.spark_dir / TRAINING_SET)
    embedded, _, report = load_training_frame(config, flawed_world)
    assert report["tables"]["contacts"]["rows_rejected"] == 1

    columns = [c for c in embedded.columns if c != "true_risk"]
    keys = ["cutoff_at", "customer_id"]
    expected = embedded[columns].sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(on_spark[columns], expected, check_exact=True)
    assert result.evaluation["version"]
    assert result.evaluation["model"]["average_precision"] > 0


def test_an_export_of_the_required_columns_assembles_alike_on_spark(
    spark, small_world: Path, trained, tmp_path: Path
) -> None:
    """No customers table (derived from first sight), no resolution times (complaints open
    for the bounded time), no split.start: Spark learns the same parameters, eligibility and
    rows as the embedded engine, partition by partition. Here with the dense start found
    by Spark's count of activity per day."""
    from training.dataset import load_training_frame
    from training.spark_dataset import spark_training_frame

    data = tmp_path / "export"
    data.mkdir()
    contacts = pd.read_parquet(small_world / "contacts.parquet")
    contacts[["contact_id", "customer_id", "started_at"]].to_parquet(data / "contacts.parquet")
    complaints = pd.read_parquet(small_world / "complaints.parquet")
    complaints[["complaint_id", "customer_id", "filed_at"]].to_parquet(data / "complaints.parquet")
    shutil.copy(small_world / "manifest.json", data / "manifest.json")
    config = with_section(
        with_section(trained["config"], "spark", partitions=3, output=str(tmp_path / "out")),
        "split",
        start="auto",
    )
    on_spark, periods, summary = spark_training_frame(config, data, spark)
    embedded, embedded_periods, report = load_training_frame(config, data)
    assert periods == embedded_periods
    assert summary["feature_parameters"] == report["feature_parameters"]
    assert summary["feature_parameters"]["first_seen_signup"] is True
    assert summary["periods"] == report["periods"]
    keys = ["cutoff_at", "customer_id"]
    expected = embedded.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(on_spark[expected.columns], expected, check_exact=True)


def test_spark_scores_and_reasons_equal_the_embedded_engine(
    spark, small_world: Path, trained, tmp_path: Path
) -> None:
    from serving.batch.risk_list import build_risk_list, score_customers
    from serving.batch.spark_scoring import FEATURES_FOLDER, read_spark_list, score_on_spark

    config = with_section(trained["config"], "spark", partitions=3, output=str(tmp_path))
    scorer, history = trained["scorer"], trained["history"]
    day = history.observed_until.date() - timedelta(days=3)
    summary = score_on_spark(config, small_world, day, scorer, spark)
    on_spark = read_spark_list(tmp_path, day)
    assert summary["rows_rejected"] == 0

    labels, capacity = config.labels, config.evaluation
    embedded, snapshot = build_risk_list(history, scorer, day, labels, capacity)
    exact, _ = score_customers(history, scorer, day, labels, capacity)
    assert summary["n_eligible"] == len(embedded) == len(on_spark)
    assert on_spark["customer_id"].tolist() == embedded["customer_id"].tolist()
    assert on_spark["rank"].tolist() == embedded["rank"].tolist()
    probability = exact.set_index("customer_id")["probability"]
    gap = np.abs(
        on_spark["probability"].to_numpy() - probability[on_spark["customer_id"]].to_numpy()
    )
    assert gap.max() <= 1e-9
    for column in ["risk_tier", "reason_1", "reason_2", "reason_3", "reason_codes"]:
        assert on_spark[column].tolist() == embedded[column].tolist(), column
    assert on_spark["suggested_action"].tolist() == embedded["suggested_action"].tolist()
    # SHAP contributions are sums over trees in another batch: equal to 1e-9, not bit for bit.
    for mine, theirs in zip(on_spark["reasons_json"], embedded["reasons_json"], strict=True):
        mine, theirs = json.loads(mine), json.loads(theirs)
        assert [r["contribution"] for r in mine] == pytest.approx(
            [r["contribution"] for r in theirs], abs=1e-9
        )
        for r in [*mine, *theirs]:
            r.pop("contribution")
        assert mine == theirs
    explained = (on_spark["reason_codes"] != "").sum()
    assert explained >= summary["explained_capacity"] > 0

    features = pd.read_parquet(tmp_path / FEATURES_FOLDER / f"scored_for={day.isoformat()}")
    features = features.set_index("customer_id").loc[snapshot["customer_id"]]
    for name in snapshot.columns.drop(["customer_id", "cutoff_at"]):
        left, right = features[name].to_numpy(), snapshot[name].to_numpy()
        if left.dtype.kind == "f":
            np.testing.assert_array_equal(left, right.astype(float), err_msg=name)
        else:
            assert left.tolist() == right.tolist(), name


def test_mostly_rejected_data_stops_spark_scoring_and_keeps_the_last_output(
    spark, small_world: Path, trained, tmp_path: Path
) -> None:
    from data.load import DataQualityError
    from serving.batch.spark_scoring import read_spark_list, score_on_spark

    config = with_section(trained["config"], "spark", partitions=3, output=str(tmp_path / "out"))
    day = trained["history"].observed_until.date()
    score_on_spark(config, small_world, day, trained["scorer"], spark)
    before = read_spark_list(tmp_path / "out", day)

    broken = tmp_path / "broken"
    shutil.copytree(small_world, broken)
    contacts = pd.read_parquet(broken / "contacts.parquet")
    contacts.loc[contacts.index[: len(contacts) // 3], "wait_seconds"] = -1.0  # a third invalid
    contacts.to_parquet(broken / "contacts.parquet", index=False)
    with pytest.raises(
        DataQualityError, match=r"table 'contacts' had .* rows \(33\.\d%\) set aside"
    ):
        score_on_spark(config, broken, day, trained["scorer"], spark)
    pd.testing.assert_frame_equal(read_spark_list(tmp_path / "out", day), before)
