"""``AgentOptions`` as ``claude`` flags, and the options a plan run cannot honour.

The prompt never goes in argv (argv shows in ``ps``): it is written to claude's stdin as a
stream-json user message, which also lets one process take every turn of a session.

Subagents (``--agents``, SDK ``agents=``) and external MCP servers (``--mcp-config``, SDK
``mcp_servers``) go to claude as files (``config_files``), not argv text: an MCP server's
headers and environment may hold tokens, and argv is public. claude reads both at start.

In-process callables (a ``can_use_tool`` ask handler, SDK hook callbacks, custom ``@tool``
functions and in-process MCP servers, a pydantic ``structured_check``) live in thrifty's process
while the tools run inside claude's, so they cannot be honoured without bridging claude's control
protocol; a plan run refuses them in one line rather than silently ignoring a permission, hook
or tool the caller relies on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from thrifty.agent.options import AgentOptions, resolve_model
from thrifty.agent.subagents.definitions import AgentDef
from thrifty.agent.validate import SetupError

#: Always on: stream-json both ways, every frame, and the raw API events for exact usage.
BASE_FLAGS = (
    "-p",
    "--output-format",
    "stream-json",
    "--input-format",
    "stream-json",
    "--verbose",
    "--include-partial-messages",
)
_API_MODE_HINT = "use --billing-mode api"


def check_plan_options(options: AgentOptions, *, ask: object = None, client: object = None) -> None:
    """Raise ``SetupError`` for what claude cannot do for us in a plan run (one line each)."""
    inside = "not available in plan runs yet"
    problems = [
        (client is not None, "a caller-supplied API client is not used in plan runs (claude calls the API)"),
        (ask is not None, f"permission callbacks (can_use_tool) are {inside} (tools run in claude)"),
        (bool(options.hook_callbacks), f"hook callbacks are {inside} (hooks run in claude)"),
        (bool(options.extra_tools), f"custom tools are {inside} (they would run in claude)"),
        (options.structured_check is not None, f"structured-output check functions are {inside}"),
        (
            bool(_host_servers(options)),
            f"SDK MCP servers (type 'sdk') are {inside} (their tools would run in claude)",
        ),
    ]
    for failed, text in problems:
        if failed:
            raise SetupError(f"{text}; {_API_MODE_HINT}")


def _host_servers(options: AgentOptions) -> list[str]:
    """MCP servers the caller serves in its own process: claude cannot reach them."""
    return [name for name, config in options.mcp_servers.items() if config.get("type") == "sdk"]


def _agent_json(agent: AgentDef) -> dict[str, Any]:
    """One definition in ``--agents`` JSON (the official SDK's ``AgentDefinition`` keys)."""
    out: dict[str, Any] = {"description": agent.description, "prompt": agent.prompt}
    if agent.tools is not None:
        out["tools"] = list(agent.tools)
    if agent.disallowed_tools:
        out["disallowedTools"] = list(agent.disallowed_tools)
    if agent.model:
        out["model"] = agent.model
    if agent.max_turns:
        out["maxTurns"] = agent.max_turns
    return out


def config_files(options: AgentOptions) -> dict[str, dict[str, Any]]:
    """What claude should read from a file, by flag: ``--agents`` and ``--mcp-config``."""
    files: dict[str, dict[str, Any]] = {}
    if options.agents:
        files["--agents"] = {name: _agent_json(agent) for name, agent in options.agents.items()}
    if options.mcp_servers:
        files["--mcp-config"] = {
            "mcpServers": {name: dict(config) for name, config in options.mcp_servers.items()}
        }
    return files


def claude_argv(
    binary: str,
    options: AgentOptions,
    *,
    session_id: str | None,
    files: Mapping[str, str] | None = None,
    hook_events: bool = False,
) -> list[str]:
    """The command line for ``options``; ``session_id`` names a new (or forked) session.

    ``files`` are the paths ``config_files`` was written to, by flag; ``hook_events`` asks claude
    for its ``system/hook_*`` frames (``--include-hook-events``), for a caller that shows them.
    """
    argv = [binary, *BASE_FLAGS, "--model", resolve_model(options.model)]

    def listed(flag: str, values: list[str] | None) -> None:
        if values:
            argv.extend([flag, ",".join(values)])

    listed("--allowedTools", options.allowed_tools)
    listed("--disallowedTools", options.disallowed_tools)
    if options.tools is not None:
        # ``[]`` is "no tools": claude spells that as an empty string.
        argv.extend(["--tools", ",".join(options.tools)])
    if options.permission_mode is not None:
        argv.extend(["--permission-mode", str(options.permission_mode)])
    if options.max_turns:
        argv.extend(["--max-turns", str(options.max_turns)])
    if options.system_prompt is not None:
        argv.extend(["--system-prompt", options.system_prompt])
    if options.append_system_prompt is not None:
        argv.extend(["--append-system-prompt", options.append_system_prompt])
    for directory in options.add_dirs:
        argv.extend(["--add-dir", str(directory)])
    if options.resume:
        argv.extend(["--resume", options.resume])
    if options.continue_conversation:
        argv.append("--continue")
    if options.fork_session:
        argv.append("--fork-session")
    if session_id is not None:
        argv.extend(["--session-id", session_id])
    if not options.persist_session:
        argv.append("--no-session-persistence")
    if options.settings is not None:
        argv.extend(["--settings", options.settings])
    if options.setting_sources is not None:
        argv.extend(["--setting-sources", ",".join(options.setting_sources)])
    if options.json_schema is not None:
        argv.extend(["--json-schema", json.dumps(options.json_schema)])
    if options.max_budget_usd is not None:
        # claude's own cap: a second stop behind thrifty's guard, which meters every call.
        argv.extend(["--max-budget-usd", str(options.max_budget_usd)])
    if options.bare:
        argv.append("--bare")
    for flag, path in (files or {}).items():
        argv.extend([flag, path])
    if options.strict_mcp_config:
        argv.append("--strict-mcp-config")
    if options.agent is not None:
        argv.extend(["--agent", options.agent])
    if options.disable_slash_commands:
        argv.append("--disable-slash-commands")
    for plugin in options.plugins:
        argv.extend(["--plugin-dir", str(plugin)])
    if hook_events:
        argv.append("--include-hook-events")
    return argv


def user_message(prompt: str | list[dict[str, Any]]) -> dict[str, Any]:
    """One prompt as claude's stream-json input line."""
    return {
        "type": "user",
        "message": {"role": "user", "content": prompt},
        "parent_tool_use_id": None,
        "session_id": "",
    }
