"""The loop stays readable as named steps: no function in ``agent/loop.py`` grows past a screen.

A long loop body is where requests, tools, structured output and hooks get tangled again; this
check fails the build the moment one function outgrows the limit, instead of at the next review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import thrifty.agent.loop

LIMIT = 60
LOOP = Path(thrifty.agent.loop.__file__)


def _function_lengths(source: str) -> dict[str, int]:
    """Every function and method, decorators and signature included, by qualified name."""
    lengths: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = prefix
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                assert child.end_lineno is not None
                lengths[name] = child.end_lineno - first + 1
            visit(child, f"{name}." if name != prefix else prefix)

    visit(ast.parse(source), "")
    return lengths


def test_no_function_in_the_loop_module_is_longer_than_a_screen() -> None:
    lengths = _function_lengths(LOOP.read_text(encoding="utf-8"))
    assert "AgentRun._loop" in lengths  # the parse found the methods, not just module functions
    too_long = {name: n for name, n in lengths.items() if n > LIMIT}
    assert not too_long, f"split these into named steps (limit {LIMIT} lines): {too_long}"


def test_the_measure_counts_nested_and_decorated_functions() -> None:
    body = "\n".join(f"        x{i} = {i}" for i in range(LIMIT))
    source = f"class A:\n    @staticmethod\n    def f() -> None:\n{body}\n\n\ndef g() -> None:\n    pass\n"
    assert _function_lengths(source) == {"A.f": LIMIT + 2, "g": 2}
