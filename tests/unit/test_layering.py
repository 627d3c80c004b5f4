"""The import graph: no cycles, and no module imports from a layer above its own.

Lowest first: configuration and file I/O -> data contract and loading -> features ->
training -> serving -> the CLI, demo and process helpers. The simulator produces data: only
the roof may import it.
"""

from __future__ import annotations

import ast
from pathlib import Path

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
