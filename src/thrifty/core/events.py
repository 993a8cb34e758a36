"""The one typed event stream every consumer reads: renderers, the ledger and the SDK.

The loop yields these in order and always ends with exactly one ``Result``. Each event maps to
one stream-json frame (``to_frame``), so the CLI's output formats are views of this stream and
never a second code path.
"""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from thrifty.core.usage import Usage

#: The Claude Code version thrifty reports in ``system/init`` as ``claude_code_version``: the
#: Agent SDK checks that field against its minimum (2.0.0, and 2.1.248 for ``verbatim_prompts``).
#: thrifty's own version goes in ``thrifty_version``.
CLAUDE_CODE_COMPAT_VERSION = "2.1.331"


def new_uuid() -> str:
    return str(uuidlib.uuid4())


@dataclass(frozen=True)
class SystemInit:
    session_id: str
    cwd: str
    model: str
    tools: list[str]
    permission_mode: str
    api_key_source: str
    version: str
    #: Who pays for this run: ``{"mode", "source", "account", "ledger"}`` (no secrets).
    billing: dict[str, Any] = field(default_factory=dict)
    uuid: str = field(default_factory=new_uuid)
    kind: Literal["system_init"] = "system_init"
    #: The subagents the session offers, by name (``--agents``, ``agents=``, agent files).
    agents: list[str] = field(default_factory=list)
    #: The session's custom slash commands and skills by name; its skills alone.
    slash_commands: list[str] = field(default_factory=list)
    skills: list[str] = field(default_factory=list)
    #: Local plugins (``--plugin-dir``): ``{name, path, source, version?}`` each, and Claude
    #: Code's ``plugin_errors`` for those that could not be loaded (None: no error).
    plugins: list[dict[str, Any]] = field(default_factory=list)
    plugin_errors: list[dict[str, Any]] | None = None

    @property
    def subtype(self) -> str:
        """As the official SDK's ``SystemMessage.subtype``."""
        return "init"

    @property
    def data(self) -> dict[str, Any]:
        """The whole ``system/init`` frame, as the official SDK's ``SystemMessage.data``."""
        return self.to_frame()

    def to_frame(self) -> dict[str, Any]:
        return {
            "type": "system",
            "subtype": "init",
            "cwd": self.cwd,
            "session_id": self.session_id,
            "tools": self.tools,
            "mcp_servers": [],
            "model": self.model,
            "permissionMode": self.permission_mode,
            "slash_commands": self.slash_commands,
            "apiKeySource": self.api_key_source,
            "claude_code_version": CLAUDE_CODE_COMPAT_VERSION,
            "thrifty_version": self.version,
            "output_style": "default",
            "agents": self.agents,
            "skills": self.skills,
            "plugins": self.plugins,
            # Claude Code sends the key only when a plugin failed to load.
            **({"plugin_errors": self.plugin_errors} if self.plugin_errors else {}),
            "billing": self.billing,
            "uuid": self.uuid,
        }


@dataclass(frozen=True)
class StreamEvent:
    """A raw Messages API SSE event, forwarded for ``--include-partial-messages``."""

    session_id: str
    event: dict[str, Any]
    uuid: str = field(default_factory=new_uuid)
    kind: Literal["stream_event"] = "stream_event"
    #: Set on a subagent's messages: the id of the Agent ``tool_use`` that started it.
    parent_tool_use_id: str | None = None

    def to_frame(self) -> dict[str, Any]:
        return {
            "type": "stream_event",
            "event": self.event,
            "session_id": self.session_id,
            "parent_tool_use_id": self.parent_tool_use_id,
            "uuid": self.uuid,
        }


@dataclass(frozen=True)
class ApiUsage:
    """Usage of one API attempt, emitted as soon as it is known and before anything can fail.

    Failed attempts that returned usage (a stream that broke after ``message_start``) are
    reported too, with ``complete=False``: they were billed.
    """

    session_id: str
    request_id: str | None
    message_id: str | None
    model: str
    #: The attempt's usage, read once from the response (``Usage.from_api``).
    usage: Usage
    duration_ms: int
    complete: bool
    attempt: int
    #: Plan-window headers of the response (``anthropic-ratelimit-unified-*``), if it sent any.
    rate_limits: dict[str, str] = field(default_factory=dict)
    #: The response's usage block exactly as it arrived, for fields ``Usage`` does not model.
    raw_usage: dict[str, Any] = field(default_factory=dict)
    #: What the meter priced this attempt at (exact USD, the ledger row's ``cost_usd``); ``None``
    #: when the model has no known price, and before the loop's meter has seen the event.
    cost: Decimal | None = None
    kind: Literal["api_usage"] = "api_usage"

    def to_frame(self) -> None:
        return None


@dataclass(frozen=True)
class RateLimit:
    """Plan-window state from a response's unified headers, as Claude Code's ``rate_limit_event``."""

    session_id: str
    info: dict[str, Any]
    uuid: str = field(default_factory=new_uuid)
    kind: Literal["rate_limit"] = "rate_limit"

    def to_frame(self) -> dict[str, Any]:
        return {
            "type": "rate_limit_event",
            "rate_limit_info": self.info,
            "uuid": self.uuid,
            "session_id": self.session_id,
        }


@dataclass(frozen=True)
class BillingNotice:
    """Something about who pays that the user should see: a window past 80%, a shadowed login,
    a ledger that could not be written. Text mode prints it on stderr."""

    session_id: str
    message: str
    uuid: str = field(default_factory=new_uuid)
    kind: Literal["billing_notice"] = "billing_notice"

    def to_frame(self) -> dict[str, Any]:
        return {
            "type": "system",
            "subtype": "billing_notice",
            "message": self.message,
            "session_id": self.session_id,
            "uuid": self.uuid,
        }


@dataclass(frozen=True)
class AssistantMessage:
    session_id: str
    message: dict[str, Any]
    request_id: str | None
    uuid: str = field(default_factory=new_uuid)
    kind: Literal["assistant"] = "assistant"
    #: Set on a subagent's messages: the id of the Agent ``tool_use`` that started it.
    parent_tool_use_id: str | None = None

    # Conveniences for SDK callers, named as on the official SDK's AssistantMessage.
    @property
    def content(self) -> list[dict[str, Any]]:
        """The response's content blocks (Messages API dicts)."""
        return list(self.message.get("content") or [])

    @property
    def text(self) -> str:
        """The response's text blocks, joined."""
        return "".join(str(b.get("text", "")) for b in self.content if b.get("type") == "text")

    @property
    def model(self) -> str | None:
        return self.message.get("model")

    @property
    def usage(self) -> dict[str, Any] | None:
        return self.message.get("usage")

    @property
    def stop_reason(self) -> str | None:
        return self.message.get("stop_reason")

    @property
    def message_id(self) -> str | None:
        return self.message.get("id")

    def to_frame(self) -> dict[str, Any]:
        return {
            "type": "assistant",
            "message": self.message,
            "parent_tool_use_id": self.parent_tool_use_id,
            "session_id": self.session_id,
            "uuid": self.uuid,
            "request_id": self.request_id,
        }


@dataclass(frozen=True)
class UserMessage:
    """A user turn as sent to the model: the prompt, or tool results."""

    session_id: str
    content: str | list[dict[str, Any]]
    #: ``prompt`` (the user's own turn, not echoed in stream-json), ``tool_results``, ``reminder``
    #: (structured-output enforcement) or ``hook`` (a Stop hook's reason to go on).
    origin: Literal["prompt", "tool_results", "reminder", "hook"] = "prompt"
    tool_use_result: Any = None
    uuid: str = field(default_factory=new_uuid)
    kind: Literal["user"] = "user"
    #: Set on a subagent's messages: the id of the Agent ``tool_use`` that started it.
    parent_tool_use_id: str | None = None

    def to_frame(self) -> dict[str, Any]:
        frame: dict[str, Any] = {
            "type": "user",
            "message": {"role": "user", "content": self.content},
            "parent_tool_use_id": self.parent_tool_use_id,
            "session_id": self.session_id,
            "uuid": self.uuid,
        }
        if self.tool_use_result is not None:
            frame["tool_use_result"] = self.tool_use_result
        return frame


@dataclass(frozen=True)
class ApiRetry:
    session_id: str
    attempt: int
    max_retries: int
    retry_delay_ms: int
    error_status: int | None
    error: str
    uuid: str = field(default_factory=new_uuid)
    kind: Literal["api_retry"] = "api_retry"

    def to_frame(self) -> dict[str, Any]:
        return {
            "type": "system",
            "subtype": "api_retry",
            "attempt": self.attempt,
            "max_retries": self.max_retries,
            "retry_delay_ms": self.retry_delay_ms,
            "error_status": self.error_status,
            "error": self.error,
            "session_id": self.session_id,
            "uuid": self.uuid,
        }


@dataclass(frozen=True)
class PermissionDenied:
    session_id: str
    tool_name: str
    tool_use_id: str
    tool_input: dict[str, Any]
    message: str
    uuid: str = field(default_factory=new_uuid)
    kind: Literal["permission_denied"] = "permission_denied"

    def to_frame(self) -> dict[str, Any]:
        return {
            "type": "system",
            "subtype": "permission_denied",
            "tool_name": self.tool_name,
            "tool_use_id": self.tool_use_id,
            "message": self.message,
            "session_id": self.session_id,
            "uuid": self.uuid,
        }

    def denial(self) -> dict[str, Any]:
        return {"tool_name": self.tool_name, "tool_use_id": self.tool_use_id, "tool_input": self.tool_input}


@dataclass(frozen=True)
class CompactBoundary:
    """The history was replaced by a summary (``agent.compact``): Claude Code's
    ``system/compact_boundary`` frame; ``trigger`` is ``auto`` or ``manual``."""

    session_id: str
    trigger: Literal["auto", "manual"]
    pre_tokens: int
    post_tokens: int | None = None
    duration_ms: int | None = None
    uuid: str = field(default_factory=new_uuid)
    kind: Literal["compact_boundary"] = "compact_boundary"

    def to_frame(self) -> dict[str, Any]:
        metadata: dict[str, Any] = {"trigger": self.trigger, "pre_tokens": self.pre_tokens}
        if self.post_tokens is not None:
            metadata["post_tokens"] = self.post_tokens
        if self.duration_ms is not None:
            metadata["duration_ms"] = self.duration_ms
        return {
            "type": "system",
            "subtype": "compact_boundary",
            "session_id": self.session_id,
            "uuid": self.uuid,
            "compact_metadata": metadata,
        }


@dataclass(frozen=True)
class SystemFrame:
    """A ``system`` frame passed on as it came: a plan run's ``claude`` sends ``status``,
    ``task_*`` and others thrifty has no event of its own for, and stream-json should still show
    them as ``claude -p`` would. ``.subtype`` and ``.data`` as on the official SDK's
    ``SystemMessage``."""

    session_id: str
    subtype: str
    data: dict[str, Any]
    uuid: str = field(default_factory=new_uuid)
    kind: Literal["system_frame"] = "system_frame"

    def to_frame(self) -> dict[str, Any]:
        return {
            **self.data,
            "type": "system",
            "subtype": self.subtype,
            "session_id": self.session_id,
            "uuid": self.uuid,
        }


@dataclass(frozen=True)
class Result:
    """The end of a run: the ``result`` message of Claude Code, key for key."""

    session_id: str
    subtype: str
    is_error: bool
    duration_ms: int
    duration_api_ms: int
    num_turns: int
    result: str | None
    stop_reason: str | None
    total_cost_usd: float
    usage: dict[str, Any]
    model_usage: dict[str, Any]
    permission_denials: list[dict[str, Any]]
    terminal_reason: str
    exit_code: int
    errors: list[str] = field(default_factory=list)
    #: HTTP status of the API error that ended the run; null on every other result (as Claude
    #: Code, which sends the key on success results too).
    api_error_status: int | None = None
    #: The API error's ``error.type`` (``rate_limit_error``, ``not_found_error``, ...), or
    #: ``connection_error`` / ``request_timeout`` when no response came; absent otherwise.
    api_error_type: str | None = None
    structured_output: Any = None
    has_structured_output: bool = False
    billing: dict[str, Any] = field(default_factory=dict)
    uuid: str = field(default_factory=new_uuid)
    kind: Literal["result"] = "result"

    def to_frame(self) -> dict[str, Any]:
        frame: dict[str, Any] = {
            "type": "result",
            "subtype": self.subtype,
            "is_error": self.is_error,
            "duration_ms": self.duration_ms,
            "duration_api_ms": self.duration_api_ms,
            "num_turns": self.num_turns,
        }
        if self.result is not None:
            frame["result"] = self.result
        frame.update(
            {
                "stop_reason": self.stop_reason,
                "session_id": self.session_id,
                "total_cost_usd": self.total_cost_usd,
                "usage": self.usage,
                "modelUsage": self.model_usage,
                "permission_denials": self.permission_denials,
                "terminal_reason": self.terminal_reason,
                "uuid": self.uuid,
            }
        )
        if self.errors:
            frame["errors"] = self.errors
        frame["api_error_status"] = self.api_error_status
        if self.api_error_type is not None:
            frame["api_error_type"] = self.api_error_type
        if self.has_structured_output:
            frame["structured_output"] = self.structured_output
        if self.billing:
            frame["billing"] = self.billing
        return frame


#: The ``system/task_*`` subtypes Claude Code sends around a subagent or a background command.
TaskSubtype = Literal["task_started", "task_progress", "task_updated", "task_notification"]


@dataclass(frozen=True)
class TaskEvent:
    """A step in the life of a subagent or a background Bash command (``agent.subagents``,
    ``tools.bash_background``): Claude Code's ``system/task_started``, ``task_progress``,
    ``task_updated`` and ``task_notification`` frames, which the official SDK reads as its
    ``Task*Message`` classes. ``fields`` holds the frame's other keys in Claude Code's order, so
    the frame is built once; ``.subtype`` and ``.data`` as on the official SDK's
    ``SystemMessage``."""

    session_id: str
    subtype: TaskSubtype
    task_id: str
    fields: dict[str, Any] = field(default_factory=dict)
    uuid: str = field(default_factory=new_uuid)
    kind: Literal["task"] = "task"

    @property
    def data(self) -> dict[str, Any]:
        return self.to_frame()

    @property
    def tool_use_id(self) -> str | None:
        return self.fields.get("tool_use_id")

    @property
    def status(self) -> str | None:
        """``completed``, ``failed`` or ``stopped`` on a notification; ``task_updated`` has the
        patch's (``killed`` there)."""
        found = self.fields.get("status") or self.fields.get("patch", {}).get("status")
        return str(found) if found is not None else None

    @property
    def usage(self) -> dict[str, int] | None:
        return self.fields.get("usage")

    def to_frame(self) -> dict[str, Any]:
        return {
            "type": "system",
            "subtype": self.subtype,
            "task_id": self.task_id,
            **self.fields,
            "uuid": self.uuid,
            "session_id": self.session_id,
        }


Event = (
    SystemInit
    | StreamEvent
    | ApiUsage
    | RateLimit
    | BillingNotice
    | AssistantMessage
    | UserMessage
    | ApiRetry
    | PermissionDenied
    | CompactBoundary
    | SystemFrame
    | Result
    | TaskEvent
)
