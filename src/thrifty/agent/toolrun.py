"""Running the tool calls of one assistant turn: hooks, permission, the tool, hooks again.

Order per call: PreToolUse hooks (may block, decide, or rewrite the input), then the permission
policy unless a hook already allowed, then the tool, then PostToolUse hooks. In headless mode a
permission "ask" nobody can answer is a denial, recorded like Claude Code records it.

A hook that answers ``continue: false`` stops the run after this call (``CallOutcome.hook_stop``):
from PostToolUse the result stands; from PreToolUse the call is refused, which is stricter than
Claude Code (it still runs a call the permission rules allow) and is what a guard hook means.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from thrifty.agent.hooks.runner import HookRunner
from thrifty.agent.permissions.policy import Decision, PermissionPolicy
from thrifty.agent.transcripts import interrupted_result
from thrifty.core.events import PermissionDenied
from thrifty.tools.base import Tool, ToolContext, ToolResult, error


@dataclass(frozen=True)
class AskRequest:
    """A tool call the policy could not settle, put to whoever can answer (``can_use_tool``)."""

    tool_name: str
    tool_input: dict[str, Any]
    tool_use_id: str
    #: Why the policy asks (empty when it simply has no rule for the call).
    reason: str


@dataclass(frozen=True)
class AskAnswer:
    allow: bool
    #: Allow only: the input the tool runs with instead of the model's.
    updated_input: dict[str, Any] | None = None
    #: Deny only: what the model is told, and whether the whole turn stops here.
    message: str = ""
    interrupt: bool = False


#: Decides an "ask" the policy could not settle; headless runs have none, the SDK can supply one.
AskHandler = Callable[[AskRequest], Awaitable[AskAnswer]]
#: Runs the Agent tool's call (its input and call id) as a subagent (``agent.subagents``).
SubagentHandler = Callable[[dict[str, Any], str], Awaitable[ToolResult]]


@dataclass
class CallOutcome:
    block: dict[str, Any]
    denial: PermissionDenied | None = None
    additional_context: list[str] = field(default_factory=list)
    #: The answer to an ask said to stop the turn (``PermissionResultDeny(interrupt=True)``).
    interrupt: bool = False
    #: A PreToolUse or PostToolUse hook answered ``continue: false``: the run stops after this
    #: call. The text is Claude Code's ``<Event>:<Tool> hook stopped continuation: <reason>``.
    hook_stop: str | None = None


#: The result of a call left unrun because a hook stopped the run earlier in the same turn.
NOT_RUN_AFTER_HOOK_STOP = "Not run: a hook stopped the run (continue: false) before this call."


@dataclass
class CallBatch:
    """The answers to one assistant turn's tool calls, kept in call order.

    Every ``tool_use`` must get a ``tool_result`` or the next request is refused, so the calls
    after an interrupting ask answer or a hook's ``continue: false`` are answered without running.
    """

    results: list[dict[str, Any]] = field(default_factory=list)
    #: Text sent next to the results: hooks' ``additionalContext`` and block reasons.
    extra: list[str] = field(default_factory=list)
    interrupted: bool = False
    hook_stop: str | None = None

    def skip(self, call: dict[str, Any]) -> bool:
        """Answer a call that must not run after an earlier stop; False when it should run."""
        call_id = str(call.get("id"))
        if self.interrupted:
            self.results.append(interrupted_result(call_id))
        elif self.hook_stop is not None:
            self.results.append(error(NOT_RUN_AFTER_HOOK_STOP).to_block(call_id))
        else:
            return False
        return True

    def add(self, outcome: CallOutcome) -> None:
        self.results.append(outcome.block)
        self.extra.extend(outcome.additional_context)
        self.interrupted = outcome.interrupt
        self.hook_stop = outcome.hook_stop

    def content(self) -> list[dict[str, Any]]:
        """The user message's content: results first, then the text (a hook stop's notice last)."""
        notes = [*self.extra, *([self.hook_stop] if self.hook_stop is not None else [])]
        return [*self.results, *({"type": "text", "text": t} for t in notes)]


def _stop_notice(event: str, tool_name: str, reason: str | None) -> str:
    return f"{event}:{tool_name} hook stopped continuation: {reason or f'Execution stopped by {event} hook'}"


def _ask_message(tool_name: str, decision: Decision) -> str:
    if decision.reason:
        return decision.reason
    return f"Claude requested permissions to use {tool_name}, but you haven't granted it yet."


class ToolRunner:
    def __init__(
        self,
        tools: Mapping[str, Tool],
        policy: PermissionPolicy,
        hooks: HookRunner,
        ctx: ToolContext,
        *,
        session_id: str,
        ask: AskHandler | None = None,
        subagents: SubagentHandler | None = None,
    ) -> None:
        self.tools = tools
        self.subagents = subagents
        self.policy = policy
        self.hooks = hooks
        self.ctx = ctx
        self.session_id = session_id
        self.ask = ask

    def _deny(self, name: str, call_id: str, tool_input: dict[str, Any], message: str) -> CallOutcome:
        return CallOutcome(
            error(message).to_block(call_id),
            PermissionDenied(self.session_id, name, call_id, tool_input, message),
        )

    async def run_call(self, call: dict[str, Any]) -> CallOutcome:
        name, call_id = str(call.get("name")), str(call.get("id"))
        tool_input: dict[str, Any] = dict(call.get("input") or {})
        tool = self.tools.get(name)
        if tool is None:
            return CallOutcome(error(f"Error: No such tool available: {name}").to_block(call_id))
        hook_allowed = False
        #: PreToolUse ``additionalContext`` reaches the model next to the result, as in Claude Code.
        pre_context: list[str] = []
        if self.hooks.has_hooks("PreToolUse"):
            pre = await self.hooks.pre_tool_use(name, tool_input, call_id)
            if pre.stop:
                reason = f": {pre.stop_reason}" if pre.stop_reason else ""
                message = pre.denial_message or f"Execution stopped by PreToolUse hook{reason}"
                stopped = self._deny(name, call_id, tool_input, message)
                stopped.hook_stop = _stop_notice("PreToolUse", name, pre.stop_reason)
                return stopped
            if pre.denied:
                return self._deny(
                    name, call_id, tool_input, pre.denial_message or "Blocked by a PreToolUse hook"
                )
            if pre.updated_input is not None:
                tool_input = pre.updated_input
            hook_allowed = pre.permission_decision == "allow"
            pre_context = list(pre.additional_context)
        if not hook_allowed:
            decision = self.policy.decide(
                name,
                tool_input,
                read_only=tool.read_only,
                edits_files=tool.edits_files,
                path_keys=tool.path_keys,
            )
            if decision.behavior == "deny":
                return self._deny(
                    name, call_id, tool_input, decision.reason or f"Permission to use {name} denied."
                )
            if decision.behavior == "ask":
                if self.ask is None:
                    return self._deny(name, call_id, tool_input, _ask_message(name, decision))
                try:
                    answer = await self.ask(AskRequest(name, tool_input, call_id, decision.reason or ""))
                except Exception as exc:  # the host's failure is a denial, as in Claude Code
                    message = f"Tool permission request failed: Error: {exc}"
                    return self._deny(name, call_id, tool_input, message)
                if not answer.allow:
                    denied = self._deny(
                        name, call_id, tool_input, answer.message or _ask_message(name, decision)
                    )
                    denied.interrupt = answer.interrupt
                    return denied
                if answer.updated_input is not None:
                    tool_input = answer.updated_input
        started = time.monotonic()
        try:
            if name == "Agent" and self.subagents is not None:
                result = await self.subagents(tool_input, call_id)
            else:
                result = await tool.run(tool_input, self.ctx)
        except Exception as exc:  # a tool bug must not kill the run: the model sees the failure
            result = error(f"Error: {name} failed: {type(exc).__name__}: {exc}")
        outcome = CallOutcome(result.to_block(call_id), additional_context=pre_context)
        if self.hooks.has_hooks("PostToolUse"):
            post = await self.hooks.post_tool_use(
                name,
                tool_input,
                call_id,
                _response(result),
                duration_ms=int((time.monotonic() - started) * 1000),
            )
            if post.blocked and post.block_reason:
                outcome.additional_context.append(post.block_reason)
            outcome.additional_context.extend(post.additional_context)
            if post.stop:
                outcome.hook_stop = _stop_notice("PostToolUse", name, post.stop_reason)
        return outcome


def _response(result: ToolResult) -> Any:
    return result.content if isinstance(result.content, str) else {"content": result.content}
