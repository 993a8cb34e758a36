from __future__ import annotations

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
