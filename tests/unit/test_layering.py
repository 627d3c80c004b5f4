"""The import graph: no cycles, and no module imports from a layer above its own.

Lowest first: configuration and file I/O -> data contract and loading -> features ->
training -> serving -> the CLI, demo and process helpers. The simulator produces data: only
the roof may import it.

Inside ``serving/``, rooms by job: the scorer, the publication layout and the shared field
types at the bottom; outreach (assignment, outcome store, page renderer) above them; then
the HTTP service (``api``), the batch jobs and monitoring, side by side and blind to each
other. The processes are checked too: the service loads no batch or monitoring code, and
``radar score`` or ``radar monitor`` load no HTTP code.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("experiments", "data", "features", "training", "serving", "radar")
# Longest matching prefix wins.
LAYERS = {
    "experiments": 0,
    "data.fileio": 0,
    "data": 1,
    "data.simulator": 1,
    "features": 2,
    "training": 3,
    "serving": 4,
    "radar": 5,
}
ONLY_FOR_THE_ROOF = ("data.simulator",)
# Rooms of serving/, each with the rooms it may import (besides its own).
SERVING_BASE = ("serving.scorer", "serving.publication", "serving.fields")
SERVING_ROOMS: dict[str, tuple[str, ...]] = {
    "serving.outreach": SERVING_BASE,
    "serving.api": (*SERVING_BASE, "serving.outreach"),
    "serving.batch": (*SERVING_BASE, "serving.outreach"),
    "serving.monitoring": (*SERVING_BASE, "serving.outreach"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {
        module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if p.is_file()
    }


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Project modules ``path`` imports anywhere (top level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        found |= {n for n in names if n in known}
    return found


def layer(module: str) -> int:
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[best]


def graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {m: imports_of(p, set(modules)) - {m} for m, p in modules.items()}


def test_no_module_imports_from_a_layer_above_its_own():
    upward = [
        f"{m} (layer {layer(m)}) imports {d} (layer {layer(d)})"
        for m, deps in graph().items()
        for d in deps
        if layer(d) > layer(m)
    ]
    assert upward == []


def test_only_the_roof_imports_the_simulator():
    wrong = [
        f"{m} imports {d}"
        for m, deps in graph().items()
        for d in deps
        if d.startswith(ONLY_FOR_THE_ROOF) and not m.startswith(("radar", *ONLY_FOR_THE_ROOF))
    ]
    assert wrong == []


def test_there_are_no_import_cycles():
    edges = graph()
    # Package __init__ modules are empty markers; an import of a package names its module.
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*trail[trail.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    assert cycles == []


def _room(module: str) -> str | None:
    return next((r for r in (*SERVING_ROOMS, *SERVING_BASE) if _within(module, r)), None)


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_serving_rooms_import_only_the_rooms_they_need():
    edges = graph()
    rooms = {_room(m) for m in edges if m.startswith("serving.")}
    assert None not in rooms, "a module of serving/ lies outside every room"
    wrong = []
    for m, deps in edges.items():
        room = _room(m)
        for d in deps:
            target = _room(d)
            if room is None or target is None or target == room:
                continue
            allowed = SERVING_ROOMS.get(room, ())  # the base imports no room
            if target not in allowed:
                wrong.append(f"{m} ({room}) imports {d} ({target})")
    assert wrong == []


def _loaded_by(statement: str) -> set[str]:
    """The modules a fresh interpreter holds after ``statement``."""
    code = f"{statement}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


@pytest.mark.slow
def test_the_service_loads_no_batch_or_monitoring_code():
    loaded = _loaded_by("import serving.api.service")
    assert "bentoml" in loaded  # the statement really loaded the service
    assert not {
        m for m in loaded if _within(m, "serving.batch") or _within(m, "serving.monitoring")
    }


@pytest.mark.slow
@pytest.mark.parametrize("command", ["radar.commands.score", "radar.commands.monitor"])
def test_scoring_and_monitoring_load_no_http_code(command):
    module = command.rsplit(".", 1)[1]
    job = {"score": "serving.batch.risk_list", "monitor": "serving.monitoring.monitor"}[module]
    loaded = _loaded_by(f"import {command}, {job}")
    # Our HTTP stack; MLflow itself imports FastAPI and Starlette (its gateway), so those
    # two say nothing about our code.
    http = {"bentoml", "uvicorn"}
    assert job in loaded
    assert not {m for m in loaded if _within(m, "serving.api") or m.split(".")[0] in http}
