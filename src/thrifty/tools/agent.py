"""Agent (Claude Code's Task tool): hand a task to a subagent and get its final report back.

The subagent runs inside the session (``thrifty.agent.subagents``), which gives the tool runner a
launcher for this name; the tool itself only declares the input and refuses to run without one.
The stored definition's description is completed per session with the agents it offers.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from thrifty.tools.base import Tool, ToolContext, ToolResult, error
from thrifty.tools.inputs import ToolInput

NAME = "Agent"
#: How ``system/init`` lists the tool (Claude Code's legacy name for it).
INIT_NAME = "Task"
DEFAULT_TYPE = "general-purpose"


class AgentInput(ToolInput):
    description: str = Field(description="A short (3-5 word) description of the task")
    prompt: str = Field(description="The task for the agent to perform")
    subagent_type: str | None = Field(
        default=None,
        description="The type of specialized agent to use for this task (default general-purpose)",
    )
    model: Literal["sonnet", "opus", "haiku", "fable"] | None = Field(
        default=None,
        description="Optional model for this agent; it overrides the agent definition's model",
    )
    #: Claude Code's own schema has it (its subagents run in the background by default), so a
    #: model or script written for it sends ``false``; thrifty runs every agent in the foreground,
    #: so the value is accepted and ignored, and left out of the schema the model sees.
    run_in_background: SkipJsonSchema[bool | None] = None


class AgentTool(Tool):
    name = NAME
    description = (
        "Launch a new agent to handle a complex, multi-step task on its own. The agent runs with "
        "its own system prompt and tools, sees only the prompt you write (so make it complete and "
        "self-contained), and returns a single final message, which is not shown to the user: "
        "summarise what matters from it. Launch several agents at once when their tasks are "
        "independent. Choose the agent with subagent_type."
    )
    input_model = AgentInput
    read_only = True
    path_keys = ()
    primary_field = "subagent_type"

    async def call(self, params: AgentInput, ctx: ToolContext) -> ToolResult:
        # A session answers this tool itself (thrifty.agent.subagents); reaching here means the
        # tool was used outside one.
        return error("Error: the Agent tool can only run inside a session that offers subagents")
