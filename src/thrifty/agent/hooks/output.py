"""What hook handlers said, and what that adds up to for one event.

Interpretation is kept apart from process management so the rules for exit codes and JSON output
can be read in one place and are the same for shell commands and in-process callbacks: a callback's
returned dict is read exactly like a command's JSON stdout after exit 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, cast

PermissionDecision = Literal["allow", "deny", "ask", "defer"]

MAX_OUTPUT_CHARS = 10_000

# Exit 2 blocks these events; for PostToolUse* it feeds stderr to the model (see HookOutcome).
EXIT2_BLOCKING_EVENTS = frozenset(
    {
        "PreToolUse",
        "PostToolUse",
        "PostToolUseFailure",
        "UserPromptSubmit",
        "Stop",
        "SubagentStop",
        "PreCompact",
        "PostToolBatch",
        "TaskCreated",
        "TaskCompleted",
        "TeammateIdle",
        "ConfigChange",
        "Elicitation",
        "ElicitationResult",
        "WorktreeCreate",
    }
)
# Events where top-level ``decision: "block"`` in JSON output means something.
DECISION_EVENTS = EXIT2_BLOCKING_EVENTS - {"PreToolUse", "WorktreeCreate"}
# Events whose plain (non-JSON) stdout on exit 0 becomes model context.
PLAIN_CONTEXT_EVENTS = frozenset({"UserPromptSubmit", "UserPromptExpansion", "SessionStart"})

_RANK: dict[str, int] = {"allow": 0, "ask": 1, "defer": 2, "deny": 3}


def cap(text: str) -> str:
    return text if len(text) <= MAX_OUTPUT_CHARS else text[:MAX_OUTPUT_CHARS]


@dataclass(frozen=True)
class HookRunResult:
    """One handler's run, kept whole so callers can log or debug exactly what a hook did.

    ``started_at``/``finished_at`` are ``time.monotonic()`` readings, to show handlers overlapped.
    ``exit_code`` is ``None`` for a timed-out or failed-to-start command and for callbacks.
    """

    command: str
    kind: Literal["command", "callback"]
    exit_code: int | None
    stdout: str
    stderr: str
    duration_ms: int
    started_at: float
    finished_at: float
    timed_out: bool = False
    output: dict[str, Any] | None = None


@dataclass
class HookOutcome:
    """The aggregate verdict of every handler that ran for one event.

    ``blocked`` is an exit-2 or ``decision: "block"`` verdict. What it means depends on the event:
    PreToolUse does not run the tool, UserPromptSubmit drops the prompt, Stop keeps the agent going,
    and PostToolUse (where the tool already ran) shows ``block_reason`` to the model. A PreToolUse
    ``permissionDecision`` is kept separate because "ask" and "allow" are not blocks; ``denied``
    folds the two together for the loop.
    """

    event: str
    blocked: bool = False
    block_reason: str | None = None
    permission_decision: PermissionDecision | None = None
    permission_reason: str | None = None
    updated_input: dict[str, Any] | None = None
    updated_tool_output: Any = None
    additional_context: list[str] = field(default_factory=list)
    stop: bool = False
    stop_reason: str | None = None
    system_messages: list[str] = field(default_factory=list)
    suppress_output: bool = False
    errors: list[str] = field(default_factory=list)
    results: list[HookRunResult] = field(default_factory=list)

    @property
    def denied(self) -> bool:
        return self.blocked or self.permission_decision == "deny"

    @property
    def denial_message(self) -> str | None:
        return self.block_reason or self.permission_reason


@dataclass
class Verdict:
    """One handler's contribution, before aggregation."""

    blocked: bool = False
    block_reason: str | None = None
    decision: PermissionDecision | None = None
    decision_reason: str | None = None
    updated_input: dict[str, Any] | None = None
    updated_tool_output: Any = None
    context: list[str] = field(default_factory=list)
    stop: bool = False
    stop_reason: str | None = None
    system_message: str | None = None
    suppress_output: bool = False
    errors: list[str] = field(default_factory=list)


def _str(value: Any) -> str | None:
    return cap(value) if isinstance(value, str) else None


def parse_stdout(stdout: str) -> tuple[dict[str, Any] | None, str | None]:
    """JSON output when stdout starts with ``{``; the error text when it looks like JSON but is not."""
    if not stdout.lstrip().startswith("{"):
        return None, None
    try:
        data = json.loads(stdout)
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON output ({exc.msg})"
    if not isinstance(data, dict):
        return None, "JSON output is not an object"
    return cast("dict[str, Any]", data), None


def read_output(event: str, label: str, output: dict[str, Any]) -> Verdict:
    """Read the JSON output shape (command stdout or callback return) into a verdict."""
    v = Verdict()
    cont = output.get("continue", output.get("continue_", True))
    if cont is False:
        v.stop = True
        v.stop_reason = _str(output.get("stopReason"))
    v.system_message = _str(output.get("systemMessage"))
    v.suppress_output = output.get("suppressOutput") is True
    decision = output.get("decision")
    reason = _str(output.get("reason"))
    if event == "PreToolUse" and decision in ("approve", "block"):
        v.decision = "allow" if decision == "approve" else "deny"
        v.decision_reason = reason
    elif decision == "block" and event in DECISION_EVENTS:
        v.blocked = True
        v.block_reason = reason or f"{label} hook blocked without a reason"
    specific = output.get("hookSpecificOutput")
    if specific is None:
        return v
    if not isinstance(specific, dict):
        v.errors.append(f"{label}: hookSpecificOutput is not an object; ignored")
        return v
    named = specific.get("hookEventName")
    if named is not None and named != event:
        v.errors.append(f"{label}: hookSpecificOutput is for {named!r}, not {event!r}; ignored")
        return v
    context = _str(specific.get("additionalContext"))
    if context:
        v.context.append(context)
    if event == "PreToolUse":
        _read_pre_tool_use(label, specific, v)
    elif event == "PermissionRequest":
        _read_permission_request(specific, v)
    elif event in ("PostToolUse", "PostToolUseFailure"):
        for key in ("updatedToolOutput", "updatedMCPToolOutput"):
            if key in specific:
                v.updated_tool_output = specific[key]
    return v


def _read_pre_tool_use(label: str, specific: dict[str, Any], v: Verdict) -> None:
    decision = specific.get("permissionDecision")
    if decision is not None:
        if decision in _RANK:
            v.decision = cast("PermissionDecision", decision)
            v.decision_reason = _str(specific.get("permissionDecisionReason"))
        else:
            v.errors.append(f"{label}: unknown permissionDecision {decision!r}; ignored")
    updated = specific.get("updatedInput")
    if isinstance(updated, dict):
        v.updated_input = updated
    elif updated is not None:
        v.errors.append(f"{label}: updatedInput is not an object; ignored")


def _read_permission_request(specific: dict[str, Any], v: Verdict) -> None:
    decision = specific.get("decision")
    if not isinstance(decision, dict):
        return
    if decision.get("behavior") == "allow":
        v.decision = "allow"
        if isinstance(decision.get("updatedInput"), dict):
            v.updated_input = decision["updatedInput"]
    elif decision.get("behavior") == "deny":
        v.decision = "deny"
        v.decision_reason = _str(decision.get("message"))


def aggregate(event: str, verdicts: list[Verdict], results: list[HookRunResult]) -> HookOutcome:
    """Fold verdicts in configuration order: any block wins, and deny > defer > ask > allow.

    ``defer`` ranks above ``ask`` because it ends the run for the caller to decide, which is the
    more cautious of the two. When several handlers rewrite the input, the last in configuration
    order wins, which keeps the result independent of which process happened to finish first.
    """
    out = HookOutcome(event=event, results=results)
    block_reasons: list[str] = []
    decision_reasons: dict[str, list[str]] = {}
    stop_reasons: list[str] = []
    for v in verdicts:
        if v.blocked:
            out.blocked = True
            if v.block_reason:
                block_reasons.append(v.block_reason)
        if v.decision is not None:
            if out.permission_decision is None or _RANK[v.decision] > _RANK[out.permission_decision]:
                out.permission_decision = v.decision
            if v.decision_reason:
                decision_reasons.setdefault(v.decision, []).append(v.decision_reason)
        if v.updated_input is not None:
            out.updated_input = v.updated_input
        if v.updated_tool_output is not None:
            out.updated_tool_output = v.updated_tool_output
        out.additional_context.extend(v.context)
        if v.stop:
            out.stop = True
            if v.stop_reason:
                stop_reasons.append(v.stop_reason)
        if v.system_message:
            out.system_messages.append(v.system_message)
        out.suppress_output = out.suppress_output or v.suppress_output
        out.errors.extend(v.errors)
    if block_reasons:
        out.block_reason = cap("\n".join(block_reasons))
    if out.permission_decision is not None and decision_reasons.get(out.permission_decision):
        out.permission_reason = cap("\n".join(decision_reasons[out.permission_decision]))
    if stop_reasons:
        out.stop_reason = cap("\n".join(stop_reasons))
    return out
