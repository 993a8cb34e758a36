"""A prompt that begins with ``/name args``, turned into the message Claude Code sends for it.

The message is two text blocks: a ``<command-message>``/``<command-name>``/``<command-args>``
header, then the command's body with its arguments substituted:

- ``$ARGUMENTS``: the arguments as typed;
- ``$ARGUMENTS[N]`` and ``$N``: the N-th argument, counted from 0 as Claude Code does today, the
  arguments split as a shell would (quotes group words); a missing one stays as written;
- a body with none of these gets ``ARGUMENTS: <args>`` appended when arguments were given;
- ``!`command``` runs the command (bash, in the working directory) and puts its output in its
  place, but only when the permission rules (the session's plus the command's ``allowed-tools``)
  allow that Bash call outright; otherwise the turn ends before any request, as in Claude Code.

A skill's body is preceded by ``Base directory for this skill: <dir>``. A ``/name`` that is no
command of the session goes to the model as written, after a reminder that no such command ran.
``@path`` references in a body are left as text.
"""

from __future__ import annotations

import asyncio
import re
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from thrifty.agent.commands.catalog import Catalog, Command

__all__ = [
    "CommandFailed",
    "Expansion",
    "expand_prompt",
    "listing",
    "parse_slash",
    "render_body",
    "substitute",
]

#: ``/name`` then the arguments; a name holding ``/`` (a path such as ``/usr/bin``) is no command.
_SLASH = re.compile(r"^/([A-Za-z0-9_][A-Za-z0-9_:.-]*)(?:\s+(.*))?$", re.S)
_PLACEHOLDER = re.compile(r"\$ARGUMENTS\[(\d+)\]|\$ARGUMENTS\b|\$(\d+)")
_SHELL = re.compile(r"!`([^`\n]+)`")
SHELL_TIMEOUT_S = 120.0
#: How many names the unknown-command reminder lists before "and N more".
LISTED_NAMES = 20

#: Why a shell command may not run (None: it may), for a ``!`command``` of a body.
ShellCheck = Callable[[str, tuple[str, ...]], str | None]


class CommandFailed(Exception):
    """A command could not be expanded (a refused or failed ``!`command```): the turn ends."""


@dataclass(frozen=True)
class Expansion:
    """What the model gets for a slash prompt, and the command that produced it (None: unknown)."""

    content: list[dict[str, Any]]
    command: Command | None = None


def parse_slash(text: str) -> tuple[str, str] | None:
    """``(name, args)`` of a prompt that begins with ``/name``; None for any other prompt."""
    match = _SLASH.match(text.strip())
    if match is None:
        return None
    return match.group(1), (match.group(2) or "").strip()


def split_arguments(args: str) -> list[str]:
    try:
        return shlex.split(args)
    except ValueError:
        return args.split()


def substitute(body: str, args: str) -> str:
    """The body with ``$ARGUMENTS``, ``$ARGUMENTS[N]`` and ``$N`` replaced (see the module doc)."""
    positional = split_arguments(args)
    used = False

    def replace(match: re.Match[str]) -> str:
        nonlocal used
        used = True
        index = match.group(1) or match.group(2)
        if index is None:
            return args
        n = int(index)
        return positional[n] if n < len(positional) else match.group(0)

    text = _PLACEHOLDER.sub(replace, body)
    if not used and args:
        text += f"\n\nARGUMENTS: {args}"
    return text


def render_body(command: Command, args: str) -> str:
    """The command's text for the model, before ``!`command``` expansion."""
    text = substitute(command.body, args)
    if command.kind == "skill":
        text = f"Base directory for this skill: {command.path.parent}\n\n{text}"
    return text


async def run_shell(text: str, command: Command, check: ShellCheck, cwd: str) -> str:
    """``text`` with each ``!`command``` replaced by its output; CommandFailed if one may not run."""
    outputs: list[str] = []
    for match in _SHELL.finditer(text):
        line = match.group(1).strip()
        refusal = check(line, command.allowed_tools)
        if refusal is not None:
            raise CommandFailed(
                f'Shell command permission check failed for pattern "{match.group(0)}": {refusal}'
            )
        outputs.append(await _run(line, cwd, match.group(0)))
    if not outputs:
        return text
    iterator = iter(outputs)
    return _SHELL.sub(lambda _m: next(iterator), text)


async def _run(line: str, cwd: str, pattern: str) -> str:
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        line,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), SHELL_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()
        message = f'Shell command timed out for pattern "{pattern}" after {SHELL_TIMEOUT_S:g}s'
        raise CommandFailed(message) from None
    stdout = out.decode("utf-8", "replace").rstrip("\n")
    stderr = err.decode("utf-8", "replace").rstrip("\n")
    if process.returncode != 0:
        detail = f"[stderr]\n{stderr}" if stderr else stdout or f"exit code {process.returncode}"
        raise CommandFailed(f'Shell command failed for pattern "{pattern}": {detail}')
    return f"{stdout}\n[stderr]\n{stderr}" if stderr else stdout


def header(name: str, args: str) -> str:
    text = f"<command-message>{name}</command-message>\n<command-name>/{name}</command-name>\n"
    return text + (f"<command-args>{args}</command-args>\n" if args else "")


def unknown_reminder(name: str, catalog: Catalog) -> str:
    names = [f"/{n}" for n in catalog.names]
    if not names:
        available = "No slash commands are available in this session."
    else:
        shown = ", ".join(names[:LISTED_NAMES])
        more = f", and {len(names) - LISTED_NAMES} more" if len(names) > LISTED_NAMES else ""
        available = f"Slash commands available in this session: {shown}{more}."
    return (
        f"<system-reminder>\nThe user's message starts with the slash command /{name}, but no command "
        f"with that name is available in this session, so it did not run. {available} Treat the "
        "message as a plain request and do the task with the tools you have. If the task needs that "
        "command, tell the user it is not installed in this session. Do not say the command ran.\n"
        "</system-reminder>"
    )


def listing(catalog: Catalog) -> str | None:
    """The system prompt's list of what the ``Skill`` tool can run; None when there is nothing."""
    entries = catalog.model_invocable()
    if not entries:
        return None
    lines = "\n".join(f"- {c.name}: {c.description}" if c.description else f"- {c.name}" for c in entries)
    return f"The following skills are available for use with the Skill tool:\n\n{lines}"


async def expand_prompt(
    prompt: str | list[dict[str, Any]],
    catalog: Catalog,
    *,
    cwd: str,
    check: ShellCheck,
    run: Callable[[str, Command, ShellCheck, str], Awaitable[str]] = run_shell,
) -> Expansion | None:
    """The expanded message of a slash prompt, or None when the prompt is not one.

    A list prompt counts when its first block is text beginning with ``/``; the other blocks
    (images, more text) follow the expansion.
    """
    if isinstance(prompt, str):
        text, rest = prompt, []
    elif prompt and isinstance(prompt[0], dict) and prompt[0].get("type") == "text":
        text, rest = str(prompt[0].get("text", "")), list(prompt[1:])
    else:
        return None
    parsed = parse_slash(text)
    if parsed is None:
        return None
    name, args = parsed
    command = catalog.get(name)
    if command is None:
        blocks = [{"type": "text", "text": unknown_reminder(name, catalog)}, {"type": "text", "text": text}]
        return Expansion([*blocks, *rest])
    body = await run(render_body(command, args), command, check, cwd)
    # By the command's own name: a plugin skill called by its bare name is shown by its full one.
    blocks = [{"type": "text", "text": header(command.name, args)}, {"type": "text", "text": body}]
    return Expansion([*blocks, *rest], command)
