"""``thrifty.Options``: the public options, named after ``ClaudeAgentOptions`` where they mean
the same thing, checked eagerly, and turned into the loop's ``AgentOptions``.

Differences from ``claude-agent-sdk``: ``system_prompt=None`` means thrifty's default prompt, not
an empty one; ``mcp_servers`` takes only in-process servers (``create_sdk_mcp_server``); the
transport-level fields (``cli_path``, ``extra_args``, ``stderr``, ``user``, ...) and features
thrifty does not have (``agents``, ``plugins``, ``sandbox``, ``skills``, ``fallback_model``,
``betas``, file checkpointing) are not fields at all, so passing one is a ``TypeError``.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from thrifty.agent.options import DEFAULT_MAX_TOKENS, DEFAULT_MODEL, AgentOptions, RateLimitPolicy
from thrifty.agent.permissions import normalize_mode
from thrifty.agent.setup import SetupError
from thrifty.sdk.hooks import HookMatcher, hook_callbacks
from thrifty.sdk.permissions import CanUseTool, PermissionBridge
from thrifty.sdk.tools import server_tools

if TYPE_CHECKING:
    import anthropic

__all__ = ["Built", "ClaudeAgentOptions", "Options", "build"]

_SOURCES = ("user", "project", "local")


def _fail(message: str) -> SetupError:
    return SetupError(message)


def _uuid(value: str | None, name: str) -> None:
    if value is None:
        return
    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        raise _fail(f"{name} {value!r} is not a valid UUID") from None


def _budget(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        amount = Decimal("NaN")
    if isinstance(value, bool) or not amount.is_finite() or amount <= 0:
        raise _fail(f"max_budget_usd must be a number greater than 0, not {value!r}")
    return amount


@dataclass
class Options:
    """See docs/sdk.md for each field; defaults match ``ClaudeAgentOptions`` unless noted."""

    # -- as in ClaudeAgentOptions -----------------------------------------------------------
    #: Built-in tool set: None or ``{"type": "preset", "preset": "claude_code"}`` for all,
    #: a list of names, ``[]`` for none. Tools of ``mcp_servers`` come on top.
    tools: list[str] | dict[str, Any] | None = None
    allowed_tools: list[str] = field(default_factory=list)
    #: None: thrifty's default prompt (NOT empty, unlike the official SDK); a str replaces it;
    #: ``{"type": "preset", "preset": "claude_code", "append": "..."}`` appends to it;
    #: ``{"type": "custom", "prompt": ...}`` and ``{"type": "file", "path": ...}`` replace it.
    system_prompt: str | dict[str, Any] | None = None
    mcp_servers: dict[str, Any] = field(default_factory=dict)
    permission_mode: str | None = None
    continue_conversation: bool = False
    resume: str | None = None
    session_id: str | None = None
    max_turns: int | None = None
    max_budget_usd: float | Decimal | str | None = None
    disallowed_tools: list[str] = field(default_factory=list)
    model: str | None = None
    #: Not supported (use ``can_use_tool``); setting it is a SetupError.
    permission_prompt_tool_name: str | None = None
    cwd: str | Path | None = None
    settings: str | None = None
    add_dirs: list[str | Path] = field(default_factory=list)
    #: Laid over ``os.environ``: credentials, ``ANTHROPIC_BASE_URL``, the tools' environment.
    env: dict[str, str] = field(default_factory=dict)
    can_use_tool: CanUseTool | None = None
    hooks: dict[str, list[HookMatcher]] | None = None
    include_partial_messages: bool = False
    fork_session: bool = False
    setting_sources: list[str] | None = None
    max_thinking_tokens: int | None = None
    #: ``{"type": "enabled", "budget_tokens": N}`` or ``{"type": "disabled"}``.
    thinking: dict[str, Any] | None = None
    #: ``{"type": "json_schema", "schema": {...}}``.
    output_format: dict[str, Any] | None = None
    # -- thrifty -----------------------------------------------------------------------------
    #: A pydantic model: its schema is the output schema, the answer must validate against the
    #: model too, and ``thrifty.parse_output(result, Model)`` returns the instance.
    output_type: type[BaseModel] | None = None
    #: Invalid structured answers the model may correct before ``error_max_structured_output_retries``.
    structured_output_retries: int = 3
    #: Retries of one model call (overloaded, rate limited, dropped connection) before the run fails.
    max_retries: int = 4
    #: A 429 asking to wait longer than a minute (a plan's 5-hour or weekly window, a spend
    #: limit): ``"fail"`` ends the run at once with ``subtype="error_rate_limited"``; ``"wait"``
    #: waits up to 6 hours, ``"wait=MAX"`` up to MAX (``"90s"``, ``"30m"``, ``"2h"``).
    on_rate_limit: str = "fail"
    #: Seconds one model request (and each wait between stream events) may take before it is
    #: retried as a timeout. None: ``API_TIMEOUT_MS`` from ``env``/the environment, else 10 minutes.
    request_timeout: float | None = None
    max_tokens: int = DEFAULT_MAX_TOKENS
    #: Who pays and where it is written: ``"api"``/``"plan"``, a ledger path or URL, no ledger,
    #: and the labels of each ledger row.
    billing_mode: str | None = None
    ledger: str | None = None
    record_usage: bool = True
    project: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    #: Save the transcript that ``resume``/``continue_conversation`` read.
    persist_session: bool = True
    #: Read no CLAUDE.md, settings files or settings hooks.
    bare: bool = False
    #: An ``anthropic.AsyncAnthropic`` to reuse across sessions (one connection pool and TLS
    #: context instead of one per session: about half the CPU per session); thrifty does not
    #: close it. Its credentials are used as they are: ledger rows name the account ``client``
    #: and the mode is ``api`` unless ``billing_mode="plan"``.
    client: anthropic.AsyncAnthropic | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise SetupError (a ValueError) for the first mistake, in one line."""
        if self.permission_prompt_tool_name is not None:
            if self.can_use_tool is not None:
                raise _fail("can_use_tool and permission_prompt_tool_name cannot be used together")
            raise _fail("permission_prompt_tool_name is not supported by thrifty; use can_use_tool")
        if self.permission_mode is not None:
            try:
                normalize_mode(self.permission_mode)
            except ValueError as exc:
                raise _fail(str(exc)) from None
        _budget(self.max_budget_usd)
        if self.max_turns is not None and (isinstance(self.max_turns, bool) or self.max_turns < 0):
            raise _fail("max_turns must be 0 (no limit) or a positive number")
        for name in ("structured_output_retries", "max_retries"):
            if getattr(self, name) < 0:
                raise _fail(f"{name} must be 0 or more")
        if self.max_tokens < 1:
            raise _fail("max_tokens must be at least 1")
        self._rate_limit_policy()
        if self.request_timeout is not None and (
            isinstance(self.request_timeout, bool)
            or not isinstance(self.request_timeout, int | float)
            or not math.isfinite(self.request_timeout)
            or self.request_timeout <= 0
        ):
            raise _fail(f"request_timeout must be a number of seconds above 0, not {self.request_timeout!r}")
        _uuid(self.session_id, "session_id")
        _uuid(self.resume, "resume")
        if self.resume and self.continue_conversation:
            raise _fail("resume and continue_conversation cannot be used together")
        resuming = bool(self.resume or self.continue_conversation)
        if self.fork_session and not resuming:
            raise _fail("fork_session only works with resume or continue_conversation")
        if self.session_id and resuming and not self.fork_session:
            raise _fail("session_id with resume or continue_conversation also needs fork_session")
        if self.fork_session and not self.persist_session:
            raise _fail("fork_session cannot be used with persist_session=False")
        if self.billing_mode not in (None, "api", "plan"):
            raise _fail(f"billing_mode must be 'api' or 'plan', not {self.billing_mode!r}")
        if self.ledger is not None and not self.record_usage:
            raise _fail("ledger and record_usage=False cannot be used together")
        for source in self.setting_sources or []:
            if source not in _SOURCES:
                raise _fail(f"setting_sources: unknown source {source!r} (expected user, project, local)")
        if self.can_use_tool is not None and not callable(self.can_use_tool):
            raise _fail("can_use_tool must be a callable")
        self._system_prompt()
        self._tools()
        self._thinking()
        self._schema()
        hook_callbacks(self.hooks)
        if not isinstance(self.mcp_servers, dict):
            raise _fail("mcp_servers must be a dict of name -> create_sdk_mcp_server(...)")

    # -- conversions --------------------------------------------------------------------------

    def _rate_limit_policy(self) -> RateLimitPolicy:
        if not isinstance(self.on_rate_limit, str):
            raise _fail(f"on_rate_limit must be a str like 'fail' or 'wait=2h', not {self.on_rate_limit!r}")
        try:
            return RateLimitPolicy.parse(self.on_rate_limit)
        except ValueError as exc:
            raise _fail(f"on_rate_limit {exc}") from None

    def _system_prompt(self) -> tuple[str | None, str | None]:
        """(replace, append) for the loop."""
        sp = self.system_prompt
        if sp is None or isinstance(sp, str):
            return sp, None
        kind = sp.get("type") if isinstance(sp, dict) else None
        if kind == "preset" and sp.get("preset") == "claude_code":
            append = sp.get("append")
            return None, append if isinstance(append, str) and append else None
        if kind == "custom" and isinstance(sp.get("prompt"), str):
            return sp["prompt"], None
        if kind == "file" and isinstance(sp.get("path"), str | Path):
            try:
                return Path(sp["path"]).read_text("utf-8"), None
            except OSError as exc:
                raise _fail(f"system_prompt file {sp['path']}: {exc.strerror}") from None
        raise _fail("system_prompt must be a str, None, or a {'type': 'preset'|'custom'|'file', ...} dict")

    def _tools(self) -> list[str] | None:
        tools = self.tools
        if tools is None or tools == {"type": "preset", "preset": "claude_code"}:
            return None
        if isinstance(tools, list) and all(isinstance(t, str) for t in tools):
            return list(tools)
        raise _fail("tools must be a list of names or {'type': 'preset', 'preset': 'claude_code'}")

    def _thinking(self) -> int | None:
        t = self.thinking
        if t is not None:
            kind = t.get("type") if isinstance(t, dict) else None
            if kind == "disabled":
                return None
            if kind != "enabled" or not isinstance(t.get("budget_tokens"), int):
                raise _fail(
                    "thinking must be {'type': 'enabled', 'budget_tokens': N} or {'type': 'disabled'}"
                )
            budget: int = t["budget_tokens"]
        elif self.max_thinking_tokens:
            budget = self.max_thinking_tokens
        else:
            return None
        if budget < 1024 or budget >= self.max_tokens:
            raise _fail(f"thinking budget must be at least 1024 and below max_tokens ({self.max_tokens})")
        return budget

    def _schema(self) -> dict[str, Any] | None:
        fmt, model = self.output_format, self.output_type
        if model is not None and not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise _fail("output_type must be a pydantic BaseModel subclass")
        if fmt is not None:
            if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
                raise _fail("output_format must be {'type': 'json_schema', 'schema': {...}}")
            if not isinstance(fmt.get("schema"), dict):
                raise _fail("output_format needs a 'schema' (a JSON Schema object)")
            if model is not None:
                raise _fail("output_format and output_type cannot be used together")
            return dict(fmt["schema"])
        return dict(model.model_json_schema()) if model is not None else None


def _model_check(model: type[BaseModel]) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        try:
            model.model_validate(value)
        except ValidationError as exc:
            return "\n".join(
                f"{'/'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()
            )
        return None

    return check


#: The official SDK's name, for a migration by search and replace.
ClaudeAgentOptions = Options


@dataclass
class Built:
    """What a session is made of: the loop's options, the caller's client, the ask bridge."""

    agent: AgentOptions
    client: anthropic.AsyncAnthropic | None
    ask: PermissionBridge | None


def build(options: Options | None) -> Built:
    """Check the options again (fields may have changed since construction) and convert them."""
    o = options if options is not None else Options()
    if not isinstance(o, Options):
        raise _fail(f"options must be thrifty.Options, not {type(o).__name__}")
    o.validate()
    replace, append = o._system_prompt()
    extra = [t for key, config in o.mcp_servers.items() for t in server_tools(str(key), config)]
    names = [t.name for t in extra]
    if len(set(names)) != len(names):
        raise _fail("mcp_servers: two tools end up with the same name")
    agent = AgentOptions(
        cwd=Path(o.cwd) if o.cwd is not None else Path.cwd(),
        model=o.model or DEFAULT_MODEL,
        max_tokens=o.max_tokens,
        system_prompt=replace,
        append_system_prompt=append,
        tools=o._tools(),
        allowed_tools=list(o.allowed_tools),
        disallowed_tools=list(o.disallowed_tools),
        permission_mode=o.permission_mode,
        add_dirs=[Path(d) for d in o.add_dirs],
        max_turns=o.max_turns or None,
        max_budget_usd=_budget(o.max_budget_usd),
        bare=o.bare,
        setting_sources=list(o.setting_sources) if o.setting_sources is not None else None,
        settings=o.settings,
        include_partial_messages=o.include_partial_messages,
        json_schema=o._schema(),
        thinking_budget=o._thinking(),
        session_id=o.session_id,
        resume=o.resume,
        continue_conversation=o.continue_conversation,
        fork_session=o.fork_session,
        persist_session=o.persist_session,
        max_retries=o.max_retries,
        on_rate_limit=o._rate_limit_policy(),
        request_timeout=float(o.request_timeout) if o.request_timeout is not None else None,
        structured_output_retries=o.structured_output_retries,
        structured_check=_model_check(o.output_type) if o.output_type is not None else None,
        extra_tools=extra,
        environ={**os.environ, **{str(k): str(v) for k, v in o.env.items()}},
        billing_mode=o.billing_mode,
        ledger=o.ledger,
        record_usage=o.record_usage,
        project=o.project,
        tags=dict(o.tags),
        hook_callbacks=dict(hook_callbacks(o.hooks)),
    )
    ask = PermissionBridge(o.can_use_tool) if o.can_use_tool is not None else None
    return Built(agent, o.client, ask)
