"""The import graph: the edges (cli.py, ui/) reach the core only through the application layer, and no module
imports itself back through another — function-level and type-only imports counted, since each one couples."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "peaklens"
#: what an edge may import besides its own package: the application layer, its answers, the settings it
#: builds, the value types it fills (filters) and the errors it shows
EDGE_ALLOWED = {
    "peaklens.library",
    "peaklens.answers",
    "peaklens.config",
    "peaklens.records",
    "peaklens.errors",
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def imports_of(name: str) -> set[str]:
    """Every peaklens module ``name`` imports, anywhere in its body."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: imports_of(name) for name in MODULES}


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(GRAPH[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    return components


def test_no_module_imports_itself_back() -> None:
    assert _cycles() == []


def test_the_cycle_finder_sees_a_function_level_cycle() -> None:
    """The check above can fail: a graph with a cycle through a function-level import is found."""
    saved = {k: set(v) for k, v in GRAPH.items()}
    try:
        GRAPH["peaklens.errors"].add("peaklens.library")  # library imports errors at module level
        assert any({"peaklens.errors", "peaklens.library"} <= set(c) for c in _cycles())
    finally:
        GRAPH.clear()
        GRAPH.update(saved)


def test_the_cli_reaches_the_core_only_through_the_application_layer() -> None:
    # `peaklens ui` starts the other edge: its launcher is the one UI module the CLI may name
    assert GRAPH["peaklens.cli"] - EDGE_ALLOWED - {"peaklens.ui.launch"} == set()
    assert "peaklens.library" in GRAPH["peaklens.cli"]


def test_the_ui_reaches_the_core_only_through_the_application_layer() -> None:
    ui_modules = [name for name in GRAPH if name == "peaklens.ui" or name.startswith("peaklens.ui.")]
    assert "peaklens.ui.app" in ui_modules
    reached = {name: GRAPH[name] - EDGE_ALLOWED - set(ui_modules) for name in ui_modules}
    assert {name: sorted(mods) for name, mods in reached.items() if mods} == {}


def test_no_test_module_imports_another() -> None:
    tests = Path(__file__).resolve().parent
    offenders = []
    for path in sorted(tests.rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.split(".")[-1].startswith("test_")
            ):
                offenders.append(f"{path.relative_to(tests)} imports {node.module}")
    assert offenders == []
