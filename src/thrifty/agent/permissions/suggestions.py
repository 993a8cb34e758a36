"""The ``permission_suggestions`` of a permission ask: updates that would have allowed the call.

A host (``can_use_tool``) may hand them back as ``updatedPermissions`` to stop being asked again.
Their shapes are Claude Code's, as captured from the bundled CLI (2.1.33x):

- Bash: ``addRules`` of ``Bash(<first two words> *)`` for each simple command (``npm test`` gives
  ``npm test *``), behavior ``allow``, destination ``localSettings``;
- WebFetch: ``addRules`` of ``WebFetch(domain:<host>)``;
- a file edit: ``setMode`` ``acceptEdits`` for the session, plus ``addDirectories`` with the
  file's directory when it is outside the working directories;
- a read outside the working directories: ``addDirectories`` with the directory;
- any other tool (MCP, custom, Agent): ``addRules`` of the bare tool name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from thrifty.agent.permissions.paths import absolute_path, is_inside, resolved
from thrifty.agent.permissions.policy import PermissionPolicy
from thrifty.tools import registry

__all__ = ["suggestions"]

_SEPARATORS = re.compile(r"\s*(?:&&|\|\||;|\|)\s*")
_LOCAL = "localSettings"


def _add_rules(tool: str, contents: list[str | None]) -> dict[str, Any]:
    rules = [{"toolName": tool, **({"ruleContent": c} if c else {})} for c in contents]
    return {"type": "addRules", "destination": _LOCAL, "rules": rules, "behavior": "allow"}


def _bash_prefix(command: str) -> str | None:
    words = command.split()
    if not words:
        return None
    head = words[:2] if len(words) > 1 and not words[1].startswith(("-", "/", ".", "~", "$")) else words[:1]
    return " ".join(head) + " *"


def suggestions(
    tool_name: str, tool_input: Mapping[str, Any], policy: PermissionPolicy | None
) -> list[dict[str, Any]]:
    """The updates to offer with an ask about this call (wire dicts, as Claude Code sends them)."""
    if tool_name == "Bash":
        command = tool_input.get("command")
        prefixes = [_bash_prefix(c) for c in _SEPARATORS.split(command)] if isinstance(command, str) else []
        wanted = list(dict.fromkeys(p for p in prefixes if p))
        return [_add_rules("Bash", list(wanted))] if wanted else []
    if tool_name == "WebFetch":
        url = tool_input.get("url")
        host = urlsplit(url).hostname if isinstance(url, str) else None
        return [_add_rules("WebFetch", [f"domain:{host}"])] if host else []
    spec = registry.SPECS.get(tool_name)
    keys = registry.path_keys(tool_name)
    paths = [tool_input[k] for k in keys if isinstance(tool_input.get(k), str) and tool_input[k]]
    if spec is None or not keys:
        return [_add_rules(tool_name, [None])]
    out: list[dict[str, Any]] = []
    if spec.edits_files:
        out.append({"type": "setMode", "destination": "session", "mode": "acceptEdits"})
    outside = _outside(paths, policy, is_file=tool_name in ("Read", "Edit", "Write"))
    if outside:
        out.append({"type": "addDirectories", "destination": "session", "directories": outside})
    return out


def _outside(paths: list[str], policy: PermissionPolicy | None, *, is_file: bool) -> list[str]:
    if policy is None:
        return []
    dirs = [resolved(d) for d in policy.working_dirs]
    out: list[str] = []
    for raw in paths:
        path = absolute_path(raw, cwd=policy.cwd, home=policy.home)
        folder = path.parent if is_file else path
        if not is_inside(path, dirs) and str(folder) not in out:
            out.append(str(Path(folder)))
    return out
