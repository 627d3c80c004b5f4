"""Shared fixtures: tiny inline histories, a small simulated world, a trained workspace."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.pop("MLFLOW_TRACKING_URI", None)  # tests use their own temporary stores

import pandas as pd
import pytest

from data.contract import COMPLAINTS, CONTACTS, CUSTOMERS, EVENTS, INCIDENTS, validate_table
from data.history import History
from experiments.config import RadarConfig, load_config

os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

T0 = pd.Timestamp("2026-03-10", tz="UTC")


def ts(offset: str) -> pd.Timestamp:
    """A time relative to T0, e.g. ts('-2h'), ts('+1s')."""
    return T0 + pd.Timedelta(offset)


def make_history(
    contacts: list[dict] | None = None,
    complaints: list[dict] | None = None,
    events: list[dict] | None = None,
    incidents: list[dict] | None = None,
    customers: list[dict] | None = None,
    observed_until: pd.Timestamp | None = None,
) -> History:
    """A validated History from a few inline rows; unspecified fields get dull defaults."""
    customer_defaults = {
        "customer_id": "A",
        "signup_at": ts("-400D"),
        "segment": "retail",
        "region": "north",
        "age_band": "30-44",
        "plan": "basic",
        "bill_day": 5,
    }
    contact_defaults = {
        "customer_id": "A",
        "channel": "phone",
        "reason": "billing",
        "wait_seconds": 60.0,
        "handle_seconds": 300.0,
        "transferred": False,
        "resolved": True,
        "sentiment": 20.0,
    }
    rows = {
        CUSTOMERS: [{**customer_defaults, **c} for c in (customers or [{}])],
        CONTACTS: [
            {"contact_id": f"K{i}", **contact_defaults, **c} for i, c in enumerate(contacts or [])
        ],
        COMPLAINTS: [
            {
                "complaint_id": f"Q{i}",
                "customer_id": "A",
                "resolved_at": None,
                "category": "billing",
                "severity": 2,
                "channel": "phone",
                **c,
            }
            for i, c in enumerate(complaints or [])
        ],
        EVENTS: [{"customer_id": "A", "amount": 10.0, **e} for e in (events or [])],
        INCIDENTS: [
            {"region": "north", "ended_at": None, "severity": 2, **i} for i in (incidents or [])
        ],
    }
    frames = {}
    for schema, data in rows.items():
        valid, report = validate_table(pd.DataFrame(data, columns=schema.column_names), schema)
        assert report.n_rejected == 0, [str(i) for i in report.issues]
        frames[schema.name] = valid
    return History.from_frames(**frames, observed_until=observed_until or ts("+30D"))


def small_config(root: Path) -> RadarConfig:
    """Defaults shrunk to a world of a few hundred customers and ~2.5 months."""
    return load_config(
        workspace={"root": str(root)},
        split={"warmup_days": 14, "validation_days": 14, "test_days": 14, "gap_hours": 48},
        model={
            "n_estimators": 150,
            "early_stopping_rounds": 30,
            "min_child_samples": 40,
            "seed": 1,
        },
        simulation={"customers": 400, "days": 80, "seed": 11, "truth_paths": 4},
        evaluation={"bootstrap_samples": 20},
    )


@pytest.fixture(scope="session")
def postgresql_url():
    """A real PostgreSQL server, started for this test session and stopped after it."""
    from tests.postgres import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from data.simulator import simulate_world

    out = tmp_path_factory.mktemp("world") / "world"
    sim = small_config(out).simulation
    simulate_world(out, sim.customers, sim.days, sim.seed, truth_paths=sim.truth_paths)
    return out


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, small_world: Path):
    """A workspace with one trained, registered champion and a published risk list."""
    from data.load import load_history
    from serving.batch.risk_list import score_day
    from serving.scorer import Scorer
    from training.train import train

    root = tmp_path_factory.mktemp("workspace")
    config = small_config(root)
    result = train(config, small_world)
    history, _ = load_history(small_world)
    scorer = Scorer.from_registry(config)
    day = history.observed_until.date()
    list_dir, risk_list = score_day(
        history, scorer, day, config.workspace.risk_lists_dir, config.labels
    )
    return {
        "config": config,
        "result": result,
        "history": history,
        "scorer": scorer,
        "list_dir": list_dir,
        "risk_list": risk_list,
        "root": root,
    }
