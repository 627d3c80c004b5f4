"""What the load benchmarks share: wrk must be there, and servers run on a throw-away copy
of the workspace's registry and lists (so what a benchmark posts never lands in it)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from experiments.config import RadarConfig, load_config


def require_wrk() -> None:
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")


def workspace_copy(workspace: Path, tmp: Path) -> RadarConfig:
    """A config whose workspace is a copy, under ``tmp``, of ``workspace``'s MLflow store and
    risk lists (the model artifacts are read in place)."""
    copy = Path(tmp) / "workspace"
    copy.mkdir()
    shutil.copy2(workspace / "mlflow.db", copy / "mlflow.db")
    shutil.copytree(workspace / "risk_lists", copy / "risk_lists")
    return load_config(workspace={"root": str(copy)})
