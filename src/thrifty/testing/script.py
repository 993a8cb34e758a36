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


class WebResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str
    title: str = "A page"


#: What a real search result carries besides its url and title.
_OPAQUE = {"encrypted_content": "c2ltdWxhdGVk", "page_age": None}


class WebSearch(BaseModel):
    """A ``web_search`` server tool use and its result (``server_tool_use`` +
    ``web_search_tool_result``), counted in ``usage.server_tool_use.web_search_requests``."""

    model_config = ConfigDict(extra="forbid")

    query: str
    results: list[WebResult] = Field(default_factory=lambda: [WebResult(url="https://example.com/")])


class WebFetch(BaseModel):
    """A ``web_fetch`` server tool use and its result, counted in ``web_fetch_requests``. A URL
    outside the request's ``allowed_domains`` (or inside ``blocked_domains``) gets the API's
    ``url_not_allowed`` error result instead of the page."""

    model_config = ConfigDict(extra="forbid")

    url: str
    title: str = "A page"
    text: str = "Page text."


class Turn(BaseModel):
    """One assistant response. Shorthands (``thinking``, ``web_search``, ``web_fetch``, ``text``,
    ``tool_use``) build ``content`` in that order; ``content`` gives full control instead."""

    model_config = ConfigDict(extra="forbid")

    thinking: str | None = None
    text: str | None = None
    tool_use: list[ToolCall] = Field(default_factory=list)
    web_search: list[WebSearch] = Field(default_factory=list)
    web_fetch: list[WebFetch] = Field(default_factory=list)
    content: list[dict[str, Any]] | None = None
    stop_reason: str | None = None
    usage: dict[str, int] | None = None
    fault: list[Fault] = Field(default_factory=list)

    @field_validator("tool_use", "fault", "web_search", "web_fetch", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    def blocks(self) -> list[dict[str, Any]]:
        if self.content is not None:
            return [dict(b) for b in self.content]
        out: list[dict[str, Any]] = []
        if self.thinking is not None:
            out.append({"type": "thinking", "thinking": self.thinking, "signature": ""})
        for search in self.web_search:
            out.append(_server_use("web_search", {"query": search.query}))
            results = [
                {"type": "web_search_result", "url": r.url, "title": r.title, **_OPAQUE}
                for r in search.results
            ]
            out.append({"type": "web_search_tool_result", "content": results})
        for fetch in self.web_fetch:
            out.append(_server_use("web_fetch", {"url": fetch.url}))
            document = {
                "type": "document",
                "source": {"type": "text", "media_type": "text/plain", "data": fetch.text},
                "title": fetch.title,
            }
            page = {"type": "web_fetch_result", "url": fetch.url, "content": document, "retrieved_at": None}
            out.append({"type": "web_fetch_tool_result", "content": page})
        if self.text is not None:
            out.append({"type": "text", "text": self.text})
        for call in self.tool_use:
            block: dict[str, Any] = {"type": "tool_use", "name": call.name, "input": call.input}
            if call.id:
                block["id"] = call.id
            out.append(block)
        return out


def _server_use(name: str, tool_input: dict[str, Any]) -> dict[str, Any]:
    """A server tool use; the simulator gives it a ``srvtoolu_`` id and its result the same."""
    return {"type": "server_tool_use", "name": name, "input": tool_input}


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


def _paused(message: dict[str, Any]) -> bool:
    """A turn that stopped with ``pause_turn`` (it holds server tool use): sent back to go on."""
    content = message.get("content")
    return isinstance(content, list) and any(
        isinstance(b, dict) and b.get("type") == "server_tool_use" for b in content
    )


def turn_index(body: dict[str, Any]) -> int:
    """Assistant messages already in the request; a trailing one is a prefill, not a past turn,
    unless it is a paused turn (``pause_turn``) sent back to continue."""
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    count = sum(1 for m in messages if m.get("role") == "assistant")
    if messages and messages[-1].get("role") == "assistant" and not _paused(messages[-1]):
        count -= 1
    return count
