"""Everything a run needs before the first request: settings, memory, policy, hooks, tools, client.

In a plan run (``billing.claude`` set) the user's ``claude`` calls the API, so no client is built
and the session id is claude's (``via_claude``); thrifty's own transcript history is not read.

An API run without a caller's client speaks HTTP itself (``wire.WireClient``, the fast path: the
anthropic SDK is never imported, which is most of a cold start); ``THRIFTY_HTTP_CLIENT=anthropic``
in the run's environment builds the official client instead. A caller's own client is used as
given (with the run's request timeout laid on).

Configuration mistakes found here (a bad permission mode, an unknown tool, an invalid schema)
raise ``SetupError``, which the CLI prints as one line with exit 1 before any token is spent.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thrifty.agent.commands.catalog import Catalog
from thrifty.agent.commands.offer import offer_skills, skill_tools, with_listing
from thrifty.agent.hooks.runner import HookRunner
from thrifty.agent.memory.loader import load_memory
from thrifty.agent.options import AgentOptions, effective_request_timeout, resolve_model
from thrifty.agent.permissions.policy import PermissionPolicy
from thrifty.agent.prompt import system_blocks
from thrifty.agent.server_tools import SERVER_TOOL_NAMES, server_tool_definitions, web_tool_name
from thrifty.agent.settings import Settings, SettingsError, load_settings
from thrifty.agent.subagents import AgentDef, offered_agents, tool_definition
from thrifty.agent.subagents.offer import offer_agent_tool, session_agents
from thrifty.agent.validate import SetupError
from thrifty.billing.auth import request_timeout
from thrifty.billing.context import Billing, BillingError, open_billing
from thrifty.tools import registry, structured
from thrifty.tools.base import Tool, ToolContext
from thrifty.tools.registry import BARE_TOOLS

if TYPE_CHECKING:
    import anthropic

    from thrifty.agent.plugins import Plugins
    from thrifty.agent.wire.client import WireClient

__all__ = ["HTTP_CLIENT_ENV", "HistoryResolver", "Prepared", "plan_session_ids", "prepare"]

#: ``anthropic``: carry an API run's requests with the official client instead of the fast path.
HTTP_CLIENT_ENV = "THRIFTY_HTTP_CLIENT"

#: Where an API run's conversation comes from: its session id and the history it starts with.
HistoryResolver = Callable[[AgentOptions], tuple[str, list[dict[str, Any]]]]


@dataclass
class Prepared:
    session_id: str
    model: str
    settings: Settings
    policy: PermissionPolicy
    hooks: HookRunner
    #: By name; a built-in tool is built (its module imported) when first looked up.
    tools: Mapping[str, Tool]
    tool_defs: list[dict[str, Any]]
    system: list[dict[str, Any]]
    ctx: ToolContext
    #: None in a plan run (claude makes the calls) and on the fast path (``wire`` carries them).
    client: anthropic.AsyncAnthropic | None
    billing: Billing
    #: True when setup built the client (so the run closes it); False for a caller's client.
    owns_client: bool = True
    #: The history an API run starts from (``history`` resolver); always empty in plan runs.
    history: list[dict[str, Any]] = field(default_factory=list)
    #: Plan runs: the ``--session-id`` claude is started with (None: claude names the session).
    claude_session_id: str | None = None
    #: The fast path's client: an API run with no client of the caller's (closed with the run).
    wire: WireClient | None = None
    #: The subagents the Agent tool offers by name (empty when the session has no Agent tool).
    agents: Mapping[str, AgentDef] = field(default_factory=dict)
    #: Custom slash commands and skills (empty under ``bare`` or ``disable_slash_commands``).
    commands: Catalog = field(default_factory=Catalog)
    #: The web tools sent as the API's server tools (``WebSearch``, ``WebFetch``: ``server_tools``).
    server_tools: list[str] = field(default_factory=list)
    #: The plugins of ``options.plugins`` (None without any: ``agent.plugins`` is never imported).
    plugins: Plugins | None = None


def plan_session_ids(options: AgentOptions) -> tuple[str, str | None]:
    """A plan run's session id, and the ``--session-id`` to start claude with.

    A new session gets its id from thrifty (so the ledger rows carry it from the first call); a
    resumed one keeps its id; ``--continue`` and a fork without ``session_id`` learn claude's id
    from its ``init`` frame (the placeholder returned here is replaced then).
    """
    if options.continue_conversation or (options.resume and options.fork_session):
        return options.session_id or str(uuid.uuid4()), options.session_id
    if options.resume:
        return options.resume, None
    new_id = options.session_id or str(uuid.uuid4())
    return new_id, new_id


def prepare(
    options: AgentOptions,
    *,
    client: anthropic.AsyncAnthropic | None = None,
    history: HistoryResolver | None = None,
) -> Prepared:
    """``history`` (API runs only) names the session and its history once billing is open."""
    cwd = options.cwd.resolve()
    if not cwd.is_dir():
        raise SetupError(f"working directory {cwd} does not exist")
    plugins = _plugins(options, cwd)
    roots = plugins.roots if plugins is not None else []
    options, defined = session_agents(options, roots)
    try:
        # A settings file that cannot be read or parsed fails the run here, before any request:
        # running without it could drop the deny rules it holds.
        settings = load_settings(
            cwd,
            setting_sources=options.setting_sources,
            flag_settings=options.settings,
            bare=options.bare,
            environ=options.environ,
        )
    except SettingsError as exc:
        raise SetupError(str(exc)) from exc
    try:
        policy = PermissionPolicy.from_settings(
            settings,
            cwd=cwd,
            allowed_tools=options.allowed_tools,
            disallowed_tools=options.disallowed_tools,
            permission_mode=options.permission_mode,
            add_dirs=[str(d) for d in options.add_dirs],
        )
    except ValueError as exc:
        raise SetupError(str(exc)) from exc
    base = options.tools if options.tools is not None else (list(BARE_TOOLS) if options.bare else None)
    try:
        own = None if base is None else [n for n in base if n not in SERVER_TOOL_NAMES]
        builtin = [name for name in registry.select_names(own) if not policy.is_hidden(name)]
        builtin = offer_agent_tool(builtin, options, defined, policy.is_hidden)
    except ValueError as exc:
        raise SetupError(str(exc)) from exc
    commands, builtin = offer_skills(builtin, options, policy, cwd, roots)
    clash = sorted({t.name for t in options.extra_tools} & registry.SPECS.keys())
    if clash:
        raise SetupError(f"custom tool name {clash[0]!r} is taken by a built-in tool; rename it")
    extra = [t for t in options.extra_tools if not policy.is_hidden(t.name)]
    # Built-in tools are named here and built when first called: their definitions are stored,
    # so a run that calls no tool never imports a tool module (nor pydantic).
    tools = registry.ToolTable(builtin, [*extra, *skill_tools(builtin, commands, policy, cwd)])
    tool_defs = [registry.definition(name) for name in builtin] + [t.definition() for t in extra]
    web = server_tool_definitions(policy, resolve_model(options.model), options.tools, bare=options.bare)
    tool_defs = [*web, *tool_defs]  # first: the cache marker stays on the last client tool
    agents = offered_agents(defined) if "Agent" in builtin else {}
    tool_defs = [tool_definition(d, agents) if d["name"] == "Agent" else d for d in tool_defs]
    if options.json_schema is not None:
        try:
            schema = structured.check_schema(options.json_schema)
        except structured.SchemaError as exc:
            raise SetupError(f"--json-schema is not a valid JSON Schema: {exc}") from exc
        tool_defs.append(structured.definition(schema))
    add_dirs = [Path(d).resolve() for d in policy.working_dirs[1:]]
    memory = (
        ""
        if options.bare
        else load_memory(
            cwd, environ=options.environ, setting_sources=options.setting_sources, additional_dirs=add_dirs
        ).render()
    )
    system = system_blocks(
        cwd=cwd,
        additional_dirs=add_dirs,
        replace=options.system_prompt,
        append=options.append_system_prompt,
        memory=memory,
        structured_output=options.json_schema is not None,
    )
    system = with_listing(system, commands, builtin)
    env = {**options.environ, **settings.env}
    ctx = ToolContext(cwd=cwd, additional_dirs=tuple(add_dirs), env=env)
    try:
        billing = open_billing(
            cwd,
            options.environ,
            api_key_helper=settings.api_key_helper,
            flag_mode=options.billing_mode,
            flag_ledger=options.ledger,
            project=options.project,
            bare=options.bare,
            record=options.record_usage,
            own_client="client" if client is not None else None,
            # under a budget cap, a model with no known price is refused here, before any request
            model=resolve_model(options.model),
            run_cap=options.max_budget_usd,
        )
    except BillingError as exc:
        raise SetupError(str(exc)) from exc
    claude_session_id: str | None = None
    past: list[dict[str, Any]] = []
    try:
        if billing.claude is not None:
            session_id, claude_session_id = plan_session_ids(options)
        elif history is not None:
            session_id, past = history(options)
        else:
            session_id = options.session_id or str(uuid.uuid4())
    except SetupError:
        billing.close()
        raise
    hook_config = {} if options.bare else settings.hooks
    if plugins is not None and not options.bare:  # Claude Code runs no plugin hooks under --bare
        from thrifty.agent.plugins import plugin_hooks

        hook_config = plugin_hooks(plugins, hook_config)
    hooks = HookRunner(
        hook_config,
        cwd=cwd,
        session_id=session_id,
        transcript_path="",
        permission_mode=policy.mode,
        env=settings.env,
        callbacks=options.hook_callbacks,
    )
    owns_client = client is None
    wire: WireClient | None = None
    if billing.claude is not None:
        # claude makes every call with its own login: no client, and nothing to close.
        client, owns_client = None, False
    else:
        try:
            timeout = effective_request_timeout(options)
        except ValueError as exc:
            raise SetupError(str(exc)) from exc
        if client is None and options.environ.get(HTTP_CLIENT_ENV, "").strip().lower() != "anthropic":
            wire = _wire_client(billing, timeout)
        else:
            if client is None:
                # With no usable credential the loop ends before any request (billing.error());
                # the placeholder client is never called.
                import anthropic  # here: a plan run never needs the API client

                client = billing.client() or anthropic.AsyncAnthropic(api_key="unused", max_retries=0)
            client = request_timeout(client, timeout)
    return Prepared(
        session_id=session_id,
        model=resolve_model(options.model),
        settings=settings,
        policy=policy,
        hooks=hooks,
        tools=tools,
        tool_defs=tool_defs,
        system=system,
        ctx=ctx,
        client=client,
        billing=billing,
        owns_client=owns_client,
        history=past,
        claude_session_id=claude_session_id,
        wire=wire,
        agents=agents,
        commands=commands,
        server_tools=[str(web_tool_name(d["type"])) for d in web],
        plugins=plugins,
    )


def _plugins(options: AgentOptions, cwd: Path) -> Plugins | None:
    """The run's plugins, or None without any. A plan run reads them too, though ``claude``
    (given ``--plugin-dir``) is what runs them there."""
    if not options.plugins:
        return None
    from thrifty.agent.plugins import load_plugins

    return load_plugins(options.plugins, cwd)


def _wire_client(billing: Billing, timeout: float | None) -> WireClient:
    """The fast path's client for the resolved credential and endpoint.

    Without a usable credential it is a placeholder that is never called (the loop ends first
    with ``billing.error()``). TLS: the shared context, and no CA bundle for ``http://``.
    """
    from thrifty.agent.wire.client import WireClient
    from thrifty.billing.auth import DEFAULT_ENDPOINT, client_tls_context

    resolution = billing.resolution
    endpoint = resolution.endpoint if resolution is not None else DEFAULT_ENDPOINT
    credential = resolution.credential if resolution is not None else None
    return WireClient(
        endpoint,
        scheme=credential.scheme if credential is not None else None,
        secret=credential.secret.reveal() if credential is not None else None,
        timeout_s=timeout,
        verify=client_tls_context(endpoint),
    )
