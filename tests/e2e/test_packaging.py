"""Packaging: the Bento builds offline, the CLI simulates what it says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from radar.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bentoml_build_succeeds_offline(tmp_path):
    env = {**os.environ, "BENTOML_HOME": str(tmp_path / "bentoml"), "BENTOML_DO_NOT_TRACK": "true"}
    bentoml = Path(sys.executable).parent / "bentoml"
    done = subprocess.run(
        [str(bentoml), "build", "--output", "tag"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "complaint_radar" in done.stdout
    built = list(
        (tmp_path / "bentoml" / "bentos" / "complaint_radar").glob("*/src/serving/api/service.py")
    )
    assert built, "the service source is packaged"
    # The packaged source alone imports the service: nothing it needs was left out.
    src = built[0].parents[2]
    for asset in ("serving/outreach/templates/list.html", "serving/outreach/static/list.js"):
        assert (src / asset).exists(), f"{asset} is packaged"
    imported = subprocess.run(
        [
            sys.executable,
            "-c",
            "import serving.api.service, sys; print(sys.modules['experiments'])",
        ],
        cwd=src,
        env={**env, "PYTHONPATH": str(src)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert imported.returncode == 0, imported.stderr[-2000:]
    assert str(src) in imported.stdout


def test_cli_simulate_writes_a_manifest(tmp_path, capsys):
    out = tmp_path / "w"
    assert (
        main(
            [
                "simulate",
                "--out",
                str(out),
                "--customers",
                "30",
                "--days",
                "15",
                "--seed",
                "2",
                "--truth-paths",
                "2",
            ]
        )
        == 0
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["customers"] == 30 and manifest["days"] == 15 and manifest["seed"] == 2
    assert json.loads(capsys.readouterr().out)["rows"]["customers"] == 30
