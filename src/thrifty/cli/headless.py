"""``thrifty -p``: the headless agent, flag-compatible with ``claude -p``.

Parsing and validation only; the run itself is the SDK's loop (``thrifty.agent.loop``) and the
output is one of the renderers of its event stream.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import uuid
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from thrifty.agent.loop import run_agent
from thrifty.agent.options import AgentOptions
from thrifty.agent.permissions import PERMISSION_MODES
from thrifty.agent.prompt import environment_block
from thrifty.agent.settings import parse_setting_sources
from thrifty.agent.setup import SetupError
from thrifty.cli.errors import EXIT_ERROR, OneLineParser, UsageError
from thrifty.cli.render import Renderer
from thrifty.cli.sdk_mcp import McpConfigError, parse_mcp_config, server_type

log = logging.getLogger("thrifty.cli")

MAX_STDIN = 10 * 1024 * 1024
MODE_CHOICES = [*PERMISSION_MODES, "manual"]
#: ``--system-prompt ""`` (what the Agent SDK passes when the caller sets no system prompt): the
#: API takes no empty text block, so the prompt is this line and the environment facts.
MINIMAL_SYSTEM_PROMPT = "You are thrifty, a headless coding agent."
#: Flags of Claude Code and the Agent SDK that thrifty accepts and ignores (dest -> flag).
IGNORED_FLAGS = {
    "fallback_model": "--fallback-model",
    "betas": "--betas",
    "include_hook_events": "--include-hook-events",
    "thinking_display": "--thinking-display",
    "effort": "--effort",
    "plugin_dirs": "--plugin-dir",
    "task_budget": "--task-budget",
    "resume_session_at": "--resume-session-at",
    "resume_drops_turn": "--resume-drops-turn",
    "session_mirror": "--session-mirror",
    "strict_mcp_config": "--strict-mcp-config",
}


def build_parser() -> OneLineParser:
    p = OneLineParser(
        prog="thrifty",
        usage="thrifty -p PROMPT [options]   |   thrifty COMMAND ...",
        description=(
            "Run the agent headless on PROMPT (or on piped stdin) and print the result. Flags follow "
            "Claude Code's `claude -p`. With --input-format stream-json --output-format stream-json "
            "--verbose, prompts and control requests come as NDJSON on stdin, as the Agent SDK sends "
            "them (no -p needed). Commands: demo, status, usage, import, advise, sessions, login, "
            "logout, sim (see `thrifty COMMAND --help`)."
        ),
    )
    p.add_argument("prompt", nargs="?", help="the task; piped stdin is appended after a newline")
    p.add_argument("-p", "--print", action="store_true", help="non-interactive: run and print the result")
    p.add_argument("--output-format", choices=["text", "json", "stream-json"], default="text")
    p.add_argument("--input-format", choices=["text", "stream-json"], default="text")
    p.add_argument(
        "--verbose", action="store_true", help="required by stream-json; json prints every message"
    )
    p.add_argument("--include-partial-messages", action="store_true", help="emit raw stream events")
    p.add_argument("--max-turns", type=int, help="stop after N model round-trips (0: no limit)")
    p.add_argument("--max-budget-usd", help="stop before a request would take the run past this spend")
    p.add_argument("--model", default=None, help="model id or alias (sonnet, opus, haiku, fable)")
    p.add_argument("--system-prompt", help="replace the default system prompt")
    p.add_argument("--system-prompt-file", type=Path, help="replace the default system prompt with a file")
    p.add_argument("--append-system-prompt", help="append text to the system prompt")
    p.add_argument("--append-system-prompt-file", type=Path, help="append a file to the system prompt")
    p.add_argument(
        "--allowedTools", "--allowed-tools", dest="allowed", action="extend", nargs="+", default=[]
    )
    p.add_argument(
        "--disallowedTools", "--disallowed-tools", dest="disallowed", action="extend", nargs="+", default=[]
    )
    p.add_argument("--tools", nargs="*", help='base tool set: "" none, "default" all, or names')
    p.add_argument("--permission-mode", choices=MODE_CHOICES, help="default, acceptEdits, plan, dontAsk, ...")
    p.add_argument(
        "--dangerously-skip-permissions", action="store_true", help="= --permission-mode bypassPermissions"
    )
    p.add_argument("--add-dir", dest="add_dirs", action="extend", nargs="+", default=[], type=Path)
    p.add_argument(
        "--bare", action="store_true", help="no CLAUDE.md, settings files or hooks; Bash, Edit, Read only"
    )
    p.add_argument("--setting-sources", help="comma list of user,project,local ('' for none)")
    p.add_argument("--settings", help="extra settings: a JSON file or a JSON string")
    p.add_argument("--json-schema", help="JSON Schema for a validated structured answer")
    sessions = p.add_argument_group("sessions")
    sessions.add_argument("--session-id", help="use this UUID as the id of a new session")
    sessions.add_argument("-r", "--resume", metavar="SESSION_ID", help="continue the session with this id")
    sessions.add_argument(
        "-c", "--continue", dest="continue_", action="store_true", help="continue the newest session here"
    )
    sessions.add_argument(
        "--fork-session", action="store_true", help="with --resume/--continue: go on under a new id"
    )
    sessions.add_argument(
        "--no-session-persistence", action="store_true", help="do not save a transcript of this run"
    )
    p.add_argument("--max-thinking-tokens", type=int, help="enable extended thinking with this budget")
    p.add_argument(
        "--thinking", help="disabled: no extended thinking (enabled/adaptive are accepted, not implemented)"
    )
    sdk = p.add_argument_group("Agent SDK (stream-json input)")
    sdk.add_argument(
        "--permission-prompt-tool",
        metavar="stdio",
        help="stdio: ask the host (can_use_tool control request) when a tool call needs permission",
    )
    sdk.add_argument(
        "--mcp-config",
        action="append",
        default=[],
        metavar="JSON_OR_FILE",
        help='MCP servers ({"mcpServers": ...}); only SDK servers (type "sdk") are served, by the host',
    )
    sdk.add_argument("--debug-file", type=Path, help="write debug logs to this file")
    compat = p.add_argument_group(
        "accepted for compatibility",
        "Claude Code / Agent SDK flags that thrifty accepts and ignores: --fallback-model, --betas, "
        "--include-hook-events, --thinking-display, --effort, --plugin-dir, --task-budget, "
        "--resume-session-at, --resume-drops-turn, --session-mirror, --strict-mcp-config "
        "(only --mcp-config servers are ever used).",
    )
    for flag in ("--fallback-model", "--betas", "--thinking-display", "--effort", "--task-budget"):
        compat.add_argument(flag, help=argparse.SUPPRESS)
    for flag in ("--resume-session-at", "--resume-drops-turn"):
        compat.add_argument(flag, help=argparse.SUPPRESS)
    compat.add_argument("--plugin-dir", dest="plugin_dirs", action="append", help=argparse.SUPPRESS)
    for flag in ("--include-hook-events", "--session-mirror", "--strict-mcp-config"):
        compat.add_argument(flag, action="store_true", help=argparse.SUPPRESS)
    billing = p.add_argument_group("billing (thrifty)")
    billing.add_argument(
        "--billing-mode",
        choices=["api", "plan"],
        help="pin who pays for this run: api (per token) or plan (your `thrifty login`); "
        "credentials of the other mode are then ignored",
    )
    billing.add_argument("--ledger", help="record usage in this ledger: a SQLite path or postgresql:// URL")
    billing.add_argument("--no-ledger", action="store_true", help="do not record this run's usage")
    billing.add_argument("--project", help="project name stamped on ledger rows (default: the cwd)")
    billing.add_argument(
        "--tag", dest="tags", action="append", default=[], metavar="KEY=VALUE", help="label ledger rows"
    )
    return p


def _fail(message: str) -> UsageError:
    return UsageError(message)


def _read_stdin() -> str:
    if sys.stdin is None or sys.stdin.isatty():
        return ""
    data = sys.stdin.buffer.read(MAX_STDIN + 1)
    if len(data) > MAX_STDIN:
        raise _fail("piped input exceeds 10 MB; pass a file path in the prompt instead")
    return data.decode("utf-8", "replace")


def _read(path: Path, flag: str) -> str:
    try:
        return path.read_text("utf-8")
    except OSError as exc:
        raise _fail(f"{flag}: cannot read {path}: {exc.strerror}") from exc


def _max_retries() -> int:
    """``THRIFTY_MAX_RETRIES`` (default 4): retries of one model call before the run fails."""
    raw = os.environ.get("THRIFTY_MAX_RETRIES", "4")
    if not raw.isdigit():
        raise _fail(f"THRIFTY_MAX_RETRIES must be a whole number, not {raw!r}")
    return int(raw)


def options_from(args: argparse.Namespace) -> AgentOptions:
    if args.output_format == "stream-json" and not args.verbose:
        raise _fail("When using --print, --output-format=stream-json requires --verbose")
    if args.input_format == "stream-json":
        if args.output_format != "stream-json":
            raise _fail("--input-format=stream-json requires output-format=stream-json.")
        if args.prompt is not None:
            raise _fail("with --input-format=stream-json the prompts come on stdin, not as an argument")
    if args.permission_prompt_tool is not None:
        if args.permission_prompt_tool != "stdio":
            raise _fail(
                f"--permission-prompt-tool {args.permission_prompt_tool!r} is not supported; "
                "only 'stdio' (the Agent SDK's can_use_tool) is"
            )
        if args.input_format != "stream-json":
            raise _fail("--permission-prompt-tool stdio requires --input-format=stream-json")
    for dest, flag in IGNORED_FLAGS.items():
        if getattr(args, dest):
            log.debug("%s is accepted for compatibility and ignored", flag)
    if args.thinking not in (None, "disabled"):
        log.debug("--thinking %s is not implemented; ignored", args.thinking)
    if args.include_partial_messages and args.output_format != "stream-json":
        raise _fail("--include-partial-messages requires --print and --output-format=stream-json.")
    if args.system_prompt is not None and args.system_prompt_file is not None:
        raise _fail("--system-prompt and --system-prompt-file cannot be used together")
    budget = None
    if args.max_budget_usd is not None:
        try:
            budget = Decimal(args.max_budget_usd)
        except InvalidOperation:
            budget = None
        if budget is None or not budget.is_finite() or budget <= 0:
            raise _fail(
                f"option '--max-budget-usd <amount>' argument '{args.max_budget_usd}' is invalid. "
                "--max-budget-usd must be a number greater than 0"
            )
    if args.max_turns is not None and args.max_turns < 0:
        raise _fail("--max-turns must be 0 (no limit) or a positive number")
    for given in (args.session_id, args.resume):
        if given is not None:
            try:
                uuid.UUID(given)
            except ValueError:
                raise _fail(f"Invalid session ID {given!r}. Must be a valid UUID.") from None
    if args.resume and args.continue_:
        raise _fail("--resume and --continue cannot be used together")
    if args.fork_session and not (args.resume or args.continue_):
        raise _fail("--fork-session only works with --resume or --continue")
    if args.session_id and (args.resume or args.continue_) and not args.fork_session:
        raise _fail("--session-id with --resume or --continue also needs --fork-session")
    if args.no_session_persistence and args.fork_session:
        raise _fail("--fork-session cannot be used with --no-session-persistence")
    mode = "bypassPermissions" if args.dangerously_skip_permissions else args.permission_mode
    if (
        mode == "bypassPermissions"
        and hasattr(os, "geteuid")
        and os.geteuid() == 0
        and not os.environ.get("IS_SANDBOX")
    ):
        raise _fail(
            "--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons"
        )
    schema: dict[str, Any] | None = None
    if args.json_schema is not None:
        try:
            schema = json.loads(args.json_schema)
        except json.JSONDecodeError as exc:
            raise _fail(f"--json-schema is not a valid JSON Schema: not JSON ({exc.msg})") from exc
    tags: dict[str, str] = {}
    for tag in args.tags:
        key, sep, value = tag.partition("=")
        if not sep or not key:
            raise _fail(f"--tag must be KEY=VALUE, not {tag!r}")
        tags[key] = value
    if args.no_ledger and args.ledger:
        raise _fail("--ledger and --no-ledger cannot be used together")
    tools: list[str] | None = None
    if args.tools is not None:
        names = [n for part in args.tools for n in part.replace(",", " ").split()]
        tools = None if names == ["default"] else names
    system_prompt = args.system_prompt
    if system_prompt is not None and not system_prompt.strip():
        dirs = [d.resolve() for d in args.add_dirs]
        system_prompt = MINIMAL_SYSTEM_PROMPT + "\n\n" + environment_block(Path.cwd(), dirs)
    options = AgentOptions(
        cwd=Path.cwd(),
        system_prompt=_read(args.system_prompt_file, "--system-prompt-file")
        if args.system_prompt_file
        else system_prompt,
        append_system_prompt="\n\n".join(
            part
            for part in (
                args.append_system_prompt,
                _read(args.append_system_prompt_file, "--append-system-prompt-file")
                if args.append_system_prompt_file
                else None,
            )
            if part
        )
        or None,
        tools=tools,
        allowed_tools=args.allowed,
        disallowed_tools=args.disallowed,
        permission_mode=mode,
        add_dirs=args.add_dirs,
        max_turns=args.max_turns or None,
        max_budget_usd=budget,
        bare=args.bare,
        setting_sources=parse_setting_sources(args.setting_sources)
        if args.setting_sources is not None
        else None,
        settings=args.settings,
        include_partial_messages=args.include_partial_messages,
        json_schema=schema,
        thinking_budget=None if args.thinking == "disabled" else args.max_thinking_tokens,
        session_id=args.session_id,
        resume=args.resume,
        continue_conversation=args.continue_,
        fork_session=args.fork_session,
        persist_session=not args.no_session_persistence,
        max_retries=_max_retries(),
        billing_mode=args.billing_mode,
        ledger=args.ledger,
        record_usage=not args.no_ledger,
        project=args.project,
        tags=tags,
    )
    if args.model:
        options.model = args.model
    return options


async def _run(prompt: str, options: AgentOptions, renderer: Renderer) -> int:
    code = EXIT_ERROR
    async for event in run_agent(prompt, options):
        renderer(event)
        if event.kind == "result":
            code = event.exit_code
    return code


def _debug_file(path: Path | None) -> None:
    if path is None:
        return
    try:
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as exc:
        raise _fail(f"--debug-file: cannot open {path}: {exc.strerror}") from exc
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("thrifty")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)


def _mcp_servers(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    try:
        servers = parse_mcp_config(args.mcp_config)
    except McpConfigError as exc:
        raise _fail(str(exc)) from exc
    if servers and args.input_format != "stream-json":
        for name, config in servers.items():
            print(
                f"thrifty: MCP server {name!r} (type {server_type(config)!r}) ignored: only SDK servers "
                "with --input-format=stream-json are supported yet",
                file=sys.stderr,
            )
        return {}
    return servers


def run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    _debug_file(args.debug_file)
    options = options_from(args)
    servers = _mcp_servers(args)
    if args.input_format == "stream-json":
        from thrifty.cli.stream_input import run_stream

        try:
            return asyncio.run(
                run_stream(
                    options, permission_prompt=args.permission_prompt_tool == "stdio", mcp_servers=servers
                )
            )
        except SetupError as exc:
            raise _fail(str(exc)) from exc
    piped = _read_stdin()
    prompt = "\n".join(part for part in (args.prompt, piped) if part)
    if not prompt.strip():
        raise _fail("Input must be provided either through stdin or as a prompt argument when using --print")
    renderer = Renderer(
        args.output_format,
        sys.stdout,
        verbose=args.verbose,
        include_partial=args.include_partial_messages,
        err=None if args.output_format == "stream-json" else sys.stderr,
    )
    try:
        return asyncio.run(_run(prompt, options, renderer))
    except SetupError as exc:
        raise _fail(str(exc)) from exc
