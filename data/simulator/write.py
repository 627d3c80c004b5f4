"""``simulate_world``: run a world and write its tables, true risk and manifest to a folder."""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from data.contract import SCHEMAS, validate_table
from data.fileio import atomic_directory, write_json
from data.load import MANIFEST, TRUE_RISK_FILE
from data.simulator.params import WorldParams
from data.simulator.world import World

log = logging.getLogger(__name__)


def simulate_world(
    out: Path | str,
    customers: int,
    days: int,
    seed: int,
    start: pd.Timestamp | str = "2026-01-01",
    truth_paths: int = 16,
    params: WorldParams | None = None,
    horizon_hours: int = 48,
    truth_days: int | None = None,
) -> dict[str, object]:
    """Simulate a world and write it to ``out`` (replaced atomically); return the manifest.

    ``truth_days`` limits the true risk to the last that many daily cutoffs (None: all).
    """
    params = params or WorldParams()
    world = World(
        params, customers, days, seed, pd.Timestamp(start), truth_paths, horizon_hours, truth_days
    )
    tables = world.run()
    return write_world(Path(out), world, tables, params, truth_paths, truth_days, horizon_hours)


def write_world(
    out: Path,
    world: World,
    tables: dict[str, pd.DataFrame],
    params: WorldParams,
    truth_paths: int,
    truth_days: int | None,
    horizon_hours: int,
) -> dict[str, object]:
    """Check ``tables`` against the contract and write them with their manifest to ``out``
    (replaced atomically); the manifest's ``days`` and end are how far ``world`` has run."""
    for name, schema in SCHEMAS.items():
        _, report = validate_table(tables[name], schema)
        if report.n_rejected:  # the generator must honour its own contract
            raise AssertionError(
                f"simulator produced invalid {name} rows: {[str(i) for i in report.issues]}"
            )
    days = world.hour // 24
    end = world.start + pd.Timedelta(days=days)
    manifest = {
        "generator": "complaint-radar synthetic world v1",
        "seed": world.seed,
        "customers": world.n,
        "days": days,
        "start": world.start.isoformat(),
        "observed_until": end.isoformat(),
        "truth_paths": truth_paths,
        "truth_days": truth_days,
        "horizon_hours": horizon_hours,
        "rows": {k: len(v) for k, v in tables.items()},
        "params": asdict(params),
    }
    with atomic_directory(Path(out)) as staging:
        for name, frame in tables.items():
            file = TRUE_RISK_FILE if name == "true_risk" else f"{name}.parquet"
            frame.to_parquet(staging / file, index=False)
        write_json(staging / MANIFEST, manifest)
    log.info("wrote world to %s: %s", out, manifest["rows"])
    return manifest
