"""The ``updatedPermissions`` of an allowed tool call, applied to the running session.

One function for both hosts, so an update means the same thing whichever asked: the control
protocol's ``can_use_tool`` answer (wire dicts, as the official Agent SDK sends them) and the
SDK's ``PermissionResultAllow`` (whose ``PermissionUpdate`` converts itself to the same dict).

``setMode``, ``addRules`` and ``addDirectories`` take effect for the rest of the session whatever
the ``destination``: thrifty never writes a settings file on a host's say-so. An update thrifty
cannot apply (another type, a malformed one, a mode the session refuses) is skipped and
returned, for each front end to report its own way (the SDK warns, the CLI keeps stderr quiet):
the host allowed the call, and that answer stands.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from thrifty.agent.session import Session

__all__ = ["apply_permission_updates"]

_BEHAVIORS = ("allow", "deny", "ask")


def _rule(value: Any) -> str | None:
    """``{"toolName": "Bash", "ruleContent": "npm test"}`` -> ``Bash(npm test)``."""
    tool = value.get("toolName") if isinstance(value, dict) else None
    if not isinstance(tool, str):
        return None
    content = value.get("ruleContent")
    return tool + (f"({content})" if isinstance(content, str) and content else "")


def apply_permission_updates(session: Session, updates: Iterable[Any]) -> list[str]:
    """Apply what can be applied; why each other update was skipped, in one line each."""
    policy = session.prepared.policy
    skipped: list[str] = []
    for update in updates:
        kind = update.get("type") if isinstance(update, dict) else None
        if kind == "setMode" and isinstance(update.get("mode"), str):
            try:
                session.set_permission_mode(update["mode"])
            except ValueError as exc:
                skipped.append(f"permission update setMode ignored: {exc}")
        elif kind == "addRules" and update.get("behavior") in _BEHAVIORS:
            rules = [r for r in map(_rule, update.get("rules") or []) if r is not None]
            policy.add_rules(update["behavior"], rules, source="session")
        elif kind == "addDirectories" and isinstance(update.get("directories"), list):
            dirs = [d for d in update["directories"] if isinstance(d, str) and d]
            policy.add_directories(policy.cwd / Path(d).expanduser() for d in dirs)
        else:
            skipped.append(f"permission update {kind!r} is not supported by thrifty; ignored")
    return skipped
