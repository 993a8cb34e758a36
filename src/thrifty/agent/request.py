"""What each request of a turn sends: the session's setup and history, with cache breakpoints.

Breakpoints sit on the stable prefix (tools, system) and on the moving end of the conversation,
so each request reads the previous one's cache instead of paying for the whole prompt again.

Only what gets a marker is copied (the last tool, the last system block, the marked user
messages and their last block); everything else is shared with the session by reference, so
building a request costs the same at turn 200 as at turn 2, and the history is never mutated.
The marked tools and system are built once per session and reused. The request is read-only to
whoever sends it (the SDK copies the body it sends).
"""

from __future__ import annotations

from typing import Any

from thrifty.agent.options import AgentOptions
from thrifty.agent.server_tools import model_server_tools, web_tool_name
from thrifty.agent.setup import Prepared

EPHEMERAL = {"type": "ephemeral"}
#: User messages marked at the end of the conversation: the newest, and the one before it for
#: the lookback (a cache entry written one request ago is still found).
MARKED_USER_MESSAGES = 2
#: The marked tools and system of the sessions seen lately, by the id of the session's list:
#: ``(its list, its length, its last item, the marked list)``. Setup builds them once, so each
#: request reuses one marked list (and the budget estimate recognises it) instead of a new copy.
_MARKED_SETUP: dict[int, tuple[list[dict[str, Any]], int, dict[str, Any], list[dict[str, Any]]]] = {}
_MARKED_SETUP_MAX = 64


def _marked_last(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A new list whose last block is a marked copy; the other blocks are shared."""
    return [*blocks[:-1], {**blocks[-1], "cache_control": EPHEMERAL}]


def _marked_setup(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``_marked_last`` of a session's tools or system, built once while the list stays as it is
    (the same list, length and last item); entries hold their list, so an id is not reused."""
    entry = _MARKED_SETUP.get(id(blocks))
    if entry is not None and entry[0] is blocks and entry[1] == len(blocks) and entry[2] is blocks[-1]:
        return entry[3]
    marked = _marked_last(blocks)
    if len(_MARKED_SETUP) >= _MARKED_SETUP_MAX:
        _MARKED_SETUP.clear()
    _MARKED_SETUP[id(blocks)] = (blocks, len(blocks), blocks[-1], marked)
    return marked


def _web_name(definition: dict[str, Any]) -> str | None:
    return web_tool_name(str(definition.get("type", "")))


def with_cache_breakpoints(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mark the moving end of the conversation (and the previous user turn, for the lookback).

    A new list: the marked messages are copies (text content becomes one text block), the
    others are the caller's own; ``messages`` and everything in it is left as it was."""
    out = list(messages)
    marked = 0
    for i in range(len(out) - 1, -1, -1):
        if marked == MARKED_USER_MESSAGES:
            break
        message = out[i]
        if message["role"] != "user":
            continue
        content = message["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if not blocks:
            continue  # nothing to mark (the API refuses an empty message anyway)
        out[i] = {**message, "content": _marked_last(blocks)}
        marked += 1
    return out


def request_params(
    prepared: Prepared, options: AgentOptions, messages: list[dict[str, Any]]
) -> dict[str, Any]:
    """The ``messages.create`` arguments for the next request; the model is read now, since
    ``Session.set_model`` may change it between requests."""
    defs = prepared.tool_defs
    kept = model_server_tools(prepared.model)
    if any(_web_name(d) not in (None, *kept) for d in defs):
        # ``set_model`` switched to a model without them: the API would refuse the request
        defs = [d for d in defs if _web_name(d) in (None, *kept)]
    tools = _marked_setup(defs) if defs else []
    params: dict[str, Any] = {
        "model": prepared.model,
        "max_tokens": options.max_tokens,
        "system": _marked_setup(prepared.system),
        "messages": with_cache_breakpoints(messages),
    }
    if tools:
        params["tools"] = tools
    if options.thinking_budget:
        params["thinking"] = {"type": "enabled", "budget_tokens": options.thinking_budget}
    return params
