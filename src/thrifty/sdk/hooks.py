"""Hook callbacks: ``Options.hooks = {"PreToolUse": [HookMatcher("Bash", [fn])]}``.

A callback is the official SDK's ``async fn(input, tool_use_id, context) -> dict``. ``input`` is
the hook input of Claude Code's hook contract (``session_id``, ``cwd``, ``hook_event_name``,
``tool_name``, ``tool_input``, ...) and the returned dict is read exactly like a command hook's JSON
output (``hookSpecificOutput.permissionDecision``, ``additionalContext``, ``decision: "block"``,
``continue: false``, ...); ``async_`` and ``continue_`` are renamed to ``async`` and ``continue``.

Failures follow ``HookMatcher.on_failure``: unset or ``"continue"`` counts a callback that raises,
times out (``timeout``, default 60 s) or returns a non-dict as no decision (logged on the
``thrifty.sdk`` logger); ``"block"`` makes it block the tool call (PreToolUse) or the event
(``decision: "block"`` for PostToolUse and UserPromptSubmit).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from thrifty.agent.validate import SetupError

__all__ = ["SUPPORTED_EVENTS", "HookCallback", "HookContext", "HookMatcher", "hook_callbacks"]

logger = logging.getLogger("thrifty.sdk")

#: The events thrifty's loop fires; the official SDK's others are refused with a SetupError.
SUPPORTED_EVENTS = ("PreToolUse", "PostToolUse", "UserPromptSubmit", "Stop")
DEFAULT_TIMEOUT_S = 60.0
_RENAMED = {"async_": "async", "continue_": "continue"}


class HookContext(TypedDict):
    signal: Any | None


HookCallback = Callable[[dict[str, Any], str | None, HookContext], Awaitable[dict[str, Any]]]


@dataclass
class HookMatcher:
    #: A tool-name pattern for tool events (``"Bash"``, ``"Write|Edit"``, ``"mcp__calc__.*"``);
    #: None matches everything.
    matcher: str | None = None
    hooks: list[HookCallback] = field(default_factory=list)
    #: Seconds per callback (default 60).
    timeout: float | None = None
    on_failure: Literal["continue", "block"] | None = None


def _wire(output: dict[str, Any]) -> dict[str, Any]:
    return {_RENAMED.get(k, k): v for k, v in output.items()}


def _failed(event: str, message: str) -> dict[str, Any]:
    if event == "PreToolUse":
        specific = {
            "hookEventName": event,
            "permissionDecision": "deny",
            "permissionDecisionReason": message,
        }
        return {"hookSpecificOutput": specific}
    if event == "Stop":  # as in the official SDK, Stop ignores on_failure
        return {}
    return {"decision": "block", "reason": message}


def _adapt(
    event: str, fn: HookCallback, group: HookMatcher
) -> Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]:
    timeout = group.timeout if group.timeout is not None else DEFAULT_TIMEOUT_S
    name = getattr(fn, "__qualname__", None) or repr(fn)

    async def callback(data: dict[str, Any]) -> dict[str, Any]:
        problem: str
        try:
            output: Any = await asyncio.wait_for(fn(data, data.get("tool_use_id"), {"signal": None}), timeout)
        except TimeoutError:
            problem = f"timed out after {timeout:g}s"
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}"
        else:
            if isinstance(output, dict):
                return _wire(output)
            if output is None and group.on_failure != "block":
                return {}
            problem = f"returned {type(output).__name__}, not a dict"
        message = f"{event} hook callback {name} failed: {problem}"
        if group.on_failure == "block":
            return _failed(event, message)
        logger.warning("%s; counted as no decision", message)
        return {}

    callback.__qualname__ = name
    return callback


def hook_callbacks(
    hooks: dict[str, list[HookMatcher]] | None,
) -> dict[str, list[tuple[str | None, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]]]]:
    """``Options.hooks`` in the shape of ``AgentOptions.hook_callbacks``; SetupError if malformed."""
    out: dict[str, list[tuple[str | None, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]]]] = {}
    for event, groups in (hooks or {}).items():
        if event not in SUPPORTED_EVENTS:
            supported = ", ".join(SUPPORTED_EVENTS)
            raise SetupError(f"hooks: event {event!r} is not supported by thrifty (supported: {supported})")
        if not isinstance(groups, list):
            raise SetupError(f"hooks[{event!r}] must be a list of HookMatcher")
        for group in groups:
            if not isinstance(group, HookMatcher):
                raise SetupError(
                    f"hooks[{event!r}] must hold HookMatcher objects, not {type(group).__name__}"
                )
            if group.on_failure not in (None, "continue", "block"):
                raise SetupError(
                    f"HookMatcher.on_failure must be 'continue' or 'block', not {group.on_failure!r}"
                )
            if group.timeout is not None and group.timeout <= 0:
                raise SetupError("HookMatcher.timeout must be greater than 0")
            for fn in group.hooks:
                if not callable(fn):
                    raise SetupError(f"hooks[{event!r}]: {fn!r} is not callable")
                out.setdefault(event, []).append((group.matcher, _adapt(event, fn, group)))
    return out
