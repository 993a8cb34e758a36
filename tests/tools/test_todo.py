from __future__ import annotations

import pytest

from tests.tools.conftest import CallTool
from thrifty.tools.base import ToolContext
from thrifty.tools.registry import BUILTIN_TOOLS
from thrifty.tools.todo import CONFIRMATION

pytestmark = pytest.mark.anyio

TODOS = [
    {"content": "Write tests", "status": "completed", "activeForm": "Writing tests"},
    {"content": "Fix bug", "status": "in_progress", "activeForm": "Fixing bug"},
    {"content": "Ship", "status": "pending", "activeForm": "Shipping"},
]


def test_todowrite_touches_no_files() -> None:
    tool = BUILTIN_TOOLS["TodoWrite"]
    assert tool.read_only
    assert not tool.edits_files


async def test_stores_todos_and_confirms(call: CallTool, ctx: ToolContext) -> None:
    result = await call("TodoWrite", {"todos": TODOS})
    assert not result.is_error
    assert result.content == CONFIRMATION
    assert result.content.startswith("Todos have been modified successfully.")
    assert ctx.todos == TODOS


async def test_each_call_replaces_the_list_in_place(call: CallTool, ctx: ToolContext) -> None:
    held = ctx.todos
    await call("TodoWrite", {"todos": TODOS})
    await call("TodoWrite", {"todos": TODOS[:1]})
    assert held is ctx.todos
    assert ctx.todos == TODOS[:1]
    await call("TodoWrite", {"todos": []})
    assert ctx.todos == []


@pytest.mark.parametrize(
    "item",
    [
        {"content": "x", "status": "done", "activeForm": "x"},
        {"content": "x", "status": "pending"},
        {"content": "", "status": "pending", "activeForm": "x"},
        {"content": "x", "status": "pending", "activeForm": "x", "priority": "high"},
    ],
)
async def test_malformed_items_are_rejected(call: CallTool, ctx: ToolContext, item: dict[str, str]) -> None:
    result = await call("TodoWrite", {"todos": [item]})
    assert result.is_error
    assert "InputValidationError" in str(result.content)
    assert ctx.todos == []
