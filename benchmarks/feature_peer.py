"""The feature engine against what a data scientist would write instead: SQL in DuckDB.

Ten catalogue features (windowed counts, a sum, a mean, a last value) written as DuckDB
SQL over the same cutoffs (every customer at each of the last ``--days`` midnights of a
world), beside ``build_features`` asked for the same ten (it builds the families they
belong to, 38 features) and for the whole catalogue. All read the same validated
in-memory tables; loading is not timed. Values are compared: they must agree (to 1e-9)
or the timing means nothing.

Usage (worlds from ``radar simulate``; ``benchmarks/scale.py`` makes them):
    .venv/bin/python benchmarks/feature_peer.py --data workspace/scale/c30000/world \
        [--data ...] [--days 7] [--append]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import append_result  # noqa: E402
from data.load import load_history  # noqa: E402
from features.build import build_features_in_chunks  # noqa: E402
from features.catalogue import FEATURE_NAMES, FEATURES_BY_NAME, families_of  # noqa: E402

DAY = 86_400
PEER_FEATURES = (
    "contacts_1d",
    "contacts_7d",
    "contacts_30d",
    "contacts_90d",
    "unresolved_7d",
    "unresolved_30d",
    "mean_wait_minutes_30d",
    "last_sentiment",
    "failed_amount_30d",
    "complaints_90d",
)
# Times are whole seconds, floored, as in the feature engine; windows are [t - w, t).
PEER_SQL = f"""
WITH c AS (
    SELECT row_number() OVER () - 1 AS row, customer_id, epoch(cutoff_at)::BIGINT AS t
    FROM cutoffs
),
k AS (
    SELECT customer_id, floor(epoch(started_at))::BIGINT AS s, floor(epoch(closed_at))::BIGINT AS e,
           wait_seconds, resolved, sentiment
    FROM contacts
),
started AS (
    SELECT c.row,
           count(*) FILTER (WHERE k.s >= c.t - {DAY}) AS contacts_1d,
           count(*) FILTER (WHERE k.s >= c.t - {7 * DAY}) AS contacts_7d,
           count(*) FILTER (WHERE k.s >= c.t - {30 * DAY}) AS contacts_30d,
           count(*) AS contacts_90d
    FROM c JOIN k ON k.customer_id = c.customer_id AND k.s >= c.t - {90 * DAY} AND k.s < c.t
    GROUP BY c.row
),
closed AS (
    SELECT c.row,
           count(*) FILTER (WHERE k.e >= c.t - {7 * DAY} AND NOT k.resolved) AS unresolved_7d,
           count(*) FILTER (WHERE k.e >= c.t - {30 * DAY} AND NOT k.resolved) AS unresolved_30d,
           avg(k.wait_seconds / 60) FILTER (WHERE k.e >= c.t - {30 * DAY}) AS mean_wait_minutes_30d,
           arg_max(k.sentiment, k.e) AS last_sentiment
    FROM c JOIN k ON k.customer_id = c.customer_id AND k.e < c.t
    GROUP BY c.row
),
failed AS (
    SELECT c.row, sum(v.amount) AS failed_amount_30d
    FROM c JOIN events v ON v.customer_id = c.customer_id AND v.event_type = 'payment_failed'
     AND floor(epoch(v.occurred_at)) >= c.t - {30 * DAY} AND floor(epoch(v.occurred_at)) < c.t
    GROUP BY c.row
),
filed AS (
    SELECT c.row, count(*) AS complaints_90d
    FROM c JOIN complaints q ON q.customer_id = c.customer_id
     AND floor(epoch(q.filed_at)) >= c.t - {90 * DAY} AND floor(epoch(q.filed_at)) < c.t
    GROUP BY c.row
)
SELECT c.row,
       coalesce(contacts_1d, 0) AS contacts_1d, coalesce(contacts_7d, 0) AS contacts_7d,
       coalesce(contacts_30d, 0) AS contacts_30d, coalesce(contacts_90d, 0) AS contacts_90d,
       coalesce(unresolved_7d, 0) AS unresolved_7d, coalesce(unresolved_30d, 0) AS unresolved_30d,
       mean_wait_minutes_30d, last_sentiment,
       coalesce(failed_amount_30d, 0) AS failed_amount_30d, coalesce(complaints_90d, 0) AS complaints_90d
FROM c
LEFT JOIN started USING (row) LEFT JOIN closed USING (row)
LEFT JOIN failed USING (row) LEFT JOIN filed USING (row)
ORDER BY c.row
"""


def peer_features(history, cutoffs: pd.DataFrame, threads: int) -> pd.DataFrame:
    con = duckdb.connect(config={"threads": threads})
    for name in ("contacts", "complaints", "events"):
        con.register(name, getattr(history, name))
    con.register("cutoffs", cutoffs)
    return con.execute(PEER_SQL).df()


def compare(ours: pd.DataFrame, peer: pd.DataFrame) -> dict[str, int]:
    """Rows where the two disagree, per feature (NaN equals NaN)."""
    out = {}
    for name in PEER_FEATURES:
        a = ours[name].to_numpy(dtype=float)
        b = peer[name].to_numpy(dtype=float)
        same = np.isclose(a, b, rtol=1e-9, atol=1e-9) | (np.isnan(a) & np.isnan(b))
        out[name] = int((~same).sum())
    return out


def run(data: Path, days: int, threads: int) -> dict[str, object]:
    history, _ = load_history(data)
    last = history.observed_until.normalize()
    stamps = pd.date_range(last - pd.Timedelta(days=days - 1), last, freq="D").as_unit("ns")
    ids = history.customers["customer_id"].to_numpy()
    cutoffs = pd.DataFrame(
        {"customer_id": np.tile(ids, len(stamps)), "cutoff_at": np.repeat(stamps, len(ids))}
    )
    started = time.perf_counter()
    ours = build_features_in_chunks(history, cutoffs)
    ours_s = time.perf_counter() - started
    del ours
    started = time.perf_counter()
    same = build_features_in_chunks(history, cutoffs, features=PEER_FEATURES)
    same_s = time.perf_counter() - started
    started = time.perf_counter()
    peer = peer_features(history, cutoffs, threads)
    peer_s = time.perf_counter() - started
    return {
        "customers": len(ids),
        "cutoffs": len(cutoffs),
        "ours_s": ours_s,
        "same_s": same_s,
        "peer_s": peer_s,
        "disagreements": compare(same, peer),
        "n_features": len(FEATURE_NAMES),
        "n_built_for_peer": len(
            [n for n in FEATURE_NAMES if FEATURES_BY_NAME[n].family in families_of(PEER_FEATURES)]
        ),
        "n_peer_features": len(PEER_FEATURES),
    }


TABLE_HEAD = (
    "| customers | cutoffs | ours: the same 10, s | DuckDB: 10, s | ours / DuckDB "
    f"| ours: all {len(FEATURE_NAMES)}, s | rows that disagree |",
    "|---|---|---|---|---|---|---|",
)


def table_row(r: dict) -> str:
    """One size's row of :data:`TABLE_HEAD`."""
    bad = ", ".join(f"{k} {v}" for k, v in r["disagreements"].items() if v) or "none"
    return (
        f"| {r['customers']:,} | {r['cutoffs']:,} | {r['same_s']:.1f} | {r['peer_s']:.1f} | "
        f"{r['same_s'] / r['peer_s']:.2f}x | {r['ours_s']:.1f} | {bad} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, nargs="+", required=True)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument(
        "--threads", type=int, default=2, help="DuckDB threads (the machine's cores)"
    )
    parser.add_argument("--append", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the results here (a JSON list)")
    args = parser.parse_args()
    lines = [*TABLE_HEAD]
    results = []
    for data in args.data:
        r = run(data, args.days, args.threads)
        results.append(r)
        print(r, flush=True)
        lines.append(table_row(r))
    text = "\n".join(lines)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if args.append:
        append_result("Feature engine vs DuckDB SQL", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
