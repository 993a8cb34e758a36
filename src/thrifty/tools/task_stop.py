"""TaskStop: end a background task (the whole process group of a background shell)."""

from __future__ import annotations

import json

from pydantic import Field

from thrifty.tools.base import Tool, ToolContext, ToolResult, error
from thrifty.tools.bash_background import shells
from thrifty.tools.inputs import ToolInput


class TaskStopInput(ToolInput):
    task_id: str | None = Field(None, description="The background task's ID")
    shell_id: str | None = Field(None, description="Deprecated: use task_id")


class TaskStopTool(Tool):
    name = "TaskStop"
    description = (
        "Stops a running background task (Bash run_in_background) by its ID, "
        "killing every process it started."
    )
    input_model = TaskStopInput
    read_only = True
    path_keys = ()

    async def call(self, params: TaskStopInput, ctx: ToolContext) -> ToolResult:
        task_id = params.task_id or params.shell_id
        if not task_id:
            return error("Missing required parameter: task_id")
        registry = shells(ctx)
        shell = registry.get(task_id)
        if shell is None:
            return error(f"No task found with ID: {task_id}")
        if shell.status != "running":
            return error(f"Task {task_id} is not running (status: {shell.status}).")
        await registry.stop(shell)
        answer = {
            "message": f"Successfully stopped task: {task_id} ({shell.command})",
            "task_id": task_id,
            "task_type": "local_bash",
            "command": shell.command,
        }
        return ToolResult(json.dumps(answer, ensure_ascii=False, separators=(",", ":")))
