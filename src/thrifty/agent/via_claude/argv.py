"""``AgentOptions`` as ``claude`` flags, and the options a plan run cannot honour.

The prompt never goes in argv (argv shows in ``ps``): it is written to claude's stdin as a
stream-json user message, which also lets one process take every turn of a session.

In-process callables (a ``can_use_tool`` ask handler, SDK hook callbacks, custom ``@tool``
functions, a pydantic ``structured_check``) live in thrifty's process while the tools run inside
claude's, so they cannot be honoured without bridging claude's control protocol; a plan run
refuses them in one line rather than silently ignoring a permission or hook the caller relies on.
"""

from __future__ import annotations

import json
from typing import Any

from thrifty.agent.options import AgentOptions, resolve_model
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
    ]
    for failed, text in problems:
        if failed:
            raise SetupError(f"{text}; {_API_MODE_HINT}")


def claude_argv(binary: str, options: AgentOptions, *, session_id: str | None) -> list[str]:
    """The command line for ``options``; ``session_id`` names a new (or forked) session."""
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
    return argv


def user_message(prompt: str | list[dict[str, Any]]) -> dict[str, Any]:
    """One prompt as claude's stream-json input line."""
    return {
        "type": "user",
        "message": {"role": "user", "content": prompt},
        "parent_tool_use_id": None,
        "session_id": "",
    }
