"""What a run is asked to do. The CLI builds one from flags; the SDK from its keyword arguments.

Both then call :func:`thrifty.agent.validate.validate`, the one place the rules on these fields
live (and the session calls it again), so no rule can hold in one front end only.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from thrifty.agent.permissions.policy import PermissionMode
    from thrifty.agent.subagents import AgentDef
    from thrifty.tools.base import Tool

DEFAULT_MODEL = "claude-sonnet-5-5"
DEFAULT_MAX_TOKENS = 32_000
MODEL_ALIASES = {
    "sonnet": "claude-sonnet-5-5",
    "opus": "claude-opus-5-5",
    "haiku": "claude-haiku-5-5",
    "fable": "claude-fable-5-2",
}


#: A 429 asking for a wait up to this long is retried, as the SDKs always did: the official
#: clients honoured ``retry-after`` only up to 60 s (and the Messages API's per-minute buckets
#: refill within a minute). Anything longer is a quota window (a plan's 5-hour or weekly limit,
#: a spend limit) that a headless run should report at once rather than sleep through.
SHORT_RATE_LIMIT_WAIT_S = 60.0
#: ``--on-rate-limit wait`` without a MAX: long enough for any 5-hour plan window to reset, short
#: enough that a weekly limit still ends the run instead of parking it for days.
DEFAULT_RATE_LIMIT_MAX_WAIT_S = 6 * 3600.0
#: Claude Code's request timeout variable (milliseconds); ``--request-timeout`` wins over it.
API_TIMEOUT_ENV = "API_TIMEOUT_MS"

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def resolve_model(name: str) -> str:
    return MODEL_ALIASES.get(name, name)


def parse_duration(text: str) -> float:
    """``90s``, ``30m``, ``2h``, ``1h30m``, ``1d`` or bare seconds (``45``, ``0.5``); > 0 and finite."""
    value = text.strip().lower()
    seconds: float | None = None
    try:
        seconds = float(value)
    except ValueError:
        if value and _DURATION_PART.sub("", value) == "":
            seconds = sum(float(n) * _UNITS[u] for n, u in _DURATION_PART.findall(value))
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{text!r} is not a duration (like 90s, 30m, 2h or 1h30m)")
    return seconds


def format_duration(seconds: float) -> str:
    """The inverse of ``parse_duration`` for display: ``6h``, ``1h30m``, ``90s`` -> ``1m30s``."""
    total = max(0, round(seconds))
    if total == 0:
        return f"{seconds:g}s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, total = divmod(total, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


@dataclass(frozen=True)
class RateLimitPolicy:
    """What a run does when the server answers 429 and asks it to wait.

    A wait up to ``max_wait_s`` is slept through and the request retried (it counts as one of the
    call's retries); a longer one ends the run at once with ``error_rate_limited``. ``fail`` (the
    default) allows only short waits; ``wait[=MAX]`` allows waits up to MAX.
    """

    wait: bool = False
    max_wait_s: float = SHORT_RATE_LIMIT_WAIT_S

    @classmethod
    def parse(cls, text: str) -> RateLimitPolicy:
        """``fail``, ``wait`` or ``wait=MAX``; a ValueError in one line otherwise (its text reads
        after the option's name: ``--on-rate-limit`` or ``on_rate_limit``)."""
        mode, sep, limit = text.strip().partition("=")
        if mode == "fail" and not sep:
            return cls()
        if mode == "wait":
            if not sep:
                return cls(True, DEFAULT_RATE_LIMIT_MAX_WAIT_S)
            try:
                return cls(True, parse_duration(limit))
            except ValueError as exc:
                raise ValueError(f"wait={limit}: {exc}") from None
        raise ValueError(f"must be fail, wait or wait=MAX (like wait=2h), not {text!r}")

    def describe(self) -> str:
        return f"wait={format_duration(self.max_wait_s)}" if self.wait else "fail"


def effective_request_timeout(options: AgentOptions) -> float | None:
    """Seconds one model request may take: ``request_timeout``, else ``API_TIMEOUT_MS``, else
    None (the SDK's 10 minutes). A malformed ``API_TIMEOUT_MS`` is a ValueError, not ignored."""
    if options.request_timeout is not None:
        return positive_number(options.request_timeout, "request timeout", "seconds")
    raw = options.environ.get(API_TIMEOUT_ENV)
    if raw is None or not raw.strip():
        return None
    return positive_number(raw, API_TIMEOUT_ENV, "milliseconds") / 1000


def positive_number(value: object, what: str, unit: str) -> float:
    """``value`` as a finite number above 0, or a ValueError naming ``what`` and its unit."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{what} must be a number of {unit} above 0, not {value!r}")
    return number


@dataclass
class AgentOptions:
    cwd: Path = field(default_factory=Path.cwd)
    model: str = DEFAULT_MODEL
    max_tokens: int = DEFAULT_MAX_TOKENS
    system_prompt: str | None = None
    append_system_prompt: str | None = None
    #: ``None``: every built-in tool; otherwise the base set by name (``[]`` for none).
    tools: list[str] | None = None
    allowed_tools: list[str] = field(default_factory=list)
    disallowed_tools: list[str] = field(default_factory=list)
    permission_mode: PermissionMode | None = None
    add_dirs: list[Path] = field(default_factory=list)
    max_turns: int | None = None
    max_budget_usd: Decimal | None = None
    bare: bool = False
    setting_sources: list[str] | None = None
    settings: str | None = None
    #: No custom slash commands or skills: none loaded, listed or expanded, and no Skill tool.
    disable_slash_commands: bool = False
    #: The only skills and commands the model may invoke (the SDK's ``skills`` list); None: all.
    skills: list[str] | None = None
    include_partial_messages: bool = False
    json_schema: dict[str, Any] | None = None
    thinking_budget: int | None = None
    session_id: str | None = None
    #: Sessions: continue a stored conversation by id, or the newest one in ``cwd``; with
    #: ``fork_session`` the continuation gets a new id and the original is left as it was.
    resume: str | None = None
    continue_conversation: bool = False
    fork_session: bool = False
    #: Write the transcript that ``resume`` reads (under the data dir, 0600).
    persist_session: bool = True
    #: Front ends fill it with ``validate.max_retries`` (their option, else ``THRIFTY_MAX_RETRIES``).
    max_retries: int = 4
    #: 429s asking for a long wait: end at once (default) or wait up to a maximum.
    on_rate_limit: RateLimitPolicy = field(default_factory=RateLimitPolicy)
    #: Seconds one model request may take before it is retried as a timeout; None: the
    #: ``API_TIMEOUT_MS`` environment variable, else the SDK's default (10 minutes).
    request_timeout: float | None = None
    #: Structured output: how many invalid answers the model may correct before the run fails,
    #: and an extra check after the schema (the SDK's pydantic model): None or a problem text.
    structured_output_retries: int = 3
    structured_check: Callable[[Any], str | None] | None = None
    #: Caller-defined tools offered next to the built-ins (SDK ``@tool`` and SDK MCP servers).
    extra_tools: list[Tool] = field(default_factory=list)
    #: Where credentials, the endpoint and billing overrides are read from.
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    #: Billing: pin the mode (``api``/``plan``), choose the ledger (path or URL), skip recording,
    #: and label rows (project name, free-form tags). ``None`` defers to config and environment.
    billing_mode: str | None = None
    ledger: str | None = None
    record_usage: bool = True
    project: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    #: In-process hook callbacks (event -> [(matcher, async fn)]), for the SDK.
    hook_callbacks: dict[str, list[Any]] = field(default_factory=dict)
    #: Subagents given by the caller (``--agents``, ``agents=``), over those in agent files; and
    #: the one the main thread runs as (``--agent``): its prompt, tools and model.
    agents: dict[str, AgentDef] = field(default_factory=dict)
    agent: str | None = None
    #: MCP servers by name (``--mcp-config``, SDK ``mcp_servers``): stdio, sse and http ones are
    #: started with the session (``thrifty.mcp.servers``); ``mcp_transport_for`` serves the kinds
    #: a front end reaches itself (the CLI's host-side ``sdk`` servers).
    mcp_servers: dict[str, dict[str, Any]] = field(default_factory=dict)
    mcp_transport_for: Callable[[Any], Any] | None = None
    #: ``--strict-mcp-config``: only ``mcp_servers``, never the project's ``.mcp.json``.
    strict_mcp_config: bool = False
    #: Local plugin directories (``--plugin-dir``, SDK ``plugins``), read by ``agent.plugins``.
    plugins: list[Path] = field(default_factory=list)
    #: Summarise the conversation when it nears the context window (``agent.compact``): None
    #: follows ``DISABLE_AUTO_COMPACT`` / ``DISABLE_COMPACT`` and the ``autoCompactEnabled`` setting.
    auto_compact: bool | None = None
