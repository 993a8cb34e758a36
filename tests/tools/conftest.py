from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from thrifty.tools.base import ToolContext, ToolResult
from thrifty.tools.registry import BUILTIN_TOOLS

CallTool = Callable[[str, dict[str, Any]], Awaitable[ToolResult]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(cwd=tmp_path)


@pytest.fixture
def call(ctx: ToolContext) -> CallTool:
    """Run a built-in tool by name on raw input, through validation, as the agent loop does."""

    async def _call(name: str, raw: dict[str, Any]) -> ToolResult:
        return await BUILTIN_TOOLS[name].run(raw, ctx)

    return _call


SOURCE = """import os

def alpha():
    return 1

def beta():
    return 2
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small project for Grep, with fixed mtimes so newest-first order is known."""
    files = {
        "pkg/mod.py": SOURCE,
        "pkg/other.py": "x = 'no functions here'\n",
        "web/app.ts": "export function alpha() {}\n",
        "web/view.tsx": "const Beta = () => null\n",
        "README.md": "# Alpha project\n",
        ".git/config": "def alpha(): pass\n",
    }
    for i, (name, text) in enumerate(sorted(files.items())):
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        os.utime(p, (1_000_000 + i, 1_000_000 + i))
    return tmp_path


async def grep(call: CallTool, raw: dict[str, Any]) -> str:
    """Grep's output, asserting the call succeeded."""
    result = await call("Grep", raw)
    assert not result.is_error, result.content
    assert isinstance(result.content, str)
    return result.content


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def git_init(root: Path) -> None:
    """Make ``root`` a git repository: ripgrep reads .gitignore only inside one."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
