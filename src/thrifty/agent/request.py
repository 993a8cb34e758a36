"""What each request of a turn sends: the session's setup and history, with cache breakpoints.

Breakpoints sit on the stable prefix (tools, system) and on the moving end of the conversation,
so each request reads the previous one's cache instead of paying for the whole prompt again.
"""

from __future__ import annotations

import copy
from typing import Any

from thrifty.agent.options import AgentOptions
from thrifty.agent.setup import Prepared

EPHEMERAL = {"type": "ephemeral"}


def with_cache_breakpoints(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mark the moving end of the conversation (and the previous user turn, for the lookback)."""
    out = copy.deepcopy(messages)
    marked = 0
    for message in reversed(out):
        if message["role"] != "user" or marked == 2:
            continue
        content = message["content"]
        if isinstance(content, str):
            message["content"] = content = [{"type": "text", "text": content}]
        content[-1]["cache_control"] = EPHEMERAL
        marked += 1
    return out


def request_params(
    prepared: Prepared, options: AgentOptions, messages: list[dict[str, Any]]
) -> dict[str, Any]:
    """The ``messages.create`` arguments for the next request; the model is read now, since
    ``Session.set_model`` may change it between requests."""
    tools = copy.deepcopy(prepared.tool_defs)
    if tools:
        tools[-1]["cache_control"] = EPHEMERAL
    system = copy.deepcopy(prepared.system)
    system[-1]["cache_control"] = EPHEMERAL
    params: dict[str, Any] = {
        "model": prepared.model,
        "max_tokens": options.max_tokens,
        "system": system,
        "messages": with_cache_breakpoints(messages),
    }
    if tools:
        params["tools"] = tools
    if options.thinking_budget:
        params["thinking"] = {"type": "enabled", "budget_tokens": options.thinking_budget}
    return params
