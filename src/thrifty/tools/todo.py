"""TodoWrite: the model's own task list, kept for the session.

The list changes nothing on disk; it exists so a long task stays organised and so whoever watches
the run (a renderer, an SDK caller reading the context) can see the plan and its progress.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from thrifty.tools.base import Tool, ToolContext, ToolResult
from thrifty.tools.inputs import ToolInput

CONFIRMATION = (
    "Todos have been modified successfully. Ensure that you continue to use the todo list to track "
    "your progress. Please proceed with the current tasks if applicable"
)


class TodoItem(ToolInput):
    content: str = Field(min_length=1, description="The task, in imperative form (e.g. 'Run tests')")
    status: Literal["pending", "in_progress", "completed"]
    activeForm: str = Field(
        min_length=1, description="The task in present continuous form (e.g. 'Running tests')"
    )


class TodoWriteInput(ToolInput):
    todos: list[TodoItem] = Field(description="The updated todo list")


class TodoWriteTool(Tool):
    name = "TodoWrite"
    description = (
        "Creates and updates a structured task list for the current session; each call replaces "
        "the whole list. Use it for multi-step tasks (three or more steps) to plan and show "
        "progress: keep exactly one task in_progress while working, and mark each task completed "
        "as soon as it is done. Skip it for single, trivial tasks."
    )
    input_model = TodoWriteInput
    read_only = True
    path_keys = ()

    async def call(self, params: TodoWriteInput, ctx: ToolContext) -> ToolResult:
        # Replace in place, so anyone holding a reference to ctx.todos sees the new list.
        ctx.todos[:] = [item.model_dump() for item in params.todos]
        return ToolResult(CONFIRMATION)
