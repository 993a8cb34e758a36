"""``can_use_tool``: the caller approves or denies the tool calls the permission policy asks about.

Signature and result types are the official SDK's: ``async can_use_tool(tool_name, input,
context) -> PermissionResultAllow | PermissionResultDeny``. As in Claude Code, the callback is
consulted only when the policy resolves to "ask": calls already allowed by ``allowed_tools``, the
permission mode or settings rules, or by a PreToolUse hook, never reach it, and denied ones are
denied without asking. A callback that raises (or returns something else) denies the call with
the error as the message, as Claude Code does.

``PermissionResultAllow.updated_permissions`` is applied to the running session by the same
function as the CLI's control protocol (:mod:`thrifty.agent.permissions.updates`): ``addRules``,
``setMode`` and ``addDirectories`` take effect for the rest of the session whatever the
``destination`` (thrifty never writes settings files from the SDK); other update types, and a mode
the session refuses, are ignored with a warning on the ``thrifty.sdk`` logger.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from thrifty.agent.permissions.suggestions import suggestions
from thrifty.agent.permissions.updates import apply_permission_updates
from thrifty.agent.toolrun import AskAnswer, AskRequest

if TYPE_CHECKING:
    from thrifty.agent.session import Session

__all__ = [
    "CanUseTool",
    "PermissionBridge",
    "PermissionResult",
    "PermissionResultAllow",
    "PermissionResultDeny",
    "PermissionRuleValue",
    "PermissionUpdate",
    "ToolPermissionContext",
]

logger = logging.getLogger("thrifty.sdk")


@dataclass
class PermissionRuleValue:
    tool_name: str
    #: What the rule matches within the tool (``"npm test"`` for Bash); None covers every use.
    rule_content: str | None = None

    def rule(self) -> str:
        return f"{self.tool_name}({self.rule_content})" if self.rule_content else self.tool_name

    def to_dict(self) -> dict[str, Any]:
        return {"toolName": self.tool_name, "ruleContent": self.rule_content}


@dataclass
class PermissionUpdate:
    type: Literal["addRules", "replaceRules", "removeRules", "setMode", "addDirectories", "removeDirectories"]
    rules: list[PermissionRuleValue] | None = None
    behavior: Literal["allow", "deny", "ask"] | None = None
    mode: str | None = None
    directories: list[str] | None = None
    #: Accepted for compatibility; every update applies to the running session only.
    destination: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The control protocol's shape (as the official SDK's ``to_dict``), which thrifty applies."""
        out: dict[str, Any] = {"type": self.type}
        if self.destination is not None:
            out["destination"] = self.destination
        if self.rules is not None:
            out["rules"] = [r.to_dict() for r in self.rules]
        for key in ("behavior", "mode", "directories"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


@dataclass
class ToolPermissionContext:
    """What the callback learns besides the tool name and input."""

    signal: Any | None = None
    suggestions: list[PermissionUpdate] = field(default_factory=list)
    tool_use_id: str | None = None
    agent_id: str | None = None
    blocked_path: str | None = None
    #: Why the policy asks, when a rule or check says so (None when it simply has no rule).
    decision_reason: str | None = None
    title: str | None = None
    display_name: str | None = None
    description: str | None = None


@dataclass
class PermissionResultAllow:
    behavior: Literal["allow"] = "allow"
    #: The input the tool runs with instead of the model's (None: the model's).
    updated_input: dict[str, Any] | None = None
    updated_permissions: list[PermissionUpdate] | None = None


@dataclass
class PermissionResultDeny:
    behavior: Literal["deny"] = "deny"
    #: What the model is told (default: Claude Code's "haven't granted it yet" text).
    message: str = ""
    #: Also stop the turn: it ends with ``error_during_execution`` / ``aborted_tools``.
    interrupt: bool = False


PermissionResult = PermissionResultAllow | PermissionResultDeny
CanUseTool = Callable[
    [str, dict[str, Any], ToolPermissionContext], Awaitable[PermissionResult] | PermissionResult
]


def _update(data: dict[str, Any]) -> PermissionUpdate:
    """A suggestion's wire dict as the SDK's ``PermissionUpdate``."""
    rules = data.get("rules")
    return PermissionUpdate(
        type=data["type"],
        rules=[PermissionRuleValue(r["toolName"], r.get("ruleContent")) for r in rules] if rules else None,
        behavior=data.get("behavior"),
        mode=data.get("mode"),
        directories=data.get("directories"),
        destination=data.get("destination"),
    )


class PermissionBridge:
    """Turns a ``can_use_tool`` callback into the loop's ``AskHandler``. ``session`` is set once
    the session exists, so ``updated_permissions`` can change its policy."""

    def __init__(self, can_use_tool: CanUseTool) -> None:
        self.can_use_tool = can_use_tool
        self.session: Session | None = None

    async def __call__(self, request: AskRequest) -> AskAnswer:
        policy = self.session.prepared.policy if self.session is not None else None
        context = ToolPermissionContext(
            suggestions=[_update(d) for d in suggestions(request.tool_name, request.tool_input, policy)],
            tool_use_id=request.tool_use_id,
            decision_reason=request.reason or None,
        )
        answer: Any = self.can_use_tool(request.tool_name, dict(request.tool_input), context)
        if inspect.isawaitable(answer):
            answer = await answer
        if isinstance(answer, PermissionResultAllow):
            if answer.updated_input is not None and not isinstance(answer.updated_input, dict):
                raise TypeError("PermissionResultAllow.updated_input must be a dict")
            if answer.updated_permissions and self.session is not None:
                updates = [u.to_dict() for u in answer.updated_permissions]
                for skipped in apply_permission_updates(self.session, updates):
                    logger.warning("%s", skipped)
            return AskAnswer(True, updated_input=answer.updated_input)
        if isinstance(answer, PermissionResultDeny):
            return AskAnswer(False, message=answer.message, interrupt=answer.interrupt)
        raise TypeError(
            f"can_use_tool returned {type(answer).__name__}; expected PermissionResultAllow "
            "or PermissionResultDeny"
        )
