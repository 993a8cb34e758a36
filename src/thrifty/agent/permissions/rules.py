"""Permission rule syntax: parsing ``Tool(specifier)`` strings and matching their parts.

Kept apart from the decision logic in :mod:`policy` so that other parts of thrifty (hook
``if`` conditions, the ``list_permission_rules`` control request) can parse and match a single
rule without building a whole policy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from thrifty.agent.permissions.paths import PathPattern, compile_path_pattern

__all__ = [
    "Behavior",
    "CompiledRule",
    "Decision",
    "Rule",
    "asked",
    "bash_pattern",
    "compile_rule",
    "content_matches",
    "denied_by",
    "param_matches",
    "parse_rule",
    "parse_rule_list",
    "rule_problem",
    "tool_name_matches",
]

Behavior = Literal["allow", "ask", "deny"]

_TOOL_NAME = re.compile(r"^[A-Za-z0-9_*.\-]+$")
_PARAM = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):(.*)$", re.DOTALL)
_MCP_ALLOW_GLOB = re.compile(r"^mcp__[^*]+?__")
#: How rule sources are named to the user.
_SOURCE_NAMES = {"cliArg": "--allowedTools/--disallowedTools", "session": "a permission update"}
#: Legacy and current names of the same tool, so old rules keep working.
_ALIASES = {"Task": "Agent", "Agent": "Task"}


@dataclass(frozen=True)
class Rule:
    """One permission rule and where it came from.

    ``specifier`` is None for rules that cover every use of the tool (``Bash``, ``Bash(*)``,
    ``Bash()``). ``base_dir`` anchors ``/path`` patterns: the directory of the settings source.
    """

    tool: str
    specifier: str | None
    text: str
    source: str = "cliArg"
    base_dir: Path | None = None


@dataclass(frozen=True)
class CompiledRule:
    """A rule ready to match: ``path`` is set for ``Read(...)``/``Edit(...)`` path rules."""

    rule: Rule
    behavior: Behavior
    path: PathPattern | None = None


def compile_rule(rule: Rule, behavior: Behavior, *, cwd: Path, home: Path) -> CompiledRule:
    path = None
    if rule.tool in ("Read", "Edit") and rule.specifier is not None:
        base = rule.base_dir or cwd
        path = compile_path_pattern(rule.specifier, behavior=behavior, base_dir=base, cwd=cwd, home=home)
    return CompiledRule(rule, behavior, path)


@dataclass(frozen=True)
class Decision:
    behavior: Literal["allow", "deny", "ask"]
    #: The text of the rule that decided, if a rule did.
    rule: str | None = None
    #: Why, worded so it can go to the model as the tool result of a refused call.
    reason: str = ""
    rule_source: str | None = None
    blocked_path: str | None = None


def denied_by(tool: str, rule: Rule) -> Decision:
    return Decision(
        "deny",
        rule=rule.text,
        rule_source=rule.source,
        reason=f"Permission to use {tool} has been denied by the rule {rule.text!r} ({rule.source}).",
    )


def asked(
    reason: str, *, dont_ask: bool, rule: Rule | None = None, blocked_path: str | None = None
) -> Decision:
    """An "ask", or in dontAsk mode the denial it turns into."""
    if dont_ask:
        reason += " Permission mode dontAsk refuses anything not allowed in advance."
    return Decision(
        "deny" if dont_ask else "ask",
        rule=rule.text if rule else None,
        rule_source=rule.source if rule else None,
        reason=reason,
        blocked_path=blocked_path,
    )


def parse_rule(text: str, *, source: str = "cliArg", base_dir: Path | None = None) -> Rule:
    text = text.strip()
    open_at = text.find("(")
    if open_at > 0 and text.endswith(")"):
        tool = text[:open_at].strip()
        spec: str | None = text[open_at + 1 : -1].replace("\\(", "(").replace("\\)", ")").strip()
        if spec in ("", "*"):
            spec = None
    else:
        tool, spec = text, None
    return Rule(tool=tool, specifier=spec, text=text, source=source, base_dir=base_dir)


def rule_problem(rule: Rule) -> str | None:
    """Why a rule is malformed, or None.

    A malformed rule is refused, not skipped: a deny rule that silently never matches widens
    what the agent may do, and ``Bash(git diff:*`` is a typo the user should hear about.
    """
    text = rule.text
    depth = 0
    for i, c in enumerate(text):
        escaped = i > 0 and text[i - 1] == "\\"
        if c == "(" and not escaped:
            depth += 1
        elif c == ")" and not escaped:
            depth -= 1
            if depth < 0:
                break
    why = None
    if depth != 0:
        why = "unbalanced parentheses"
    elif "(" in text and not text.endswith(")"):
        why = "text after the closing parenthesis"
    elif not rule.tool or not _TOOL_NAME.match(rule.tool):
        why = "not a tool name"
    if why is None:
        return None
    return (
        f"Malformed permission rule {text!r} (from {_SOURCE_NAMES.get(rule.source, rule.source)}): "
        f"{why}; write Tool or Tool(specifier), e.g. 'Bash(git diff:*)'"
    )


def parse_rule_list(values: Sequence[str]) -> list[str]:
    """Split ``--allowedTools`` style values on commas and whitespace outside parentheses.

    ``["Bash(git diff:*),Read", "Edit"]`` and ``["Bash(npm run build) Read"]`` both work, as
    commander passes each shell word separately and users mix both separators.
    """
    out: list[str] = []
    for value in values:
        depth = 0
        buf: list[str] = []
        for c in value:
            if c == "(":
                depth += 1
            elif c == ")" and depth > 0:
                depth -= 1
            if depth == 0 and (c == "," or c.isspace()):
                if buf:
                    out.append("".join(buf))
                    buf = []
            else:
                buf.append(c)
        if buf:
            out.append("".join(buf))
    return out


def tool_name_matches(pattern: str, tool_name: str, behavior: Behavior) -> bool:
    """Whether a rule's tool part names ``tool_name``.

    ``mcp__server`` covers every tool of that server. Deny and ask rules may use ``*`` anywhere;
    allow rules only after a literal ``mcp__<server>__``, so that ``Bash*`` or ``*`` cannot
    quietly allow everything.
    """
    if pattern == tool_name or _ALIASES.get(pattern) == tool_name:
        return True
    if "*" in pattern:
        if behavior == "allow" and not _MCP_ALLOW_GLOB.match(pattern):
            return False
        return _glob(pattern).fullmatch(tool_name) is not None
    if pattern.startswith("mcp__") and "__" not in pattern[5:]:
        return tool_name.startswith(pattern + "__")
    return False


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(p) for p in pattern.split("*")), re.DOTALL)


@lru_cache(maxsize=1024)
def bash_pattern(spec: str) -> re.Pattern[str]:
    """Compile a Bash specifier to a regex over one simple command's text.

    No ``*`` means an exact command. A trailing ``:*`` (legacy) or `` *`` is a prefix with a word
    boundary that also matches the bare prefix (``git diff *`` matches ``git diff``). Any other
    ``*`` spans anything, spaces included.
    """
    spec = spec.strip()
    if spec.endswith(":*"):
        spec = spec[:-2].rstrip() + " *"
    if not any(q in spec for q in "'\"\\"):
        spec = " ".join(spec.split())
    tail = ""
    if spec.endswith(" *"):
        spec, tail = spec[:-2], "(?: .*)?"
    return re.compile(".*".join(re.escape(p) for p in spec.split("*")) + tail, re.DOTALL)


def param_matches(spec: str, tool_input: Mapping[str, Any]) -> bool | None:
    """``key:value`` against a top-level input field; None when the spec is not such a test.

    ``Bash(run_in_background:true)``. A spec counts as a parameter test only when the key is a
    field of this call's input, so ``Bash(ls:*)`` stays a command prefix.
    """
    m = _PARAM.match(spec)
    if m is None or m.group(1) not in tool_input:
        return None
    value = tool_input[m.group(1)]
    text = value if isinstance(value, str) else json.dumps(value)
    return _glob(m.group(2).strip()).fullmatch(text) is not None


def content_matches(rule: Rule, tool_name: str, tool_input: Mapping[str, Any]) -> bool:
    """Specifiers of tools other than Bash, Read and Edit."""
    spec = rule.specifier
    if spec is None:
        return True
    if tool_name == "WebFetch" and spec.startswith("domain:"):
        url = tool_input.get("url")
        host = urlsplit(url).hostname if isinstance(url, str) else None
        return host is not None and _glob(spec[7:].strip().lower()).fullmatch(host.lower()) is not None
    field = {"Agent": "subagent_type", "Task": "subagent_type", "Skill": "skill"}.get(tool_name)
    if field is not None:
        value = tool_input.get(field)
        return isinstance(value, str) and bash_pattern(spec).fullmatch(value) is not None
    return False
