"""What fills the session's context window: the ``get_context_usage`` control request's answer.

The shape is Claude Code's (the official SDK's ``ContextUsageResponse``, as the bundled CLI
answers it): ``categories`` (``id``, ``name``, ``tokens``, ``color``, ``kind``), ``totalTokens``,
``maxTokens``, ``rawMaxTokens``, ``percentage``, ``model``, ``isAutoCompactEnabled``,
``autoCompactThreshold`` (only while automatic compaction is on), ``autocompactSource``,
``memoryFiles``, ``mcpTools``, ``agents``, ``gridRows``, ``messageBreakdown`` and ``apiUsage``.

The window and the compaction figures are the session's own (``agent.compact``), so the answer
says when this session will compact, not a fixed default. Like Claude Code 2.1.337, the room
kept back for compaction is a ``buffer`` category and is not free space: ``autocompact_buffer``
(the window less the threshold) while automatic compaction is on, else a ``compact_buffer`` of
3,000 tokens.

Token counts are thrifty's estimates (the budget guard's: serialised bytes over
``BYTES_PER_TOKEN``), not a ``count_tokens`` call: asking costs no request. ``apiUsage`` is the
last call's real usage, as the API reported it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from thrifty.agent.compact import WINDOW_ENV
from thrifty.billing.estimate import input_tokens

if TYPE_CHECKING:
    from thrifty.agent.session import Session

__all__ = ["context_usage"]

#: What Claude Code keeps back for a manual ``/compact`` when automatic compaction is off.
MANUAL_COMPACT_BUFFER = 3_000


def _tokens(key: str, value: Any) -> int:
    return input_tokens({key: value}) if value else 0


def _category(cid: str, name: str, tokens: int, color: str, kind: str = "used") -> dict[str, Any]:
    return {"id": cid, "name": name, "tokens": tokens, "color": color, "kind": kind}


def _calls(messages: Iterable[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [
        b
        for m in messages
        if isinstance(m.get("content"), list)
        for b in m["content"]
        if isinstance(b, dict) and b.get("type") == kind
    ]


def context_usage(session: Session) -> dict[str, Any]:
    """The session's context usage now (between turns or during one)."""
    p = session.prepared
    mcp = [d for d in p.tool_defs if str(d.get("name", "")).startswith("mcp__")]
    own = [d for d in p.tool_defs if d not in mcp]
    messages = list(session.messages)
    system, tools, mcp_tokens = _tokens("system", p.system), _tokens("tools", own), _tokens("tools", mcp)
    history = _tokens("messages", messages)
    total = system + tools + mcp_tokens + history
    compaction = session.compaction
    window = compaction.window
    threshold = compaction.threshold(session.options.max_tokens) if compaction.auto else None
    if threshold is not None:
        buffer = _category(
            "autocompact_buffer", "Autocompact buffer", window - threshold, "inactive", "buffer"
        )
    else:
        buffer = _category("compact_buffer", "Compact buffer", MANUAL_COMPACT_BUFFER, "inactive", "buffer")
    categories = [
        _category("system_prompt", "System prompt", system, "promptBorder"),
        _category("system_tools", "System tools", tools, "inactive"),
        *([_category("mcp_tools", "MCP tools", mcp_tokens, "cyan_FOR_SUBAGENTS_ONLY")] if mcp else []),
        _category("messages", "Messages", history, "purple_FOR_SUBAGENTS_ONLY"),
        buffer,
        _category(
            "free_space", "Free space", max(window - total - buffer["tokens"], 0), "promptBorder", "free"
        ),
    ]
    calls, results = _calls(messages, "tool_use"), _calls(messages, "tool_result")
    last = session.meter.last_row
    api = None
    if last is not None:
        u = last.usage
        api = {
            "input_tokens": u.input_tokens,
            "output_tokens": u.output_tokens,
            "cache_creation_input_tokens": u.cache_write_tokens,
            "cache_read_input_tokens": u.cache_read_tokens,
        }
    return {
        "categories": categories,
        "totalTokens": total,
        "maxTokens": window,
        "rawMaxTokens": window,
        "percentage": round(100 * total / window, 2),
        "model": p.model,
        "isAutoCompactEnabled": compaction.auto,
        **({"autoCompactThreshold": threshold} if threshold is not None else {}),
        "autocompactSource": _source(session),
        "memoryFiles": [],
        "mcpTools": [
            {
                "name": d["name"],
                "serverName": str(d["name"]).split("__")[1],
                "tokens": _tokens("tools", [d]),
                "isLoaded": True,
            }
            for d in mcp
        ],
        "agents": [{"agentType": name, "source": "sdk", "tokens": 0} for name in p.agents],
        "gridRows": [],
        "messageBreakdown": {
            "toolCallTokens": _tokens("messages", calls),
            "toolResultTokens": _tokens("messages", results),
            "attachmentTokens": 0,
            "assistantMessageTokens": _tokens("messages", [m for m in messages if m["role"] == "assistant"]),
            "userMessageTokens": _tokens("messages", [m for m in messages if m["role"] == "user"]),
        },
        "apiUsage": api,
    }


def _source(session: Session) -> str:
    """Where the window came from, in Claude Code's words (it says ``auto`` when compaction is off)."""
    if not session.compaction.auto:
        return "auto"
    environ = session.prepared.ctx.env or session.options.environ
    try:
        from_env = float(environ.get(WINDOW_ENV, "")) > 0
    except ValueError:
        from_env = False
    return "env" if from_env else "model-default"
