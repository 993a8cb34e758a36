"""``thrifty.Options``: the public options, named after ``ClaudeAgentOptions`` where they mean
the same thing, checked eagerly, and turned into the loop's ``AgentOptions``.

Differences from ``claude-agent-sdk``: ``system_prompt=None`` means thrifty's default prompt, not
an empty one; ``mcp_servers`` takes in-process servers (``create_sdk_mcp_server``) and stdio,
sse and http server configs (started with the session; ``pip install 'thrifty[mcp]'``); the
transport-level fields (``cli_path``, ``extra_args``, ``stderr``, ``user``, ...) and features
thrifty does not have (``sandbox``, ``fallback_model``,
``betas``, file checkpointing) are not fields at all, so passing one is a ``TypeError``.

The rules on what a run may do (permission mode and the root guard, budget, retries, sessions,
billing) are :mod:`thrifty.agent.validate`'s, shared with the CLI; this module checks only the
shapes the SDK alone accepts (dicts for ``system_prompt``, ``thinking``, ``output_format``...).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from thrifty.agent import validate as rules
from thrifty.agent.options import DEFAULT_MAX_TOKENS, DEFAULT_MODEL, AgentOptions
from thrifty.agent.permissions.policy import PermissionMode
from thrifty.agent.subagents import AgentConfigError, AgentDef, parse_agents
from thrifty.agent.validate import SetupError, Spelling
from thrifty.sdk.hooks import HookMatcher, hook_callbacks
from thrifty.sdk.permissions import CanUseTool, PermissionBridge
from thrifty.sdk.tools import is_external, server_tools

if TYPE_CHECKING:
    import anthropic

    from thrifty.tools.base import Tool

__all__ = ["Built", "ClaudeAgentOptions", "Options", "build"]

#: The keywords are the fields' own names; these read better as the value that conflicts.
KEYWORDS = Spelling(
    names={
        "bypass": 'permission_mode="bypassPermissions"',
        "persist_session": "persist_session=False",
        "record_usage": "record_usage=False",
    }
)


def _fail(message: str) -> SetupError:
    return SetupError(message)


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
    #: Only ``mcp_servers``: the project's ``.mcp.json`` is not read.
    strict_mcp_config: bool = False
    #: Checked at run time too (a wrong value is a SetupError); ``"manual"`` is ``"default"``.
    permission_mode: PermissionMode | None = None
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
    #: Skills the model may run without asking: ``"all"`` (a ``Skill`` rule) or names (``Skill(name)``
    #: rules). As in ``ClaudeAgentOptions``, it makes ``setting_sources`` default to user and project.
    skills: list[str] | str | None = None
    #: Subagents for the Agent tool: name -> ``AgentDefinition`` (the official SDK's, or any
    #: object or dict with ``description``, ``prompt``, ``tools``, ``model``...), over agent files.
    agents: dict[str, Any] | None = None
    #: Run the main thread as this agent (``--agent``).
    agent: str | None = None
    #: Local plugins: ``[{"type": "local", "path": DIR}]`` (``--plugin-dir``; docs/plugins.md).
    plugins: list[dict[str, Any]] = field(default_factory=list)
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
    #: Summarise the conversation when it nears the context window (``thrifty.agent.compact``).
    #: None: ``DISABLE_AUTO_COMPACT`` / ``DISABLE_COMPACT`` and the ``autoCompactEnabled`` setting.
    auto_compact: bool | None = None
    #: Retries of one model call (overloaded, rate limited, dropped connection) before the run
    #: fails. None: ``THRIFTY_MAX_RETRIES`` from ``env``/the environment, else 4.
    max_retries: int | None = None
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
    #: No custom slash commands or skills (``--disable-slash-commands``): a ``/name`` prompt goes as written.
    disable_slash_commands: bool = False
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
        if self.can_use_tool is not None and not callable(self.can_use_tool):
            raise _fail("can_use_tool must be a callable")
        self._system_prompt()
        self._tools()
        self._thinking()
        self._schema()
        hook_callbacks(self.hooks)
        if not isinstance(self.mcp_servers, dict):
            raise _fail("mcp_servers must be a dict of name -> create_sdk_mcp_server(...) or a server config")
        self._agent_options([])

    # -- conversions --------------------------------------------------------------------------

    def _agent_options(self, extra_tools: list[Tool]) -> AgentOptions:
        """The loop's options, checked by the rules the CLI's flags are checked by."""
        environ = {**os.environ, **{str(k): str(v) for k, v in self.env.items()}}
        replace, append = self._system_prompt()
        agent = AgentOptions(
            cwd=Path(self.cwd) if self.cwd is not None else Path.cwd(),
            model=self.model or DEFAULT_MODEL,
            max_tokens=self.max_tokens,
            system_prompt=replace,
            append_system_prompt=append,
            tools=self._tools(),
            allowed_tools=[*self.allowed_tools, *self._skill_rules()],
            disallowed_tools=list(self.disallowed_tools),
            permission_mode=rules.permission_mode(self.permission_mode, KEYWORDS),
            add_dirs=[Path(d) for d in self.add_dirs],
            max_turns=self.max_turns or None,
            max_budget_usd=rules.max_budget_usd(self.max_budget_usd, KEYWORDS),
            bare=self.bare,
            setting_sources=self._setting_sources(),
            settings=self.settings,
            disable_slash_commands=self.disable_slash_commands,
            skills=list(self.skills) if isinstance(self.skills, list) else None,
            include_partial_messages=self.include_partial_messages,
            json_schema=self._schema(),
            thinking_budget=self._thinking(),
            session_id=self.session_id,
            resume=self.resume,
            continue_conversation=self.continue_conversation,
            fork_session=self.fork_session,
            persist_session=self.persist_session,
            max_retries=rules.max_retries(self.max_retries, environ, KEYWORDS),
            on_rate_limit=rules.on_rate_limit(self.on_rate_limit, KEYWORDS),
            request_timeout=rules.request_timeout(self.request_timeout, KEYWORDS),
            structured_output_retries=self.structured_output_retries,
            auto_compact=self.auto_compact,
            structured_check=_model_check(self.output_type) if self.output_type is not None else None,
            extra_tools=extra_tools,
            environ=environ,
            billing_mode=self.billing_mode,
            ledger=self.ledger,
            record_usage=self.record_usage,
            project=self.project,
            tags=dict(self.tags),
            hook_callbacks=dict(hook_callbacks(self.hooks)),
            agents=self._agents(),
            agent=self.agent,
            plugins=self._plugins(),
        )
        rules.validate(agent, KEYWORDS)
        return agent

    def _plugins(self) -> list[Path]:
        """The plugin directories; only local plugins exist, as in ``ClaudeAgentOptions``."""
        dirs: list[Path] = []
        for plugin in self.plugins or []:
            local = isinstance(plugin, dict) and plugin.get("type") == "local"
            path = plugin.get("path") if local else None
            if not isinstance(path, str | Path):
                raise _fail(f'plugins: each must be {{"type": "local", "path": DIR}}, not {plugin!r}')
            dirs.append(Path(path))
        return dirs

    def _agents(self) -> dict[str, AgentDef]:
        try:
            return parse_agents(self.agents, "sdk")
        except AgentConfigError as exc:
            raise _fail(str(exc)) from None

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

    def _skill_rules(self) -> list[str]:
        if self.skills is None:
            return []
        if self.skills == "all":
            return ["Skill"]
        if isinstance(self.skills, list) and all(isinstance(n, str) and n for n in self.skills):
            return [f"Skill({name})" for name in self.skills]
        raise _fail(f'skills must be a list of skill names or "all", not {self.skills!r}')

    def _setting_sources(self) -> list[str] | None:
        if self.setting_sources is not None:
            return list(self.setting_sources)
        return ["user", "project"] if self.skills is not None else None

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
    extra = [
        t
        for key, config in o.mcp_servers.items()
        if not is_external(config)
        for t in server_tools(str(key), config)
    ]
    names = [t.name for t in extra]
    if len(set(names)) != len(names):
        raise _fail("mcp_servers: two tools end up with the same name")
    agent = o._agent_options(extra)
    agent.mcp_servers = {str(k): dict(c) for k, c in o.mcp_servers.items() if is_external(c)}
    agent.strict_mcp_config = o.strict_mcp_config
    ask = PermissionBridge(o.can_use_tool) if o.can_use_tool is not None else None
    return Built(agent, o.client, ask)
