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
host), so this module never talks to a user. Bash has its own path (:mod:`thrifty.agent.bash.permissions`):
the line is split into simple commands, deny and ask rules match if any command matches, and an
allow needs every command allowed, by a rule or by being read-only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from thrifty.agent.permissions.paths import absolute_path, is_inside, resolved, tool_paths
from thrifty.agent.permissions.rules import (
    Behavior,
    CompiledRule,
    Decision,
    Rule,
    asked,
    compile_rule,
    content_matches,
    denied_by,
    param_matches,
    parse_rule,
    parse_rule_list,
    rule_problem,
    tool_name_matches,
)
from thrifty.agent.settings import Settings, SourcedRule

__all__ = [
    "NETWORK_TOOLS",
    "NO_PERMISSION_TOOLS",
    "PERMISSION_MODES",
    "PROTECTED_DIRS",
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


def normalize_mode(mode: str) -> PermissionMode:
    """Canonical mode name (``manual`` is ``default``); ValueError for an unknown one."""
    canonical = _MODE_ALIASES.get(mode, mode)
    for known in PERMISSION_MODES:
        if canonical == known:
            return known
    raise ValueError(f"Unknown permission mode {mode!r}; expected one of {', '.join(PERMISSION_MODES)}.")


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
    """The rules, mode and working directories of one session.

    Mutable on purpose: the control protocol switches modes (``set_permission_mode``) and a
    ``can_use_tool`` reply may add rules or directories while the session runs.
    """

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
        self._rules: dict[Behavior, list[CompiledRule]] = {"allow": [], "ask": [], "deny": []}
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

        The flag mode wins over ``defaultMode``; a bad flag or a malformed rule from any source
        raises ValueError (a usage error); a bad ``defaultMode`` only warns.
        """
        cwd = Path(cwd).absolute()
        home = Path.home() if home is None else home
        perms = settings.permissions
        warnings: list[str] = []

        def rules(sourced: Iterable[SourcedRule], cli: Sequence[str]) -> list[Rule]:
            out = [parse_rule(r.rule, source=r.source, base_dir=r.base_dir) for r in sourced]
            out += [parse_rule(t, source="cliArg", base_dir=cwd) for t in parse_rule_list(cli)]
            for rule in out:
                if (problem := rule_problem(rule)) is not None:
                    raise ValueError(problem)
            return out

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
                self._resolved_dirs.append(resolved(path))

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
            self._rules[behavior].append(compile_rule(rule, behavior, cwd=self.cwd, home=self.home))

    def rules(self, behavior: Behavior) -> list[Rule]:
        return [c.rule for c in self._rules[behavior]]

    def compiled(self, behavior: Behavior) -> Sequence[CompiledRule]:
        return self._rules[behavior]

    def is_hidden(self, tool_name: str) -> bool:
        return bool(hidden_tools(self.rules("deny"), [tool_name]))

    # -- decisions ---------------------------------------------------------------------------

    def decide(
        self,
        tool_name: str,
        tool_input: Mapping[str, Any],
        *,
        read_only: bool,
        edits_files: bool,
        path_keys: Sequence[str] | None = None,
    ) -> Decision:
        """``path_keys`` is the tool's ``Tool.path_keys``; ``None`` looks the name up instead
        (a built-in's declaration, else the generic keys: see ``tools.registry.path_keys``)."""
        if tool_name == "Bash":
            # The command parser loads with the first Bash call: a run without one never needs it.
            from thrifty.agent.bash.permissions import decide_bash

            return decide_bash(self, tool_input)
        paths = tuple(tool_paths(tool_name, tool_input, cwd=self.cwd, home=self.home, keys=path_keys))
        call = _Call(tool_name, tool_input, read_only, edits_files, paths)
        if (hit := self._first_match("deny", call)) is not None:
            return denied_by(tool_name, hit.rule)
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

    def _first_match(self, behavior: Behavior, call: _Call) -> CompiledRule | None:
        return next((c for c in self._rules[behavior] if self._matches(c, call)), None)

    def _matches(self, c: CompiledRule, call: _Call) -> bool:
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

    def _path_rule_matches(self, c: CompiledRule, call: _Call) -> bool:
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
            real = resolved(path)
            for d in self._resolved_dirs:
                if real.is_relative_to(d) and PROTECTED_DIRS & set(real.relative_to(d).parts):
                    return True
        return False

    def path_permitted(self, path: Path, *, write: bool) -> bool:
        """May a Bash command read (or write) this path without asking?

        Reads need the path inside the working directories or under a Read allow rule; writes
        need it inside them, outside protected directories, and acceptEdits mode or an Edit allow
        rule. A Read/Edit deny or ask rule on the path always says no.
        """
        call = _Call("Edit" if write else "Read", {}, not write, write, (path,))
        if self._first_match("deny", call) or self._first_match("ask", call):
            return False
        by_rule = self._first_match("allow", call) is not None
        if not write:
            return by_rule or self._inside(path)
        if not self._inside(path) or self._protected([path]):
            return False
        return by_rule or self._mode == "acceptEdits"

    def _ask(self, call: _Call, reason: str | None = None, *, rule: Rule | None = None) -> Decision:
        blocked = next((str(p) for p in call.paths if call.edits_files or not self._inside(p)), None)
        return asked(
            reason or _ask_reason(call, self._inside),
            dont_ask=self._mode == "dontAsk",
            rule=rule,
            blocked_path=blocked,
        )


def _ask_reason(call: _Call, inside: Callable[[Path], bool]) -> str:
    if call.edits_files and call.paths:
        return f"Claude requested permissions to write to {call.paths[0]}, but you haven't granted it yet."
    outside = next((p for p in call.paths if not inside(p)), None)
    if call.read_only and outside is not None:
        return f"Claude requested permissions to read from {outside}, but you haven't granted it yet."
    return f"Claude requested permissions to use {call.tool}, but you haven't granted it yet."
