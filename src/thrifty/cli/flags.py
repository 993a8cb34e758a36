"""The flags of ``thrifty -p``, as ``claude -p`` spells them: one argparse table.

Kept apart from :mod:`thrifty.cli.headless`, which turns the parsed flags into a run, so the
table can be read (and ``thrifty help`` printed) on its own. Every Claude Code flag a script may
pass is either implemented or parsed with its real arity and ignored; none is misread.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from thrifty.agent.permissions.policy import PERMISSION_MODES
from thrifty.cli.commands import COMMANDS
from thrifty.cli.errors import OneLineParser

MODE_CHOICES = [*PERMISSION_MODES, "manual"]
#: Flags of Claude Code and the Agent SDK that thrifty accepts and ignores: flag -> how many
#: values it takes (0: a switch, 1: one value, "+": a list). Each is parsed with its real arity, so
#: an ignored flag never swallows the prompt or leaves its value behind as one.
IGNORED_FLAGS: dict[str, int | str] = {
    "--fallback-model": 1,
    "--betas": "+",
    "--thinking-display": 1,
    "--effort": 1,
    "--task-budget": 1,
    "--resume-session-at": 1,
    "--resume-drops-turn": 1,
    "--session-mirror": 0,
    "--name": 1,
    "--allow-dangerously-skip-permissions": 0,
    "--exclude-dynamic-system-prompt-sections": 0,
    "--system-prompt-snapshot": 1,
    "--forward-subagent-text": 0,
    "--prompt-suggestions": 0,
    "--permission-prompts": 1,
}


def build_parser(argv: Sequence[str] | None = None) -> OneLineParser:
    """The headless parser. Its help's examples and reflowing (``help_text``) are attached only
    when ``argv`` asks for help (None: a help page is being printed), so a plain ``-p`` run does
    not load them."""
    if argv is None or "-h" in argv or "--help" in argv:
        from thrifty.cli.help_text import EXAMPLES, Formatter, examples_block

        looks: dict[str, Any] = {"epilog": examples_block(EXAMPLES[""]), "formatter_class": Formatter}
    else:
        looks = {}
    p = OneLineParser(
        prog="thrifty",
        usage="thrifty -p PROMPT [options]   |   thrifty COMMAND ...",
        description=(
            "Run the agent headless on PROMPT (or on piped stdin) and print the result. Flags follow "
            "Claude Code's `claude -p`. With --input-format stream-json --output-format stream-json "
            "--verbose, prompts and control requests come as NDJSON on stdin, as the Agent SDK sends "
            f"them (no -p needed). Commands: {', '.join(COMMANDS)} (see `thrifty COMMAND --help`)."
        ),
        **looks,
    )
    p.add_argument(
        "prompt", nargs="?", help="the task (with -p, or with piped stdin); piped stdin is appended after it"
    )
    p.add_argument("-p", "--print", action="store_true", help="non-interactive: run and print the result")
    p.add_argument("--output-format", choices=["text", "json", "stream-json"], default="text")
    p.add_argument("--input-format", choices=["text", "stream-json"], default="text")
    p.add_argument(
        "--verbose", action="store_true", help="required by stream-json; json prints every message"
    )
    p.add_argument("--include-partial-messages", action="store_true", help="emit raw stream events")
    p.add_argument(
        "--include-hook-events",
        action="store_true",
        help="with stream-json output: a system hook_started / hook_response frame for each command hook",
    )
    p.add_argument("--max-turns", type=int, help="stop after N model round-trips (0: no limit)")
    p.add_argument("--max-budget-usd", help="stop before a request would take the run past this spend")
    p.add_argument(
        "--on-rate-limit",
        default="fail",
        metavar="fail|wait[=MAX]",
        help="a 429 asking to wait over a minute: fail (default; exit 75 with when it resets) or "
        "wait up to MAX (like 30m, 2h; default 6h)",
    )
    p.add_argument(
        "--request-timeout",
        metavar="SECONDS",
        help="retry a model request that gets no answer (or no stream event) for this long; "
        "default API_TIMEOUT_MS, else 600",
    )
    p.add_argument("--model", default=None, help="model id or alias (sonnet, opus, haiku, fable)")
    p.add_argument("--system-prompt", help="replace the default system prompt")
    p.add_argument("--system-prompt-file", type=Path, help="replace the default system prompt with a file")
    p.add_argument("--append-system-prompt", help="append text to the system prompt")
    p.add_argument("--append-system-prompt-file", type=Path, help="append a file to the system prompt")
    p.add_argument(
        "--allowedTools", "--allowed-tools", dest="allowed", action="extend", nargs="+", default=[],
        metavar="RULE", help="tools (or rules like 'Bash(git diff:*)') allowed without asking",
    )  # fmt: skip
    p.add_argument(
        "--disallowedTools", "--disallowed-tools", dest="disallowed", action="extend", nargs="+",
        default=[], metavar="RULE", help="tools (or rules) always denied",
    )  # fmt: skip
    p.add_argument("--tools", nargs="*", help='base tool set: "" none, "default" all, or names')
    p.add_argument(
        "--permission-mode", choices=MODE_CHOICES, metavar="MODE", help=f"one of {', '.join(MODE_CHOICES)}"
    )
    p.add_argument(
        "--dangerously-skip-permissions", action="store_true", help="= --permission-mode bypassPermissions"
    )
    p.add_argument("--add-dir", dest="add_dirs", action="extend", nargs="+", default=[], type=Path)
    p.add_argument(
        "--bare", action="store_true", help="no CLAUDE.md, settings files or hooks; Bash, Edit, Read only"
    )
    p.add_argument("--setting-sources", help="comma list of user,project,local ('' for none)")
    p.add_argument(
        "--disable-slash-commands",
        action="store_true",
        help="no custom slash commands or skills: a /name prompt is sent as written",
    )
    p.add_argument("--settings", help="extra settings: a JSON file or a JSON string")
    p.add_argument("--json-schema", help="JSON Schema for a validated structured answer")
    p.add_argument(
        "--agents",
        metavar="JSON_OR_FILE",
        help='subagents for the Agent tool: {"name": {"description", "prompt", "tools", "model"}}',
    )
    p.add_argument("--agent", metavar="NAME", help="run the main thread as this agent")
    p.add_argument(
        "--plugin-dir",
        dest="plugin_dirs",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="load a local plugin (its commands, agents, skills, hooks, MCP servers); repeatable",
    )
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
        help='MCP servers ({"mcpServers": ...}): stdio, sse and http servers (pip install '
        "'thrifty[mcp]'), and the SDK's in-process ones (type \"sdk\") with stream-json input",
    )
    sdk.add_argument(
        "--strict-mcp-config",
        action="store_true",
        help="use only the --mcp-config servers: the project's .mcp.json is not read",
    )
    sdk.add_argument(
        "--replay-user-messages",
        action="store_true",
        help="with stream-json input: echo each user message back on stdout with isReplay: true",
    )
    debug = p.add_argument_group("debugging")
    debug.add_argument(
        "-d",
        "--debug",
        metavar="FILTER",
        help="debug log on stderr; an optional FILTER of categories (e.g. 'api,hooks' or '!stream') "
        "is taken only if the next word looks like one, never a prompt",
    )
    debug.add_argument("--debug-file", type=Path, help="write the debug log to this file (mode 0600)")
    compat = p.add_argument_group(
        "accepted for compatibility and ignored",
        "Claude Code / Agent SDK flags that thrifty accepts, parses with their values, and ignores: "
        + ", ".join(IGNORED_FLAGS).replace("--name", "-n/--name")
        + ".",
    )
    for flag, arity in IGNORED_FLAGS.items():
        names = ("-n", flag) if flag == "--name" else (flag,)
        if arity == 0:
            compat.add_argument(*names, action="store_true", help=argparse.SUPPRESS)
        elif arity == "+":
            compat.add_argument(*names, nargs="+", action="extend", help=argparse.SUPPRESS)
        else:
            compat.add_argument(*names, action="append", help=argparse.SUPPRESS)
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
    billing.add_argument(
        "--via",
        choices=["live", "batch"],
        default="live",
        help="live (streamed calls, the default) or batch: each turn is a Message Batch of one, "
        "half the price, minutes of latency (API credentials only)",
    )
    return p
