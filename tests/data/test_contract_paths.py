"""The contract's two validation paths agree: value by value for a few rows (what the
service validates per request), vectorised for files. Random messy tables go through both;
valid rows, rejected rows with their reasons, warnings and the issue report must be equal."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from data import contract
from data.contract import SCHEMAS, validate_table

POOLS = {
    "time": [
        "2026-03-10T08:00:00Z",
        "2026-03-10 09:30:00+02:00",
        "2026-03-10T08:00:00.250Z",
        " 2026-01-01 ",
        "2026-03-10",
        "yesterday",
        "1900-01-01T00:00:00Z",
        "2999-01-01T00:00:00Z",
        "NA",
        "null",
        "",
        None,
        pd.Timestamp("2026-02-01 10:00", tz="UTC"),
        datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC),
        1767225600,
        1.5,
    ],
    "float": ["12.5", " 7 ", "-3", "1e3", "abc", "inf", "-inf", "nan", "N/A", "", None, 4.0, 2, True, 5e12, -150, 99.9],
    "int": ["1", "2", "3", "2.0", "2.5", "0", "29", "x", "none", "", None, 3, 1.0, 28],
    "bool": ["true", "False", "yes", "no", "1", "0", "1.0", "maybe", "T", "null", "", None, True, False],
    "id": ["C1", "C2", " C3 ", "K-9", "", "   ", None, "NA", "x" * 200, 7, "C1"],
    "category": ["phone", "Phone ", "CHAT", "fax", "retail", "payment_failed", "basic", "30-44", "", None, "other", "NA"],
    "text": ["north", " south", "NA", "", None, "east", 12],
}  # fmt: skip


def messy_table(schema, rng: np.random.Generator, n: int) -> pd.DataFrame:
    columns = {}
    for col in schema.columns:
        if not col.required and rng.random() < 0.3:
            continue  # an optional column may be absent altogether
        pool = POOLS[col.kind]
        if col.kind == "float" and rng.random() < 0.3:  # sometimes a typed numeric column
            columns[col.name] = rng.choice([1.5, -2.0, np.nan, 1e10, 30.0], size=n)
        elif col.kind == "time" and rng.random() < 0.2:  # sometimes a typed time column
            base = pd.Timestamp("2026-03-01", tz="UTC")
            columns[col.name] = pd.Series(
                [base + pd.Timedelta(hours=int(h)) for h in rng.integers(0, 200, n)]
            )
        else:
            columns[col.name] = [pool[i] for i in rng.integers(0, len(pool), n)]
    return pd.DataFrame(columns)


def issues_of(report) -> list[tuple]:
    return [
        (i.column, i.problem, i.count, i.severity, [str(e) for e in i.examples])
        for i in report.issues
    ]


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_row_by_row_and_vectorised_validation_agree(name, monkeypatch):
    schema = SCHEMAS[name]
    rng = np.random.default_rng(len(name))
    compared = 0
    for _ in range(60):
        raw = messy_table(schema, rng, int(rng.integers(1, 30)))
        valid, report = validate_table(raw, schema)
        with monkeypatch.context() as m:
            m.setattr(contract, "SMALL_TABLE_ROWS", -1)  # force the vectorised path
            v_valid, v_report = validate_table(raw, schema)
        pd.testing.assert_frame_equal(valid, v_valid)
        pd.testing.assert_frame_equal(
            report.rejected.reset_index(drop=True), v_report.rejected.reset_index(drop=True)
        )
        assert list(report.row_warnings) == list(v_report.row_warnings)
        assert issues_of(report) == issues_of(v_report)
        assert (report.n_input, report.n_valid) == (v_report.n_input, v_report.n_valid)
        compared += len(raw)
    assert compared > 500


def test_duplicate_keys_are_reported_alike(monkeypatch):
    raw = pd.DataFrame(
        {
            "event_id": ["E1", " E1", "E2", None, None],
            "customer_id": ["A", "A", "A", "A", "A"],
            "occurred_at": ["2026-03-10T08:00:00.5Z", "2026-03-10T08:00:00.5Z", "2026-03-11"]
            + ["2026-03-12"] * 2,
            "event_type": ["refund", "Refund", "refund", "refund", "refund"],
        }
    )
    valid, report = validate_table(raw, SCHEMAS["events"])
    monkeypatch.setattr(contract, "SMALL_TABLE_ROWS", -1)
    v_valid, v_report = validate_table(raw, SCHEMAS["events"])
    # E1 twice is one event; two identical rows without ids are two events (both count).
    assert len(valid) == 4 and report.n_rejected == 1
    duplicate = [i for i in report.issues if i.problem == "duplicate key"]
    assert duplicate[0].examples == ["row 2, event_id E1: 'E1'"]
    assert issues_of(report) == issues_of(v_report)
    pd.testing.assert_frame_equal(valid, v_valid)
