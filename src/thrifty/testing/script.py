"""Simulator scripts: the assistant turns the simulator plays back.

A script is data (a JSON or YAML file, see docs/simulator.md) or a Python callable. The turn to
play is derived from the request alone (the number of assistant messages it already holds), and
the conversation from its first user message, so retried and concurrent requests replay the same
way without any per-connection state.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

FaultKind = Literal[
    "rate_limit",  # 429 rate_limit_error with retry-after
    "overloaded",  # 529 overloaded_error
    "server_error",  # 500 api_error
    "http_error",  # any status/type given in the fault
    "connection_reset",  # the socket is closed before any response byte
    "stream_cut",  # the stream ends cleanly after N events (no message_stop)
    "stream_error",  # a mid-stream `error` event after N events
    "stream_drop",  # the connection breaks mid-body after N events
    "slow",  # delay before the response and between stream events
    "stall",  # no answer (or no further event after N) until the client gives up
]


class Fault(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: FaultKind
    #: How many attempts at this turn fail before it succeeds; 0 means every attempt.
    times: int = 1
    retry_after: float | None = None
    status: int | None = None
    error_type: str | None = None
    message: str | None = None
    #: Stream faults fire after this many events have been sent (message_start is the first).
    #: ``stall`` with 0 (or a request that does not stream) stalls before the status line.
    after_events: int = 2
    #: Seconds, for ``slow``: before the first byte, and between stream events. For ``stall``: the
    #: longest it holds the connection silent (0: until the client hangs up, at most 10 minutes).
    delay: float = 0.0
    event_delay: float = 0.0
    should_retry: bool | None = None


class ToolCall(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    input: dict[str, Any] = Field(default_factory=dict)
    id: str | None = None


class Turn(BaseModel):
    """One assistant response. Shorthands (``thinking``, ``text``, ``tool_use``) build ``content``
    in that order; ``content`` gives full control over the blocks instead."""

    model_config = ConfigDict(extra="forbid")

    thinking: str | None = None
    text: str | None = None
    tool_use: list[ToolCall] = Field(default_factory=list)
    content: list[dict[str, Any]] | None = None
    stop_reason: str | None = None
    usage: dict[str, int] | None = None
    fault: list[Fault] = Field(default_factory=list)

    @field_validator("tool_use", "fault", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    def blocks(self) -> list[dict[str, Any]]:
        if self.content is not None:
            return [dict(b) for b in self.content]
        out: list[dict[str, Any]] = []
        if self.thinking is not None:
            out.append({"type": "thinking", "thinking": self.thinking, "signature": ""})
        if self.text is not None:
            out.append({"type": "text", "text": self.text})
        for call in self.tool_use:
            block: dict[str, Any] = {"type": "tool_use", "name": call.name, "input": call.input}
            if call.id:
                block["id"] = call.id
            out.append(block)
        return out


class Conversation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: Substring of the first user message; ``re:`` prefix for a regular expression; None = any.
    match: str | None = None
    turns: list[Turn]

    def matches(self, first_user_text: str) -> bool:
        if self.match is None:
            return True
        if self.match.startswith("re:"):
            return re.search(self.match[3:], first_user_text) is not None
        return self.match in first_user_text


class AccountSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str
    mode: Literal["api", "plan"] = "api"
    name: str | None = None
    #: Plan accounts: window sizes in weighted tokens (input + cache writes + output).
    five_hour_limit: int = 2_000_000
    weekly_limit: int = 20_000_000


class ChaosSpec(BaseModel):
    """Random faults on any turn, reproducible from the seed whatever the arrival order."""

    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    rate: float = 0.0
    kinds: list[FaultKind] = Field(default_factory=lambda: list[FaultKind](["overloaded"]))


class ScriptFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversations: list[Conversation] = Field(default_factory=list)
    turns: list[Turn] | None = None
    accounts: list[AccountSpec] = Field(default_factory=list)
    chaos: ChaosSpec | None = None
    #: What to answer once a conversation has no turns left: a closing text turn, or a 400.
    on_exhausted: Literal["end", "error"] = "end"

    def all_conversations(self) -> list[Conversation]:
        extra = [Conversation(turns=self.turns)] if self.turns is not None else []
        return [*self.conversations, *extra]


@dataclass(frozen=True)
class SimRequest:
    """What a callable script is told about the request it must answer."""

    body: dict[str, Any]
    turn_index: int
    first_user_text: str
    account: str


ScriptFunction = Callable[[SimRequest], "Turn | dict[str, Any]"]


class ScriptError(ValueError):
    pass


def load_script(path: Path) -> ScriptFile:
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ScriptError(f"cannot read script {path}: {exc.strerror}") from exc
    import yaml  # here, not at the top: importing the simulator should not load it

    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        kind = "JSON" if path.suffix == ".json" else "YAML"
        raise ScriptError(f"script {path} is not valid {kind}: {exc}") from exc
    return parse_script(data, origin=str(path))


def parse_script(data: Any, origin: str = "script") -> ScriptFile:
    if isinstance(data, list):
        data = {"turns": data}
    try:
        return ScriptFile.model_validate(data or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ScriptError(f"{origin}: {where}: {first['msg']}") from exc


def first_user_text(body: dict[str, Any]) -> str:
    for message in body.get("messages") or []:
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return "\n".join(
                    str(b.get("text", "")) for b in content if isinstance(b, dict) and b.get("type") == "text"
                )
    return ""


def turn_index(body: dict[str, Any]) -> int:
    """Assistant messages already in the request; a trailing one is a prefill, not a past turn."""
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    count = sum(1 for m in messages if m.get("role") == "assistant")
    if messages and messages[-1].get("role") == "assistant":
        count -= 1
    return count
