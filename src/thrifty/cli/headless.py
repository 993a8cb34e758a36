"""``thrifty -p``: the headless agent, flag-compatible with ``claude -p``.

Parsing and validation only; the run itself is the SDK's loop (``thrifty.agent.loop``) and the
output is one of the renderers of its event stream.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from thrifty import __version__
from thrifty.agent import validate
from thrifty.agent.options import AgentOptions
from thrifty.agent.prompt import environment_block
from thrifty.agent.settings import parse_setting_sources
from thrifty.agent.subagents.definitions import AgentConfigError, AgentDef, parse_agents_json
from thrifty.agent.validate import SetupError, Spelling
from thrifty.cli import debug
from thrifty.cli.commands import not_a_prompt, stdin_is_piped
from thrifty.cli.errors import EXIT_ERROR, UsageError
from thrifty.cli.flags import IGNORED_FLAGS, build_parser
from thrifty.cli.render import Renderer

log = logging.getLogger("thrifty.cli")

MAX_STDIN = 10 * 1024 * 1024
#: ``--system-prompt ""`` (what the Agent SDK passes when the caller sets no system prompt): the
#: API takes no empty text block, so the prompt is this line and the environment facts.
MINIMAL_SYSTEM_PROMPT = "You are thrifty, a headless coding agent."

#: The options' rules are :mod:`thrifty.agent.validate`'s; these are their names on the command
#: line, and Claude Code's own wording where it has one.
FLAGS = Spelling(
    names={
        "permission_mode": "--permission-mode",
        "bypass": "--dangerously-skip-permissions",
        "max_budget_usd": "--max-budget-usd",
        "max_turns": "--max-turns",
        "max_retries": validate.MAX_RETRIES_ENV,
        "on_rate_limit": "--on-rate-limit",
        "request_timeout": "--request-timeout",
        "session_id": "--session-id",
        "resume": "--resume",
        "continue_conversation": "--continue",
        "fork_session": "--fork-session",
        "persist_session": "--no-session-persistence",
        "billing_mode": "--billing-mode",
        "ledger": "--ledger",
        "record_usage": "--no-ledger",
        "setting_sources": "--setting-sources",
    },
    wording={
        "uuid": "Invalid session ID {value!r}. Must be a valid UUID.",
        "max_budget_usd": "option '--max-budget-usd <amount>' argument '{value}' is invalid. "
        "--max-budget-usd must be a number greater than 0",
    },
)


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


def _number(text: str | None) -> float | str | None:
    """A flag's number, or its text for the validator to refuse in the option's own words."""
    try:
        return float(text) if text is not None else None
    except ValueError:
        return text


def options_from(args: argparse.Namespace) -> AgentOptions:
    """The flags as ``AgentOptions``: the checks of flag combinations here, the options' own rules
    in :func:`thrifty.agent.validate.validate` (shared with the SDK)."""
    try:
        options = _options(args)
        validate.validate(options, FLAGS)
    except SetupError as exc:
        raise _fail(str(exc)) from None
    return options


def _options(args: argparse.Namespace) -> AgentOptions:
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
    for flag in IGNORED_FLAGS:
        if getattr(args, flag.lstrip("-").replace("-", "_")):
            log.debug("%s is accepted for compatibility and ignored", flag)
    if args.replay_user_messages and args.input_format != "stream-json":
        raise _fail(
            "--replay-user-messages requires --input-format=stream-json and --output-format=stream-json"
        )
    if args.thinking not in (None, "disabled"):
        log.debug("--thinking %s is not implemented; ignored", args.thinking)
    if args.include_partial_messages and args.output_format != "stream-json":
        raise _fail("--include-partial-messages requires --print and --output-format=stream-json.")
    if args.system_prompt is not None and args.system_prompt_file is not None:
        raise _fail("--system-prompt and --system-prompt-file cannot be used together")
    mode = "bypassPermissions" if args.dangerously_skip_permissions else args.permission_mode
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
    tools: list[str] | None = None
    if args.tools is not None:
        names = [n for part in args.tools for n in part.replace(",", " ").split()]
        tools = None if names == ["default"] else names
    system_prompt = args.system_prompt
    if system_prompt is not None and not system_prompt.strip():
        dirs = [d.resolve() for d in args.add_dirs]
        system_prompt = MINIMAL_SYSTEM_PROMPT + "\n\n" + environment_block(Path.cwd(), dirs)
    agents: dict[str, AgentDef] = {}
    if args.agents is not None:
        try:
            agents = parse_agents_json(args.agents, Path.cwd())
        except AgentConfigError as exc:
            raise _fail(str(exc)) from None
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
        permission_mode=validate.permission_mode(mode, FLAGS),
        add_dirs=args.add_dirs,
        max_turns=args.max_turns or None,
        max_budget_usd=validate.max_budget_usd(args.max_budget_usd, FLAGS),
        bare=args.bare,
        setting_sources=parse_setting_sources(args.setting_sources)
        if args.setting_sources is not None
        else None,
        settings=args.settings,
        disable_slash_commands=args.disable_slash_commands,
        include_partial_messages=args.include_partial_messages,
        json_schema=schema,
        thinking_budget=None if args.thinking == "disabled" else args.max_thinking_tokens,
        session_id=args.session_id,
        resume=args.resume,
        continue_conversation=args.continue_,
        fork_session=args.fork_session,
        persist_session=not args.no_session_persistence,
        max_retries=validate.max_retries(None, os.environ, FLAGS),
        on_rate_limit=validate.on_rate_limit(args.on_rate_limit, FLAGS),
        request_timeout=validate.request_timeout(_number(args.request_timeout), FLAGS),
        billing_mode=args.billing_mode,
        ledger=args.ledger,
        record_usage=not args.no_ledger,
        project=args.project,
        tags=tags,
        agents=agents,
        agent=args.agent,
    )
    if args.model:
        options.model = args.model
    return options


def _write_frame(frame: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(frame, ensure_ascii=False, separators=(",", ":")) + "\n")
    sys.stdout.flush()


async def _run(
    prompt: str, options: AgentOptions, renderer: Renderer, *, hook_events: bool = False, via: str = "live"
) -> int:
    from thrifty.agent.session import Session

    code = EXIT_ERROR
    opened: contextlib.AbstractAsyncContextManager[Session]
    if via == "batch":
        from thrifty.batch.single import batch_session

        opened = batch_session(options)
    else:
        opened = Session(options)
    async with opened as session:
        if hook_events:
            session.prepared.hooks.on_event = _write_frame
        await session.start_mcp()
        for line in [*session.mcp_notes, *(session.mcp.problems() if session.mcp is not None else [])]:
            print(f"thrifty: {line}", file=sys.stderr)
        async for event in session.turn(prompt):
            renderer(event)
            if event.kind == "result":
                code = event.exit_code
    return code


def _mcp_servers(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """``--mcp-config`` servers; the session starts them (SDK ones only with stream-json input)."""
    if not args.mcp_config:
        return {}
    from thrifty.mcp.config import McpConfigError, parse_mcp_config

    try:
        return parse_mcp_config(args.mcp_config)
    except McpConfigError as exc:
        raise _fail(str(exc)) from exc


def run(argv: list[str]) -> int:
    argv = debug.normalize_argv(argv)
    args = build_parser(argv).parse_args(argv)
    debug.configure(args.debug, args.debug_file)
    piped: str | None = None
    if not args.print and args.prompt is not None and args.input_format != "stream-json":
        # Without -p only input actually sent down a pipe makes the argument a prompt: an empty
        # pipe (a CI step with nothing attached) is no more intent than a terminal.
        piped = _read_stdin() if stdin_is_piped() else ""
        refusal = not_a_prompt(args.prompt, bool(piped.strip()))
        if refusal is not None:
            raise _fail(refusal)
    options = options_from(args)
    log.debug(
        "thrifty %s: model %s, cwd %s, output %s, input %s",
        __version__,
        options.model,
        options.cwd,
        args.output_format,
        args.input_format,
    )
    options.mcp_servers = _mcp_servers(args)
    options.strict_mcp_config = args.strict_mcp_config
    options.plugins = list(args.plugin_dirs)
    # The agent (and the anthropic client under it) is imported only now: every mistake above
    # is reported without paying a second of imports for it.
    if args.input_format == "stream-json":
        if args.via == "batch":
            raise _fail("--via batch runs a -p prompt; it does not take --input-format stream-json")
        from thrifty.cli.stream_input import run_stream

        try:
            return asyncio.run(
                run_stream(
                    options,
                    permission_prompt=args.permission_prompt_tool == "stdio",
                    replay_user_messages=args.replay_user_messages,
                    include_hook_events=args.include_hook_events,
                )
            )
        except SetupError as exc:
            raise _fail(str(exc)) from exc
    if piped is None:
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
        hook_events = args.include_hook_events and args.output_format == "stream-json"
        return asyncio.run(_run(prompt, options, renderer, hook_events=hook_events, via=args.via))
    except SetupError as exc:
        raise _fail(str(exc)) from exc
