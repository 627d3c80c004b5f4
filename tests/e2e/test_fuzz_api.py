"""Schema-driven fuzzing of the whole API on the real server, with every check schemathesis
has: no server error, and no answer that contradicts the OpenAPI document the service
publishes (a schema-valid request accepted, a schema-invalid one refused, every response
as documented).

Cases come from the service's own document, valid and deliberately invalid ones, so a
request model change is fuzzed without touching this test.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

pytest.importorskip("schemathesis")

from radar.process import free_port, service_env, start_service, stop

pytestmark = pytest.mark.slow
EXAMPLES_PER_OPERATION = 40


@pytest.fixture(scope="module")
def server(trained, tmp_path_factory):
    """The real server on a copy of the trained workspace (the fuzz posts events and
    outcomes; other tests must not see them)."""
    root = tmp_path_factory.mktemp("fuzzed") / "ws"
    shutil.copytree(trained["root"], root)
    config = trained["config"].model_copy(
        update={"workspace": trained["config"].workspace.model_copy(update={"root": root})}
    )
    port = free_port(0)
    proc = start_service(config, port, root / "service.log", env=service_env(config), timeout=120)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def test_every_operation_passes_every_check(server, trained, tmp_path):
    st = shutil.which("st", path=str(Path(sys.executable).parent))
    assert st is not None, "schemathesis' command line is part of the dev dependencies"
    done = subprocess.run(
        [
            st, "run", f"{server}/docs.json", "--checks", "all",
            "-n", str(EXAMPLES_PER_OPERATION), "--generation-deterministic", "--no-color",
        ],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,
    )  # fmt: skip
    report = done.stdout + done.stderr
    summary = re.search(r"(\d+) generated, (\d+) passed", report)
    assert done.returncode == 0 and summary is not None, report[-6000:]
    generated, passed = map(int, summary.groups())
    assert generated == passed and generated >= 8 * 25, summary.group(0)
    # The server under fuzz still answers a real request (it was not merely refusing everything).
    ok = httpx.post(
        f"{server}/score",
        json={"customer_ids": trained["risk_list"]["customer_id"].head(2).tolist()},
        timeout=30,
    )
    assert ok.status_code == 200 and ok.json()["results"][0]["status"] == "ok"
