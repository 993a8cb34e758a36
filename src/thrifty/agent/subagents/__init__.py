"""Subagents: definitions (``--agents``, ``agents=``, ``.claude/agents/*.md``) and the Agent tool's
child runs. See docs/agents.md."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from thrifty.agent.subagents.definitions import (
    GENERAL_PURPOSE,
    AgentConfigError,
    AgentDef,
    all_definitions,
    load_agent_files,
    parse_agent_file,
    parse_agents,
    parse_agents_json,
)

__all__ = [
    "GENERAL_PURPOSE",
    "INIT_NAME",
    "NAME",
    "AgentConfigError",
    "AgentDef",
    "all_definitions",
    "init_names",
    "load_agent_files",
    "offered_agents",
    "parse_agent_file",
    "parse_agents",
    "parse_agents_json",
    "tool_definition",
]

#: The Agent tool's name in requests, and in ``system/init``'s tool list (Claude Code's legacy name).
NAME = "Agent"
INIT_NAME = "Task"


def offered_agents(defined: Mapping[str, AgentDef]) -> dict[str, AgentDef]:
    """What the Agent tool offers: the built-in general-purpose agent, then the defined ones."""
    return {GENERAL_PURPOSE.name: GENERAL_PURPOSE, **defined}


def tool_definition(base: dict[str, Any], agents: Mapping[str, AgentDef]) -> dict[str, Any]:
    """The Agent tool's request entry with this session's agents listed, as Claude Code lists them."""
    lines = []
    for agent in agents.values():
        tools = "All tools" if agent.tools is None else ", ".join(agent.tools) or "None"
        lines.append(f"- {agent.name}: {agent.description} (Tools: {tools})")
    listing = "\n\nAvailable agent types and the tools they have access to:\n" + "\n".join(lines)
    return {**base, "description": str(base.get("description", "")) + listing}


def init_names(tools: list[str]) -> list[str]:
    """``system/init``'s tool list: the Agent tool under its legacy name ``Task``."""
    return [INIT_NAME if name == NAME else name for name in tools]
