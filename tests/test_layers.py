"""The import graph keeps the layers of DESIGN.md: arrows point down the page, and never in a loop.

A layer that imports one above it, or two modules that import each other, make the code harder
to read in order and to change in one place; nothing else would notice until it hurt. The graph
is read from the source with ``ast`` rather than from ``sys.modules`` so that a test never has
to import the whole package, and so that imports made only inside functions count too: they run
all the same, just later. Only imports under ``if TYPE_CHECKING:`` are left out, since they never
run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT_PACKAGE = "thrifty"


def module_files() -> dict[str, Path]:
    """Every module under ``src/thrifty`` by dotted name; a package is its ``__init__.py``."""
    found: dict[str, Path] = {}
    for path in sorted((SRC / ROOT_PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def runtime_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """All nodes below ``node`` except the bodies of ``if TYPE_CHECKING:`` blocks."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and is_type_checking(child.test):
            for other in child.orelse:
                yield other
                yield from runtime_nodes(other)
            continue
        yield child
        yield from runtime_nodes(child)


def known(name: str, modules: dict[str, Path]) -> str | None:
    """The module that ``name`` loads: itself, or the nearest package above it that exists."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The thrifty modules that ``name`` imports when it runs."""
    is_package = path.name == "__init__.py"
    here = name if is_package else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = known(alias.name, modules)
                if target:
                    targets.add(target)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = here.split(".")
                if node.level > 1:
                    base_parts = base_parts[: -(node.level - 1)]
                base = ".".join(base_parts)
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            for alias in node.names:
                # `from pkg import module` loads the submodule; `from pkg import name` loads pkg.
                target = known(f"{source}.{alias.name}", modules) or known(source, modules)
                if target:
                    targets.add(target)
    targets.discard(name)
    return {t for t in targets if t == ROOT_PACKAGE or t.startswith(ROOT_PACKAGE + ".")}


def import_graph() -> dict[str, set[str]]:
    modules = module_files()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def crossings(graph: dict[str, set[str]], lower: str, upper: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{source} -> {target}"
        for source, targets in graph.items()
        if within(source, lower)
        for target in targets
        if any(within(target, package) for package in upper)
    )


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's components with more than one module: each holds at least one import cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def shortest_cycle(graph: dict[str, set[str]], members: list[str]) -> list[str]:
    """One concrete loop through the first module of a component, to name in the failure."""
    inside = set(members)
    start = members[0]
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for succ in sorted(graph[node] & inside):
                if succ == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if succ not in came_from:
                    came_from[succ] = node
                    following.append(succ)
        frontier = following
    return members


def test_the_walker_reads_imports_as_they_run(tmp_path: Path) -> None:
    """A walker that missed imports would pass every rule below: check it on a known module."""
    package = tmp_path / "thrifty" / "pkg"
    package.mkdir(parents=True)
    for name in ("__init__", "a", "b", "c", "d", "e"):
        (package / f"{name}.py").write_text("")
    (package / "main.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "import thrifty.pkg.a\n"
        "from . import b\n"
        "from .c import something\n"
        "if TYPE_CHECKING:\n"
        "    from thrifty.pkg import e\n"
        "else:\n"
        "    import os\n"
        "def later() -> None:\n"
        "    from thrifty.pkg import d\n"
        "    from thrifty.pkg import not_a_module\n"
    )
    modules = {
        f"thrifty.pkg.{p.stem}" if p.stem != "__init__" else "thrifty.pkg": p for p in package.iterdir()
    }
    found = imports_of("thrifty.pkg.main", package / "main.py", modules)
    assert found == {"thrifty.pkg", "thrifty.pkg.a", "thrifty.pkg.b", "thrifty.pkg.c", "thrifty.pkg.d"}


def test_the_graph_sees_the_package() -> None:
    graph = import_graph()
    assert "thrifty.core.events" in graph
    assert "thrifty.core.events" in graph["thrifty.agent.loop"]
    assert "thrifty.billing.ledger.sql" in graph["thrifty.billing.ledger.sqlite"]


def test_billing_imports_no_layer_above_it() -> None:
    above = ("thrifty.agent", "thrifty.cli", "thrifty.sdk", "thrifty.usage", "thrifty.mcp")
    found = crossings(import_graph(), "thrifty.billing", above)
    assert found == [], "\n".join(found)


def test_the_kernel_imports_only_itself() -> None:
    graph = import_graph()
    outside = sorted(
        f"{source} -> {target}"
        for source, targets in graph.items()
        if within(source, "thrifty.core")
        for target in targets
        if not within(target, "thrifty.core") and target != ROOT_PACKAGE
    )
    assert outside == [], "\n".join(outside)


def test_tools_import_neither_cli_nor_sdk() -> None:
    found = crossings(import_graph(), "thrifty.tools", ("thrifty.cli", "thrifty.sdk"))
    assert found == [], "\n".join(found)


def test_agent_imports_neither_cli_nor_sdk() -> None:
    found = crossings(import_graph(), "thrifty.agent", ("thrifty.cli", "thrifty.sdk"))
    assert found == [], "\n".join(found)


def test_mcp_imports_only_the_tools_below_it() -> None:
    """``thrifty.mcp`` serves both the CLI and the SDK, so it sits below both and below the agent:
    it may use the tool contract (its proxy tools are ``custom_tool``s) and ``thrifty.__version__``."""
    graph = import_graph()
    allowed = ("thrifty.mcp", "thrifty.tools.base", "thrifty.tools.custom")
    outside = sorted(
        f"{source} -> {target}"
        for source, targets in graph.items()
        if within(source, "thrifty.mcp")
        for target in targets
        if target != ROOT_PACKAGE and not any(within(target, package) for package in allowed)
    )
    assert outside == [], "\n".join(outside)
    assert "thrifty.tools.custom" in graph["thrifty.mcp.tools"]


def test_mcp_imports_neither_cli_nor_sdk_nor_agent() -> None:
    found = crossings(import_graph(), "thrifty.mcp", ("thrifty.agent", "thrifty.cli", "thrifty.sdk"))
    assert found == [], "\n".join(found)


def test_the_layers_below_mcp_do_not_import_it() -> None:
    graph = import_graph()
    found = [
        f for lower in ("thrifty.core", "thrifty.tools") for f in crossings(graph, lower, ("thrifty.mcp",))
    ]
    assert found == [], "\n".join(found)


def test_telemetry_imports_only_itself() -> None:
    """The meter calls ``thrifty.telemetry`` for every row, so telemetry sits below billing: it
    reads ledger rows it is handed and may import nothing of thrifty's but itself (and the
    version), or billing would import its way back into itself."""
    graph = import_graph()
    outside = sorted(
        f"{source} -> {target}"
        for source, targets in graph.items()
        if within(source, "thrifty.telemetry")
        for target in targets
        if target != ROOT_PACKAGE and not within(target, "thrifty.telemetry")
    )
    assert outside == [], "\n".join(outside)
    assert "thrifty.telemetry" in graph["thrifty.billing.meter"]


def test_no_import_cycles() -> None:
    graph = import_graph()
    cycles = [" -> ".join(shortest_cycle(graph, members)) for members in strongly_connected(graph)]
    components = [", ".join(members) for members in strongly_connected(graph)]
    assert cycles == [], "import cycles:\n" + "\n".join(
        f"{cycle}\n    (all of: {component})" for cycle, component in zip(cycles, components, strict=True)
    )
