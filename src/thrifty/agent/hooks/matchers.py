"""Deciding which hook handlers apply: matcher strings and the ``if`` permission-rule condition.

Claude Code's matchers are JavaScript regexes unless they look like plain names; Python's ``re``
agrees with JavaScript on everything hook authors write in practice (alternation, classes,
anchors, ``.*``), so ``re.search`` stands in for it. A matcher that does not compile matches
nothing rather than everything: a broken filter should not fire a hook on every event.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from thrifty.tools import registry

_PLAIN = re.compile(r"^[A-Za-z0-9_\- ,|]*$")

# The input field each event's matcher is tested against. Events not listed have no matcher
# field, and every group configured for them runs, as in Claude Code.
MATCH_FIELDS: dict[str, str] = {
    "PreToolUse": "tool_name",
    "PostToolUse": "tool_name",
    "PostToolUseFailure": "tool_name",
    "PermissionRequest": "tool_name",
    "PermissionDenied": "tool_name",
    "SessionStart": "source",
    "SessionEnd": "reason",
    "PreCompact": "trigger",
    "PostCompact": "trigger",
    "Notification": "notification_type",
    "SubagentStart": "agent_type",
    "SubagentStop": "agent_type",
    "ConfigChange": "source",
}

TOOL_EVENTS = frozenset(
    {"PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest", "PermissionDenied"}
)


@functools.lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def matcher_is_valid(matcher: str | None) -> bool:
    if matcher is None or matcher in ("", "*") or _PLAIN.match(matcher):
        return True
    return _compile(matcher) is not None


def matches(matcher: str | None, value: str | None) -> bool:
    """Whether a group's ``matcher`` selects an event whose match field is ``value``.

    ``value`` of ``None`` means the event has no match field, so every group applies.
    """
    if value is None or matcher is None or matcher in ("", "*"):
        return True
    if _PLAIN.match(matcher):
        names = {n.strip() for n in re.split(r"[|,]", matcher)}
        return value in names - {""}
    compiled = _compile(matcher)
    return compiled is not None and compiled.search(value) is not None


# ---------------------------------------------------------------------------------------------
# ``if`` conditions: one permission rule, checked on tool events only. The permission engine can
# be injected into the runner; this fallback covers the rule forms hook configs actually use.
# The field a specifier tests is the tool's declared ``primary_field`` (``tools.registry``).

_EDIT_TOOLS = frozenset({"Edit", "Write", "MultiEdit", "NotebookEdit"})
_RULE = re.compile(r"^\s*([^()\s]+)\s*(?:\((.*)\))?\s*$", re.DOTALL)
_SUBCOMMAND_SPLIT = re.compile(r"\s*(?:&&|\|\||;|\||\n)\s*")


def _command_glob(spec: str) -> re.Pattern[str]:
    if spec.endswith(":*"):
        spec = spec[:-2] + " *"
    tail = ""
    if spec.endswith(" *"):
        spec, tail = spec[:-2], r"(?:\s.*)?"
    body = ".*".join(re.escape(part) for part in spec.split("*"))
    return re.compile(body + tail, re.DOTALL)


def _path_glob(spec: str, cwd: Path, home: Path) -> re.Pattern[str]:
    if spec.startswith("//"):
        base, rel = Path("/"), spec[2:]
    elif spec.startswith("~/"):
        base, rel = home, spec[2:]
    elif spec.startswith("/"):
        base, rel = cwd, spec[1:]
    else:
        base, rel = cwd, spec.removeprefix("./")
    parts: list[str] = []
    wildcards = {"**": ".*", "**/": "(?:.*/)?", "*": "[^/]*", "?": "[^/]"}
    for piece in re.split(r"(\*\*/?|\*|\?)", rel):
        parts.append(wildcards.get(piece) or re.escape(piece))
    body = "".join(parts)
    if "/" not in rel.rstrip("/"):
        # gitignore: a bare name matches at any depth under the base.
        return re.compile(re.escape(str(base).rstrip("/")) + "/(?:.*/)?" + body + "(?:/.*)?")
    return re.compile(re.escape(str(base).rstrip("/")) + "/" + body + "(?:/.*)?")


def rule_matches(
    rule: str, tool_name: str, tool_input: Mapping[str, Any], *, cwd: Path, home: Path | None = None
) -> bool:
    """A best-effort evaluation of one permission rule such as ``Bash(git push *)``."""
    m = _RULE.match(rule)
    if m is None:
        return False
    name, spec = m.group(1), m.group(2)
    name_ok = name == tool_name or fnmatch.fnmatchcase(tool_name, name)
    if not name_ok and not (name == "Edit" and tool_name in _EDIT_TOOLS):
        return False
    if spec is None or spec.strip() in ("", "*"):
        return True
    spec = spec.strip()
    if ":" in spec and not spec.endswith(":*") and tool_name != "Bash":
        key, _, want = spec.partition(":")
        if key == "domain":
            host = urlsplit(str(tool_input.get("url", ""))).hostname or ""
            return fnmatch.fnmatchcase(host, want)
        if key in tool_input:
            return str(tool_input[key]).lower() == want.lower()
    field = registry.primary_field(tool_name)
    value = tool_input.get(field or "", "")
    if not isinstance(value, str):
        return False
    if tool_name == "Bash":
        pattern = _command_glob(spec)
        candidates = [value.strip(), *_SUBCOMMAND_SPLIT.split(value.strip())]
        return any(pattern.fullmatch(c) for c in candidates if c)
    if registry.is_path_field(tool_name, field):
        path = Path(value).expanduser()
        absolute = str(path if path.is_absolute() else cwd / path)
        return _path_glob(spec, cwd, home or Path.home()).fullmatch(absolute) is not None
    return fnmatch.fnmatchcase(value, spec)
