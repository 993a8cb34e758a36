"""Skill: the model runs one of the session's skills or custom slash commands.

The tool only carries the call: what a skill says, and whether it may run, is the session's
(``thrifty.agent.commands``), which builds the tool with a runner bound to its catalog. Built
without one (the registry's shared instance), every call is answered with an error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pydantic import Field

from thrifty.tools.base import Tool, ToolContext, ToolResult, error
from thrifty.tools.inputs import ToolInput

#: ``(skill name, args)`` to the tool result: the skill's instructions, or an error.
SkillRunner = Callable[[str, str], Awaitable[ToolResult]]


class SkillInput(ToolInput):
    skill: str = Field(description="The name of a skill from the available-skills list. Do not guess names.")
    args: str | None = Field(default=None, description="Optional arguments for the skill")


class SkillTool(Tool):
    name = "Skill"
    description = (
        "Invoke a skill: a packaged set of instructions the user or project has set up for a kind "
        "of task. Available skills are listed in the system prompt with one-line descriptions; when "
        "the task at hand is one a listed skill covers, call this tool first, then follow the "
        "instructions it returns. A user asking for one by name (`/<name>`) is asking you to "
        "invoke it.\n\n"
        "- `skill`: the exact name from the listing, without a leading slash.\n"
        "- `args`: optional arguments to pass through.\n\n"
        "Only names from the listing are valid. If a `<command-name>` block is already present in "
        "this turn, the skill is loaded: follow it directly rather than calling this tool again."
    )
    input_model = SkillInput
    read_only = True
    path_keys = ()
    primary_field = "skill"

    def __init__(self, runner: SkillRunner | None = None) -> None:
        self.runner = runner

    async def call(self, params: SkillInput, ctx: ToolContext) -> ToolResult:
        if self.runner is None:
            return error("No skills are available in this session.")
        return await self.runner(params.skill.strip().lstrip("/"), params.args or "")
