"""How a Bash call is judged: per simple command, with redirections and ``cd`` taken into account.

A deny or ask rule fires if it matches any simple command of the line (as written, unquoted, or
with wrappers such as ``sudo`` peeled off), or if a redirection targets a path a ``Read``/``Edit``
rule covers. An allow needs every simple command allowed, by a rule or by being read-only, and
every redirection target writable; a line the splitter could not read with certainty (command
substitution, an unterminated quote) is never auto-allowed, whatever the rules say, short of a
bare ``Bash`` allow or bypassPermissions mode.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from thrifty.agent.bash.commands import allow_texts, deny_texts, filesystem_edit_paths, is_read_only
from thrifty.agent.bash.split import split_command
from thrifty.agent.bash.syntax import ParsedCommand, SimpleCommand
from thrifty.agent.permissions.paths import absolute_path
from thrifty.agent.permissions.rules import (
    Behavior,
    CompiledRule,
    Decision,
    Rule,
    asked,
    bash_pattern,
    denied_by,
    param_matches,
    tool_name_matches,
)

__all__ = ["BashJudge", "decide_bash"]

_DEVICE_SINKS = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"})
#: Each ``cd`` doubles the directories a relative path is checked from; past this, just ask.
_MAX_CD = 3


class BashJudge(Protocol):
    """What the Bash judgement needs from the policy, and nothing more."""

    @property
    def mode(self) -> str: ...

    @property
    def cwd(self) -> Path: ...

    @property
    def home(self) -> Path: ...

    def compiled(self, behavior: Behavior) -> Sequence[CompiledRule]: ...

    def path_permitted(self, path: Path, *, write: bool) -> bool: ...


def decide_bash(policy: BashJudge, tool_input: Mapping[str, Any]) -> Decision:
    raw = tool_input.get("command")
    command = raw if isinstance(raw, str) else ""
    dont_ask = policy.mode == "dontAsk"
    parsed = split_command(command)
    if (rule := _rule_hit(policy, "deny", parsed, tool_input)) is not None:
        return denied_by("Bash", rule)
    if not command.strip():
        return asked("Claude requested permissions to use Bash, but no command was given.", dont_ask=dont_ask)
    bases = _cd_bases(policy, parsed)
    if policy.mode == "plan" and not _read_only_line(policy, parsed, bases):
        return Decision(
            "deny", reason=f"Cannot run {command.strip()!r} while in plan mode: it is not read-only."
        )
    if (rule := _rule_hit(policy, "ask", parsed, tool_input)) is not None:
        return asked(_ask_reason(command), dont_ask=dont_ask, rule=rule)
    if policy.mode == "bypassPermissions":
        return Decision("allow", reason="bypassPermissions mode.")
    allow = policy.compiled("allow")
    bare = next((c.rule for c in allow if c.rule.tool == "Bash" and c.rule.specifier is None), None)
    if bare is not None:
        return _allowed(bare)
    if parsed.error is not None or parsed.substitution or bases is None:
        why = parsed.error or ("command substitution" if parsed.substitution else "too many cd commands")
        return asked(f"{_ask_reason(command)} ({why} needs approval)", dont_ask=dont_ask)
    first_rule: Rule | None = None
    for cmd in parsed.commands:
        allowed, rule = _subcommand_allowed(policy, cmd, bases)
        if not allowed:
            return asked(_ask_reason(command), dont_ask=dont_ask)
        first_rule = first_rule or rule
    return _allowed(first_rule) if first_rule is not None else Decision("allow", reason="Read-only command.")


def _allowed(rule: Rule) -> Decision:
    return Decision("allow", rule=rule.text, rule_source=rule.source, reason="Allowed by rule.")


def _rule_hit(
    policy: BashJudge, behavior: Behavior, parsed: ParsedCommand, tool_input: Mapping[str, Any]
) -> Rule | None:
    """First deny/ask rule matching any simple command, or a redirection target's path."""
    texts = [parsed.source.strip()] + [t for cmd in parsed.commands for t in deny_texts(cmd)]
    for c in policy.compiled(behavior):
        rule = c.rule
        if c.path is not None:
            targets = _redirect_paths(policy, parsed, writes_only=rule.tool == "Edit")
            if any(c.path.matches(p) for p in targets):
                return rule
            continue
        if rule.tool in ("Read", "Edit") or not tool_name_matches(rule.tool, "Bash", behavior):
            continue
        if rule.specifier is None:
            return rule
        if (param := param_matches(rule.specifier, tool_input)) is not None:
            if param:
                return rule
            continue
        pattern = bash_pattern(rule.specifier)
        if any(pattern.fullmatch(t) for t in texts):
            return rule
    return None


def _redirect_paths(policy: BashJudge, parsed: ParsedCommand, *, writes_only: bool) -> list[Path]:
    return [
        absolute_path(r.target.value, cwd=policy.cwd, home=policy.home)
        for cmd in parsed.commands
        for r in cmd.redirects
        if r.target is not None and (r.writes_file or (r.reads_file and not writes_only))
    ]


def _cd_bases(policy: BashJudge, parsed: ParsedCommand) -> list[Path] | None:
    """Every directory a command of the line might run in, or None if there are too many.

    ``cd`` moves where relative paths point, and which ``cd`` ran depends on ``&&``/``||``
    outcomes we cannot know, so relative paths are checked from each possible directory.
    """
    bases = [policy.cwd]
    cds = [cmd.argv[-1] for cmd in parsed.commands if cmd.argv[:1] == ("cd",) and len(cmd.argv) > 1]
    if len(cds) > _MAX_CD:
        return None
    for target in cds:
        bases += [absolute_path(target, cwd=b, home=policy.home) for b in bases]
    return list(dict.fromkeys(bases))


def _read_only_line(policy: BashJudge, parsed: ParsedCommand, bases: list[Path] | None) -> bool:
    if parsed.error is not None or parsed.substitution or bases is None:
        return False
    path_ok = _path_checker(policy, bases, write=False)
    return all(
        _redirects_ok(policy, cmd, bases, allow_writes=False) and is_read_only(cmd, path_ok)
        for cmd in parsed.commands
    )


def _subcommand_allowed(policy: BashJudge, cmd: SimpleCommand, bases: list[Path]) -> tuple[bool, Rule | None]:
    if not _redirects_ok(policy, cmd, bases, allow_writes=True):
        return False, None
    rules = [c.rule for c in policy.compiled("allow") if c.rule.tool == "Bash" and c.rule.specifier]
    for text in allow_texts(cmd):
        for rule in rules:
            if bash_pattern(rule.specifier or "").fullmatch(text):
                return True, rule
    if is_read_only(cmd, _path_checker(policy, bases, write=False)):
        return True, None
    if policy.mode == "acceptEdits":
        paths = filesystem_edit_paths(cmd)
        write_ok = _path_checker(policy, bases, write=True)
        if paths and all(write_ok(p) for p in paths):
            return True, None
    return False, None


def _redirects_ok(policy: BashJudge, cmd: SimpleCommand, bases: list[Path], *, allow_writes: bool) -> bool:
    """Output redirection is a file write, input redirection a file read: both need permission."""
    for r in cmd.redirects:
        if not (r.writes_file or r.reads_file):
            continue  # here-documents, here-strings, descriptor duplication
        if r.target is None or r.target.expands:
            return False
        if r.target.value in _DEVICE_SINKS:
            continue
        if r.writes_file and not (allow_writes and _path_checker(policy, bases, write=True)(r.target.value)):
            return False
        if r.reads_file and not _path_checker(policy, bases, write=False)(r.target.value):
            return False
    return True


def _path_checker(policy: BashJudge, bases: list[Path], *, write: bool) -> Callable[[str], bool]:
    def ok(value: str) -> bool:
        return all(
            policy.path_permitted(absolute_path(value, cwd=base, home=policy.home), write=write)
            for base in bases
        )

    return ok


def _ask_reason(command: str) -> str:
    shown = command.strip()
    if len(shown) > 200:
        shown = shown[:200] + "..."
    return f"Claude requested permissions to use Bash with command {shown!r}, but you haven't granted it yet."
