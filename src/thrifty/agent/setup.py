"""Everything a run needs before the first request: settings, memory, policy, hooks, tools, client.

Configuration mistakes found here (a bad permission mode, an unknown tool, an invalid schema)
raise ``SetupError``, which the CLI prints as one line with exit 1 before any token is spent.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic

from thrifty.agent.hooks import HookRunner
from thrifty.agent.memory import load_memory
from thrifty.agent.options import AgentOptions, resolve_model
from thrifty.agent.permissions import PermissionPolicy
from thrifty.agent.prompt import system_blocks
from thrifty.agent.settings import Settings, load_settings
from thrifty.tools import structured
from thrifty.tools.base import Tool, ToolContext
from thrifty.tools.registry import BARE_TOOLS, select_tools


class SetupError(ValueError):
    """A configuration mistake, reported before the run starts."""


@dataclass
class Prepared:
    session_id: str
    model: str
    settings: Settings
    policy: PermissionPolicy
    hooks: HookRunner
    tools: dict[str, Tool]
    tool_defs: list[dict[str, Any]]
    system: list[dict[str, Any]]
    ctx: ToolContext
    client: anthropic.AsyncAnthropic
    api_key_source: str


def make_client(options: AgentOptions) -> tuple[anthropic.AsyncAnthropic, str]:
    """Until the billing layer owns credentials: ANTHROPIC_API_KEY, then ANTHROPIC_AUTH_TOKEN."""
    env = options.environ
    base_url = env.get("ANTHROPIC_BASE_URL") or None
    key = env.get("ANTHROPIC_API_KEY")
    token = env.get("ANTHROPIC_AUTH_TOKEN")
    if key:
        return anthropic.AsyncAnthropic(api_key=key, base_url=base_url, max_retries=0), "ANTHROPIC_API_KEY"
    if token and not options.bare:
        client = anthropic.AsyncAnthropic(auth_token=token, api_key=None, base_url=base_url, max_retries=0)
        return client, "ANTHROPIC_AUTH_TOKEN"
    # No credential: the first request fails with a clear "not logged in" result.
    return anthropic.AsyncAnthropic(api_key="missing", base_url=base_url, max_retries=0), "none"


def prepare(options: AgentOptions, *, client: anthropic.AsyncAnthropic | None = None) -> Prepared:
    cwd = options.cwd.resolve()
    if not cwd.is_dir():
        raise SetupError(f"working directory {cwd} does not exist")
    session_id = options.session_id or str(uuid.uuid4())
    settings = load_settings(
        cwd, setting_sources=options.setting_sources, flag_settings=options.settings, bare=options.bare
    )
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
        chosen = [t for t in select_tools(base) if not policy.is_hidden(t.name)]
    except ValueError as exc:
        raise SetupError(str(exc)) from exc
    tools = {t.name: t for t in chosen}
    tool_defs = [t.definition() for t in chosen]
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
    hooks = HookRunner(
        {} if options.bare else settings.hooks,
        cwd=cwd,
        session_id=session_id,
        transcript_path="",
        permission_mode=policy.mode,
        env=settings.env,
        callbacks=options.hook_callbacks,
    )
    env = {**options.environ, **settings.env}
    ctx = ToolContext(cwd=cwd, additional_dirs=tuple(add_dirs), env=env)
    source = "client"
    if client is None:
        client, source = make_client(options)
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
        api_key_source=source,
    )
