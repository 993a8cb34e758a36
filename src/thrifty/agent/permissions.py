"""The permission engine: may this tool call run, must it be refused, or must someone be asked?

Order of judgement, first answer wins:

1. deny rules;
2. hard limits no mode lifts: file edits outside the working directories (cwd plus added dirs);
3. plan mode refuses anything that is not read-only;
4. ask rules (also in bypassPermissions: an explicit ask is a user's standing request);
5. allow rules;
6. the mode: bypassPermissions allows, acceptEdits allows edits inside the working directories,
   read-only tools inside them are allowed in every mode;
7. otherwise ask, which dontAsk turns into deny.

Headless callers turn "ask" into a denial themselves (or forward it to a ``can_use_tool``
host), so this module never talks to a user. Bash gets its own path: the command line is split
into simple commands (:mod:`bash_split`), deny and ask rules match if any command matches, and
an allow needs every command allowed, by a rule or by being read-only (:mod:`bash_commands`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from thrifty.agent.bash_commands import allow_texts, deny_texts, filesystem_edit_paths, is_read_only
from thrifty.agent.bash_split import ParsedCommand, SimpleCommand, split_command
from thrifty.agent.path_rules import PathPattern, absolute_path, compile_path_pattern, is_inside, tool_paths
from thrifty.agent.permission_rules import (
    Behavior,
    Rule,
    bash_pattern,
    content_matches,
    param_matches,
    parse_rule,
    parse_rule_list,
    rule_problem,
    tool_name_matches,
)
from thrifty.agent.settings import Settings, SourcedRule

__all__ = [
    "PERMISSION_MODES",
    "Decision",
    "PermissionMode",
    "PermissionPolicy",
    "Rule",
    "hidden_tools",
    "normalize_mode",
    "parse_rule",
    "parse_rule_list",
]

PermissionMode = Literal["default", "acceptEdits", "plan", "dontAsk", "bypassPermissions", "auto"]
PERMISSION_MODES: tuple[PermissionMode, ...] = (
    "default",
    "acceptEdits",
    "plan",
    "dontAsk",
    "bypassPermissions",
    "auto",
)
_MODE_ALIASES = {"manual": "default"}

#: Tools that change nothing a user needs to approve, whatever their ``read_only`` flag says.
NO_PERMISSION_TOOLS = frozenset(
    {"TodoWrite", "TaskCreate", "TaskGet", "TaskList", "TaskUpdate", "TaskOutput", "TaskStop"}
    | {"AskUserQuestion", "EnterPlanMode", "Agent", "Task"}
)
#: Not read-only, but plan mode exists to end in them.
_PLAN_MODE_TOOLS = NO_PERMISSION_TOOLS | {"ExitPlanMode"}
#: Read-only but reaching the network, so never allowed without a rule (as in Claude Code).
NETWORK_TOOLS = frozenset({"WebFetch", "WebSearch"})
#: Directories whose contents steer git or thrifty itself: no mode approves edits there.
PROTECTED_DIRS = frozenset({".git", ".claude"})
_PATH_TOOLS = frozenset({"Read", "Edit"})
_IGNORED_PATH_TOOLS = frozenset({"Write", "NotebookEdit", "Glob", "MultiEdit"})
_DEVICE_SINKS = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"})
_MAX_CD = 3


def normalize_mode(mode: str) -> PermissionMode:
    """Canonical mode name (``manual`` is ``default``); ValueError for an unknown one."""
    canonical = _MODE_ALIASES.get(mode, mode)
    for known in PERMISSION_MODES:
        if canonical == known:
            return known
    raise ValueError(f"Unknown permission mode {mode!r}; expected one of {', '.join(PERMISSION_MODES)}.")


@dataclass(frozen=True)
class Decision:
    behavior: Literal["allow", "deny", "ask"]
    #: The text of the rule that decided, if a rule did.
    rule: str | None = None
    #: Why, worded so it can go to the model as the tool result of a refused call.
    reason: str = ""
    rule_source: str | None = None
    blocked_path: str | None = None


@dataclass(frozen=True)
class _Compiled:
    rule: Rule
    behavior: Behavior
    path: PathPattern | None = None


@dataclass(frozen=True)
class _Call:
    tool: str
    input: Mapping[str, Any]
    read_only: bool
    edits_files: bool
    paths: tuple[Path, ...]


def hidden_tools(deny_rules: Iterable[Rule], tool_names: Iterable[str]) -> set[str]:
    """Tools a bare-name deny removes from the model's tool list (``Bash``, ``mcp__x``, ``*``)."""
    bare = [r for r in deny_rules if r.specifier is None]
    return {name for name in tool_names if any(tool_name_matches(r.tool, name, "deny") for r in bare)}


class PermissionPolicy:
    def __init__(
        self,
        *,
        cwd: Path,
        allow: Iterable[Rule | str] = (),
        ask: Iterable[Rule | str] = (),
        deny: Iterable[Rule | str] = (),
        mode: str = "default",
        additional_dirs: Iterable[Path] = (),
        home: Path | None = None,
        bypass_disabled: bool = False,
    ) -> None:
        self.cwd = Path(cwd).absolute()
        self.home = Path.home() if home is None else home
        self.bypass_disabled = bypass_disabled
        self.warnings: list[str] = []
        self._rules: dict[Behavior, list[_Compiled]] = {"allow": [], "ask": [], "deny": []}
        self._dirs: list[Path] = []
        self._resolved_dirs: list[Path] = []
        self.add_directories([self.cwd, *additional_dirs])
        self.add_rules("allow", allow)
        self.add_rules("ask", ask)
        self.add_rules("deny", deny)
        self._mode: PermissionMode = "default"
        self.set_mode(mode)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        cwd: Path,
        allowed_tools: Sequence[str] = (),
        disallowed_tools: Sequence[str] = (),
        permission_mode: str | None = None,
        add_dirs: Sequence[str | Path] = (),
        home: Path | None = None,
    ) -> PermissionPolicy:
        """Settings rules plus ``--allowedTools``/``--disallowedTools``/``--permission-mode``/``--add-dir``.

        The flag mode wins over ``defaultMode``; a bad flag raises ValueError (a usage error),
        a bad ``defaultMode`` only warns, as settings never stop a run.
        """
        cwd = Path(cwd).absolute()
        home = Path.home() if home is None else home
        perms = settings.permissions
        warnings: list[str] = []

        def rules(sourced: Iterable[SourcedRule], cli: Sequence[str]) -> list[Rule]:
            out = [parse_rule(r.rule, source=r.source, base_dir=r.base_dir) for r in sourced]
            return out + [parse_rule(t, source="cliArg", base_dir=cwd) for t in parse_rule_list(cli)]

        mode = "default"
        if permission_mode is not None:
            mode = normalize_mode(permission_mode)
        elif perms.default_mode is not None:
            try:
                mode = normalize_mode(perms.default_mode)
            except ValueError as exc:
                warnings.append(f"Ignoring permissions.defaultMode: {exc}")
        if mode == "bypassPermissions" and perms.disable_bypass_mode:
            warnings.append("bypassPermissions mode is disabled by settings; using default mode.")
            mode = "default"
        dirs = [*perms.additional_directories, *(absolute_path(str(d), cwd=cwd, home=home) for d in add_dirs)]
        policy = cls(
            cwd=cwd,
            allow=rules(perms.allow, allowed_tools),
            ask=rules(perms.ask, ()),
            deny=rules(perms.deny, disallowed_tools),
            mode=mode,
            additional_dirs=dirs,
            home=home,
            bypass_disabled=perms.disable_bypass_mode,
        )
        policy.warnings[:0] = warnings
        return policy

    # -- configuration -----------------------------------------------------------------------

    @property
    def mode(self) -> PermissionMode:
        return self._mode

    def set_mode(self, mode: str) -> None:
        canonical = normalize_mode(mode)
        if canonical == "bypassPermissions" and self.bypass_disabled:
            raise ValueError("bypassPermissions mode is disabled by settings.")
        self._mode = canonical

    @property
    def working_dirs(self) -> tuple[Path, ...]:
        return tuple(self._dirs)

    def add_directories(self, dirs: Iterable[Path]) -> None:
        for d in dirs:
            path = Path(d).absolute()
            if path not in self._dirs:
                self._dirs.append(path)
                self._resolved_dirs.append(path.resolve())

    def add_rules(self, behavior: Behavior, rules: Iterable[Rule | str], *, source: str = "cliArg") -> None:
        """Add rules at run time too, e.g. the ``updatedPermissions`` of a ``can_use_tool`` reply."""
        for item in rules:
            rule = item if isinstance(item, Rule) else parse_rule(item, source=source, base_dir=self.cwd)
            problem = rule_problem(rule)
            if problem is not None:
                self.warnings.append(problem)
            if rule.specifier is not None and rule.tool in _IGNORED_PATH_TOOLS:
                self.warnings.append(
                    f"Permission rule {rule.text!r} is ignored: path rules apply to Read(...) and "
                    f"Edit(...) only; Edit(...) covers every file-editing tool."
                )
            if behavior == "allow" and "*" in rule.tool and not rule.tool.startswith("mcp__"):
                self.warnings.append(
                    f"Allow rule {rule.text!r} never matches: tool-name wildcards in allow rules "
                    "work only after a literal mcp__<server>__ prefix."
                )
            path = None
            if rule.tool in _PATH_TOOLS and rule.specifier is not None:
                path = compile_path_pattern(
                    rule.specifier,
                    behavior=behavior,
                    base_dir=rule.base_dir or self.cwd,
                    cwd=self.cwd,
                    home=self.home,
                )
            self._rules[behavior].append(_Compiled(rule, behavior, path))

    def rules(self, behavior: Behavior) -> list[Rule]:
        return [c.rule for c in self._rules[behavior]]

    def is_hidden(self, tool_name: str) -> bool:
        return bool(hidden_tools(self.rules("deny"), [tool_name]))

    # -- decisions ---------------------------------------------------------------------------

    def decide(
        self, tool_name: str, tool_input: Mapping[str, Any], *, read_only: bool, edits_files: bool
    ) -> Decision:
        if tool_name == "Bash":
            return self._decide_bash(tool_input)
        paths = tuple(tool_paths(tool_name, tool_input, cwd=self.cwd, home=self.home))
        call = _Call(tool_name, tool_input, read_only, edits_files, paths)
        if (hit := self._first_match("deny", call)) is not None:
            return _denied_by(tool_name, hit.rule)
        outside = next((p for p in paths if not self._inside(p)), None) if edits_files else None
        if outside is not None:
            return Decision(
                "deny",
                reason=f"Cannot write to {outside}: it is outside the working directories "
                f"({', '.join(map(str, self._dirs))}). Use --add-dir to grant access to another directory.",
                blocked_path=str(outside),
            )
        if self._mode == "plan" and not read_only and tool_name not in _PLAN_MODE_TOOLS:
            where = f"write to {paths[0]}" if edits_files and paths else f"use {tool_name}"
            return Decision("deny", reason=f"Cannot {where} while in plan mode.")
        if edits_files and not paths:
            return self._ask(
                call, f"Claude requested permissions to use {tool_name}, but no file path was given."
            )
        if (hit := self._first_match("ask", call)) is not None:
            return self._ask(call, rule=hit.rule)
        if (hit := self._first_match("allow", call)) is not None:
            return Decision(
                "allow", rule=hit.rule.text, rule_source=hit.rule.source, reason="Allowed by rule."
            )
        if self._mode == "bypassPermissions" and not (edits_files and self._protected(paths)):
            return Decision("allow", reason="bypassPermissions mode.")
        if edits_files and self._mode == "acceptEdits" and not self._protected(paths):
            return Decision("allow", reason="acceptEdits mode: file edit inside the working directories.")
        if tool_name in NO_PERMISSION_TOOLS:
            return Decision("allow", reason=f"{tool_name} needs no permission.")
        if read_only and tool_name not in NETWORK_TOOLS and all(self._inside(p) for p in paths):
            return Decision("allow", reason="Read-only tool inside the working directories.")
        return self._ask(call)

    def _first_match(self, behavior: Behavior, call: _Call) -> _Compiled | None:
        return next((c for c in self._rules[behavior] if self._matches(c, call)), None)

    def _matches(self, c: _Compiled, call: _Call) -> bool:
        rule, behavior = c.rule, c.behavior
        if rule.tool in _PATH_TOOLS:
            return self._path_rule_matches(c, call)
        if rule.specifier is not None and rule.tool in _IGNORED_PATH_TOOLS:
            return False
        if not tool_name_matches(rule.tool, call.tool, behavior):
            return False
        if rule.specifier is None:
            return True
        if behavior != "allow" and (param := param_matches(rule.specifier, call.input)) is not None:
            return param
        return content_matches(rule, call.tool, call.input)

    def _path_rule_matches(self, c: _Compiled, call: _Call) -> bool:
        """``Edit`` rules cover every editing tool; ``Read`` rules every reading tool with a path.

        A Read deny or ask also covers edits of the path, and an Edit allow also lets the path be
        read. An allow must cover every path of the call, a deny or ask any one of them.
        """
        rule, behavior = c.rule, c.behavior
        reads = call.read_only and bool(call.paths)
        if rule.tool == "Edit":
            applies = call.edits_files or (reads and behavior == "allow" and c.path is not None)
        else:
            applies = reads or (call.edits_files and behavior != "allow" and c.path is not None)
        if not applies:
            return False
        if c.path is None:
            return True
        if behavior == "allow":
            return bool(call.paths) and all(c.path.matches(p) for p in call.paths)
        return any(c.path.matches(p) for p in call.paths)

    def _inside(self, path: Path) -> bool:
        return is_inside(path, self._resolved_dirs)

    def _protected(self, paths: Iterable[Path]) -> bool:
        for path in paths:
            resolved = path.resolve()
            for d in self._resolved_dirs:
                if resolved.is_relative_to(d) and PROTECTED_DIRS & set(resolved.relative_to(d).parts):
                    return True
        return False

    def _ask(self, call: _Call, reason: str | None = None, *, rule: Rule | None = None) -> Decision:
        if reason is None:
            reason = _ask_reason(call, self._inside)
        blocked = next((str(p) for p in call.paths if call.edits_files or not self._inside(p)), None)
        if self._mode == "dontAsk":
            return Decision(
                "deny",
                rule=rule.text if rule else None,
                rule_source=rule.source if rule else None,
                reason=f"{reason} Permission mode dontAsk refuses anything not allowed in advance.",
                blocked_path=blocked,
            )
        return Decision(
            "ask",
            rule=rule.text if rule else None,
            rule_source=rule.source if rule else None,
            reason=reason,
            blocked_path=blocked,
        )

    # -- Bash --------------------------------------------------------------------------------

    def _decide_bash(self, tool_input: Mapping[str, Any]) -> Decision:
        call = _Call("Bash", tool_input, False, False, ())
        command = tool_input.get("command")
        if not isinstance(command, str) or not command.strip():
            return self._ask(call, "Claude requested permissions to use Bash, but no command was given.")
        parsed = split_command(command)
        if (rule := self._bash_rule_hit("deny", parsed, tool_input)) is not None:
            return _denied_by("Bash", rule)
        bases = self._cd_bases(parsed)
        if self._mode == "plan" and not self._bash_read_only(parsed, bases):
            return Decision(
                "deny", reason=f"Cannot run {command.strip()!r} while in plan mode: it is not read-only."
            )
        if (rule := self._bash_rule_hit("ask", parsed, tool_input)) is not None:
            return self._ask(call, _bash_ask_reason(command), rule=rule)
        if self._mode == "bypassPermissions":
            return Decision("allow", reason="bypassPermissions mode.")
        bare = next(
            (c.rule for c in self._rules["allow"] if c.rule.tool == "Bash" and c.rule.specifier is None), None
        )
        if bare is not None:
            return Decision("allow", rule=bare.text, rule_source=bare.source, reason="Allowed by rule.")
        if parsed.error is not None or parsed.substitution or bases is None:
            why = parsed.error or ("command substitution" if parsed.substitution else "too many cd commands")
            return self._ask(call, f"{_bash_ask_reason(command)} ({why} needs approval)")
        first_rule: Rule | None = None
        for cmd in parsed.commands:
            allowed, rule = self._subcommand_allowed(cmd, bases)
            if not allowed:
                return self._ask(call, _bash_ask_reason(command))
            first_rule = first_rule or rule
        if first_rule is not None:
            return Decision(
                "allow", rule=first_rule.text, rule_source=first_rule.source, reason="Allowed by rule."
            )
        return Decision("allow", reason="Read-only command.")

    def _bash_rule_hit(
        self, behavior: Behavior, parsed: ParsedCommand, tool_input: Mapping[str, Any]
    ) -> Rule | None:
        """First deny/ask rule matching any simple command, or a redirection target's path."""
        texts = [parsed.source.strip()] + [t for cmd in parsed.commands for t in deny_texts(cmd)]
        for c in self._rules[behavior]:
            rule = c.rule
            if c.path is not None:
                if any(
                    c.path.matches(p) for p in self._redirect_paths(parsed, writes_only=rule.tool == "Edit")
                ):
                    return rule
                continue
            if rule.tool in _PATH_TOOLS or not tool_name_matches(rule.tool, "Bash", behavior):
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

    def _redirect_paths(self, parsed: ParsedCommand, *, writes_only: bool) -> list[Path]:
        out = []
        for cmd in parsed.commands:
            for r in cmd.redirects:
                if r.target is not None and (r.writes_file or (r.reads_file and not writes_only)):
                    out.append(absolute_path(r.target.value, cwd=self.cwd, home=self.home))
        return out

    def _cd_bases(self, parsed: ParsedCommand) -> list[Path] | None:
        """Every directory a later command of the line might run in, or None if too many.

        ``cd`` changes where relative paths point, and which ``cd`` ran depends on ``&&``/``||``
        outcomes we cannot know, so relative paths are checked from each possible directory.
        """
        bases = [self.cwd]
        cds = [cmd.argv[-1] for cmd in parsed.commands if cmd.argv[:1] == ("cd",) and len(cmd.argv) > 1]
        if len(cds) > _MAX_CD:
            return None
        for target in cds:
            bases += [absolute_path(target, cwd=b, home=self.home) for b in bases]
        return list(dict.fromkeys(bases))

    def _bash_read_only(self, parsed: ParsedCommand, bases: list[Path] | None) -> bool:
        if parsed.error is not None or parsed.substitution or bases is None:
            return False
        path_ok = self._path_checker(bases, write=False)
        return all(
            self._redirects_ok(cmd, bases, allow_writes=False) and is_read_only(cmd, path_ok)
            for cmd in parsed.commands
        )

    def _subcommand_allowed(self, cmd: SimpleCommand, bases: list[Path]) -> tuple[bool, Rule | None]:
        if not self._redirects_ok(cmd, bases, allow_writes=True):
            return False, None
        for text in allow_texts(cmd):
            for c in self._rules["allow"]:
                if (
                    c.rule.tool == "Bash"
                    and c.rule.specifier is not None
                    and bash_pattern(c.rule.specifier).fullmatch(text)
                ):
                    return True, c.rule
        if is_read_only(cmd, self._path_checker(bases, write=False)):
            return True, None
        if self._mode == "acceptEdits":
            paths = filesystem_edit_paths(cmd)
            write_ok = self._path_checker(bases, write=True)
            if paths and all(write_ok(p) for p in paths):
                return True, None
        return False, None

    def _redirects_ok(self, cmd: SimpleCommand, bases: list[Path], *, allow_writes: bool) -> bool:
        for r in cmd.redirects:
            if not (r.writes_file or r.reads_file):
                continue  # here-documents, here-strings, descriptor duplication
            if r.target is None or r.target.expands:
                return False
            if r.target.value in _DEVICE_SINKS:
                continue
            if r.writes_file and not (allow_writes and self._path_checker(bases, write=True)(r.target.value)):
                return False
            if r.reads_file and not self._path_checker(bases, write=False)(r.target.value):
                return False
        return True

    def _path_checker(self, bases: list[Path], *, write: bool) -> Callable[[str], bool]:
        """A predicate: may a Bash argument naming this path be read (or written), from every base?

        Reads need the path inside the working directories or under a Read allow rule. Writes
        need it inside them, outside protected dirs, and acceptEdits mode or an Edit allow rule.
        """

        def ok(value: str) -> bool:
            for base in bases:
                path = absolute_path(value, cwd=base, home=self.home)
                call = _Call("Edit" if write else "Read", {}, not write, write, (path,))
                if self._first_match("deny", call) or self._first_match("ask", call):
                    return False
                allowed_by_rule = self._first_match("allow", call) is not None
                if write:
                    if not self._inside(path) or self._protected([path]):
                        return False
                    if not (self._mode == "acceptEdits" or allowed_by_rule):
                        return False
                elif not (self._inside(path) or allowed_by_rule):
                    return False
            return True

        return ok


def _denied_by(tool: str, rule: Rule) -> Decision:
    return Decision(
        "deny",
        rule=rule.text,
        rule_source=rule.source,
        reason=f"Permission to use {tool} has been denied by the rule {rule.text!r} ({rule.source}).",
    )


def _ask_reason(call: _Call, inside: Callable[[Path], bool]) -> str:
    if call.edits_files and call.paths:
        return f"Claude requested permissions to write to {call.paths[0]}, but you haven't granted it yet."
    outside = next((p for p in call.paths if not inside(p)), None)
    if call.read_only and outside is not None:
        return f"Claude requested permissions to read from {outside}, but you haven't granted it yet."
    return f"Claude requested permissions to use {call.tool}, but you haven't granted it yet."


def _bash_ask_reason(command: str) -> str:
    shown = command.strip()
    if len(shown) > 200:
        shown = shown[:200] + "..."
    return f"Claude requested permissions to use Bash with command {shown!r}, but you haven't granted it yet."
