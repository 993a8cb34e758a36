"""Slash commands in a session: the turn a command runs in, and the ``Skill`` tool's runner.

A command's ``model`` and ``allowed-tools`` hold for its own turn only: ``CommandScope`` sets
them when the turn starts and puts the session back as it was when the turn ends, whatever ends
it. A ``!`command``` of a body runs only when the session's rules, with the command's
``allowed-tools`` added, allow that Bash call without asking.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thrifty.agent.commands.catalog import Catalog
from thrifty.agent.commands.expand import (
    CommandFailed,
    Expansion,
    ShellCheck,
    expand_prompt,
    render_body,
    run_shell,
)
from thrifty.agent.options import resolve_model
from thrifty.core.endings import SUCCESS
from thrifty.core.events import Event, SystemInit
from thrifty.tools.base import ToolResult, error

if TYPE_CHECKING:
    from thrifty.agent.loop import AgentRun
    from thrifty.agent.permissions.policy import PermissionPolicy
    from thrifty.agent.plugins import Plugins
    from thrifty.agent.setup import Prepared
    from thrifty.tools.skill import SkillRunner

__all__ = [
    "CommandFailed",
    "CommandScope",
    "annotate_init",
    "refused_turn",
    "report",
    "shell_check",
    "skill_runner",
    "start_command_turn",
]

log = logging.getLogger("thrifty.commands")
#: The source named on a command's ``allowed-tools`` rules while its turn runs.
RULE_SOURCE = "command"


@contextlib.contextmanager
def allowed_for_now(policy: PermissionPolicy, rules: Iterable[str]) -> Iterator[None]:
    """Add allow rules, and take exactly those away again on the way out."""
    live = policy.compiled("allow")
    before = len(live)
    policy.add_rules("allow", list(rules), source=RULE_SOURCE)
    added = list(live[before:])
    try:
        yield
    finally:
        if isinstance(live, list):
            for rule in added:
                if rule in live:
                    live.remove(rule)


def shell_check(policy: PermissionPolicy) -> ShellCheck:
    """Why a ``!`command``` may not run (None: it may), for ``expand.run_shell``."""

    def check(line: str, extra: tuple[str, ...]) -> str | None:
        with allowed_for_now(policy, extra):
            decision = policy.decide("Bash", {"command": line}, read_only=False, edits_files=False)
        if decision.behavior == "allow":
            return None
        return decision.reason or "This command requires approval"

    return check


class CommandScope:
    """The session as a command's turn needs it; ``close()`` restores what it changed."""

    def __init__(self, prepared: Prepared, expansion: Expansion | None) -> None:
        self._prepared = prepared
        self._model: str | None = None
        self._rules: contextlib.ExitStack = contextlib.ExitStack()
        command = expansion.command if expansion is not None else None
        if command is None:
            return
        if command.allowed_tools:
            self._rules.enter_context(allowed_for_now(prepared.policy, command.allowed_tools))
        if command.model:
            self._model = prepared.model
            prepared.model = resolve_model(command.model)

    def close(self) -> None:
        if self._model is not None:
            self._prepared.model, self._model = self._model, None
        self._rules.close()


async def start_command_turn(
    prepared: Prepared, prompt: str | list[dict[str, Any]], *, enabled: bool = True
) -> tuple[str | list[dict[str, Any]], CommandScope]:
    """The prompt as the model gets it and the turn's scope. Raises ``CommandFailed``."""
    if not enabled:
        return prompt, CommandScope(prepared, None)
    expansion = await expand_prompt(
        prompt, prepared.commands, cwd=str(prepared.ctx.cwd), check=shell_check(prepared.policy)
    )
    if expansion is None:
        return prompt, CommandScope(prepared, None)
    return expansion.content, CommandScope(prepared, expansion)


def annotate_init(event: Event, catalog: Catalog, plugins: Plugins | None = None) -> Event:
    """A ``SystemInit`` with the session's commands, skills and plugins; any other event as it is."""
    if isinstance(event, SystemInit):
        extra: dict[str, Any] = {}
        if plugins is not None:
            extra = {"plugins": plugins.init_entries(), "plugin_errors": plugins.errors or None}
        return dataclasses.replace(event, slash_commands=catalog.names, skills=catalog.skill_names, **extra)
    return event


def skill_runner(catalog: Catalog, policy: PermissionPolicy, cwd: Path) -> SkillRunner:
    """What the ``Skill`` tool calls: the skill's text for the model, or an error result."""
    check = shell_check(policy)

    async def run(name: str, args: str) -> ToolResult:
        command = catalog.get(name)
        if command is None or command.user_only:
            return error(f"Unknown skill: {name}")
        try:
            text = await run_shell(render_body(command, args), command, check, str(cwd))
        except CommandFailed as exc:
            return error(str(exc))
        return ToolResult(
            [{"type": "text", "text": f"Launching skill: {name}"}, {"type": "text", "text": text}]
        )

    return run


def report(catalog: Catalog) -> None:
    """Each loading problem in one line on stderr (the log's last-resort handler, or --debug)."""
    for warning in catalog.warnings:
        log.warning("thrifty: %s", warning)


def refused_turn(run: AgentRun, text: str) -> list[Event]:
    """A turn whose command could not be expanded: its init and a result carrying why, with no
    request made (Claude Code ends such a turn as a success with the message as its result)."""
    return [*run._opening(), run._result(SUCCESS, text, time.monotonic(), None)]
