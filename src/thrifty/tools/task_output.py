"""TaskOutput: what a background shell printed since the last look, and whether it is done."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from thrifty.tools.base import Tool, ToolContext, ToolResult, error
from thrifty.tools.bash_background import shells
from thrifty.tools.inputs import ToolInput

DEFAULT_WAIT_MS = 30_000
MAX_WAIT_MS = 600_000


class TaskOutputInput(ToolInput):
    task_id: str = Field(description="The background task's ID")
    block: bool = Field(True, description="Wait for the task to finish first, up to timeout")
    timeout: Annotated[float, Field(ge=0, le=MAX_WAIT_MS)] = Field(
        DEFAULT_WAIT_MS, description="Milliseconds"
    )


class TaskOutputTool(Tool):
    name = "TaskOutput"
    description = (
        "Reads a background Bash task's output printed since the last TaskOutput for it, with its "
        "status and exit code. block=false looks without waiting."
    )
    input_model = TaskOutputInput
    read_only = True
    path_keys = ()

    async def call(self, params: TaskOutputInput, ctx: ToolContext) -> ToolResult:
        registry = shells(ctx)
        shell = registry.get(params.task_id)
        if shell is None:
            return error(f"No task found with ID: {params.task_id}")
        retrieval = "success"
        if shell.status == "running":
            if not params.block:
                retrieval = "not_ready"
            elif not await registry.wait(shell, params.timeout / 1000):
                retrieval = "timeout"
        output = shell.read_new().rstrip("\n")
        parts = [
            f"<retrieval_status>{retrieval}</retrieval_status>",
            f"<task_id>{shell.id}</task_id>",
            "<task_type>local_bash</task_type>",
            f"<status>{shell.status}</status>",
        ]
        if shell.exit_code is not None:
            parts.append(f"<exit_code>{shell.exit_code}</exit_code>")
        if shell.timed_out:
            parts.append(f"<note>Stopped after its timeout of {shell.timeout_s:g}s.</note>")
        parts.append(f"<output>\n{output or '(no new output)'}\n</output>")
        return ToolResult("\n\n".join(parts))
