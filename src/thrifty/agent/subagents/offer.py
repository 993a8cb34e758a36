"""What a session offers: its agents, the main thread's own agent (``--agent``), the Agent tool."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from thrifty.agent.subagents.definitions import AgentDef, all_definitions
from thrifty.agent.validate import SetupError

if TYPE_CHECKING:
    from thrifty.agent.options import AgentOptions

NAME = "Agent"


def session_agents(
    options: AgentOptions, plugins: Sequence[tuple[str, Path]] = ()
) -> tuple[AgentOptions, dict[str, AgentDef]]:
    """The options as the main thread runs them, and every agent the session defines (the
    ``plugins``' among them: (namespace, directory) pairs).

    With ``agent`` set the main thread takes that agent's prompt (unless a system prompt was
    given), tools (unless ``tools`` was), disallowed tools, model (unless it inherits) and turn
    limit (unless ``max_turns`` was). An unknown name fails the run before any request.
    """
    agents = all_definitions(
        options.agents,
        cwd=options.cwd.resolve(),
        environ=options.environ,
        setting_sources=options.setting_sources,
        bare=options.bare,
        plugins=plugins,
    )
    if options.agent is None:
        return options, agents
    main = agents.get(options.agent)
    if main is None:
        known = ", ".join(sorted(agents)) or "none are defined"
        raise SetupError(f"Agent '{options.agent}' not found (--agent); available agents: {known}")
    return (
        dataclasses.replace(
            options,
            system_prompt=options.system_prompt if options.system_prompt is not None else main.prompt,
            tools=options.tools if options.tools is not None or main.tools is None else list(main.tools),
            disallowed_tools=[*options.disallowed_tools, *main.disallowed_tools],
            model=options.model if main.model in (None, "inherit") else str(main.model),
            max_turns=options.max_turns or main.max_turns,
        ),
        agents,
    )


def offer_agent_tool(
    builtin: list[str],
    options: AgentOptions,
    agents: Mapping[str, AgentDef],
    hidden: Callable[[str], bool] = lambda name: False,
) -> list[str]:
    """The built-in tool names, less the Agent tool when no agent is defined and it was not asked for
    by name (so a session without agents sends the tools it always sent). A bare session given
    ``--agents`` gets the tool on top of its minimal set, as agents are what it was passed."""
    if NAME in builtin and not agents and not (options.tools is not None and NAME in options.tools):
        return [name for name in builtin if name != NAME]
    if options.bare and options.tools is None and options.agents and NAME not in builtin and not hidden(NAME):
        return [*builtin, NAME]
    return builtin
