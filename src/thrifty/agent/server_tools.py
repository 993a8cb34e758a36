"""WebSearch and WebFetch as the API's server tools, offered under Claude Code's permission rules.

The API runs a server tool itself, inside one request, so no call of it can be stopped to ask
anyone: thrifty sends a server tool only when its use is approved in advance, and turns the
rules into the tool's own limits.

- ``WebSearch``: sent when the permission policy allows it outright (an allow rule ``WebSearch``,
  or ``bypassPermissions``); a deny or ask rule, or no rule in any other mode, leaves it out.
- ``WebFetch``: a bare allow rule (or ``bypassPermissions``) sends it unrestricted; allow rules
  ``WebFetch(domain:x)`` become ``allowed_domains``; deny and ask rules ``WebFetch(domain:x)``
  become ``blocked_domains``. ``*.example.com`` is ``example.com`` (the API always includes
  subdomains). A bare deny or ask, or a domain pattern the API cannot express, leaves it out.
- Both are offered only to models that have them (``MODEL_SERVER_TOOLS``), only when ``--tools``
  (``options.tools``) names them or is not given, and never in a bare session.

The blocks the API returns (``server_tool_use``, ``web_search_tool_result``,
``web_fetch_tool_result``) stay in the history as received; their per-use fees are read from
``usage.server_tool_use`` by the meter like any other usage.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from thrifty.agent.permissions.policy import PermissionPolicy
from thrifty.agent.permissions.rules import Behavior, Rule, tool_name_matches

__all__ = [
    "FETCH_TYPE",
    "MAX_USES",
    "SEARCH_TYPE",
    "SERVER_TOOL_NAMES",
    "model_server_tools",
    "server_tool_definitions",
    "web_tool_name",
]

WEB_SEARCH = "WebSearch"
WEB_FETCH = "WebFetch"
#: Claude Code's names for the tools, as users write them in rules and ``--tools``.
SERVER_TOOL_NAMES = (WEB_SEARCH, WEB_FETCH)
#: The tool versions sent (wire spec 2.3), and the API's names for them.
SEARCH_TYPE = "web_search_20250305"
FETCH_TYPE = "web_fetch_20250910"
_API_NAMES = {WEB_SEARCH: "web_search", WEB_FETCH: "web_fetch"}
_TYPES = {WEB_SEARCH: SEARCH_TYPE, WEB_FETCH: FETCH_TYPE}
#: Uses per request, as Claude Code's own nested search sends (``max_uses: 8``).
MAX_USES = 8

#: Model ids (a prefix match) and the server tools they have (``capabilities.server_tools`` of
#: ``GET /v1/models``). A model not listed (older models, other providers' ids) gets neither.
MODEL_SERVER_TOOLS: tuple[tuple[re.Pattern[str], frozenset[str]], ...] = (
    (re.compile(r"^claude-(?:opus|sonnet|haiku|fable|mythos)-[4-9]"), frozenset({WEB_SEARCH, WEB_FETCH})),
    (re.compile(r"^claude-(?:3-7-sonnet|3-5-haiku)"), frozenset({WEB_SEARCH, WEB_FETCH})),
    (re.compile(r"^claude-3-5-sonnet-20241022"), frozenset({WEB_SEARCH})),
)
_HOST = re.compile(r"^(?:\*\.)?([a-z0-9-]+(?:\.[a-z0-9-]+)+)$")


def web_tool_name(tool_type: str) -> str | None:
    """Claude Code's name for a server tool ``type`` (``web_search_20250305``: ``WebSearch``)."""
    for name, sent in _TYPES.items():
        if tool_type.split("_20")[0] == sent.split("_20")[0]:
            return name
    return None


def model_server_tools(model: str) -> frozenset[str]:
    """The web tools ``model`` has (Claude Code's names)."""
    for pattern, tools in MODEL_SERVER_TOOLS:
        if pattern.match(model):
            return tools
    return frozenset()


def server_tool_definitions(
    policy: PermissionPolicy, model: str, wanted: Sequence[str] | None, *, bare: bool = False
) -> list[dict[str, Any]]:
    """The server tools for the request's ``tools`` array (none for a bare session).

    ``wanted`` is ``options.tools``: None offers every tool the model has, a list only those it
    names.
    """
    if bare:
        return []
    names = [n for n in SERVER_TOOL_NAMES if wanted is None or n in wanted]
    out: list[dict[str, Any]] = []
    for name in names:
        if name not in model_server_tools(model) or policy.is_hidden(name):
            continue
        tool = _search(policy) if name == WEB_SEARCH else _fetch(policy)
        if tool is not None:
            out.append({"type": _TYPES[name], "name": _API_NAMES[name], "max_uses": MAX_USES, **tool})
    return out


def _search(policy: PermissionPolicy) -> dict[str, Any] | None:
    decision = policy.decide(WEB_SEARCH, {"query": ""}, read_only=True, edits_files=False, path_keys=())
    return {} if decision.behavior == "allow" else None


def _fetch(policy: PermissionPolicy) -> dict[str, Any] | None:
    def rules(behavior: Behavior) -> list[Rule]:
        return [r for r in policy.rules(behavior) if tool_name_matches(r.tool, WEB_FETCH, behavior)]

    refused = rules("deny") + rules("ask")
    if any(r.specifier is None for r in refused):
        return None
    blocked = _domains(refused)
    allows = rules("allow")
    if blocked is None:
        return None  # a deny the API cannot express: better no fetching than too much
    if any(_everywhere(r) for r in allows) or policy.mode == "bypassPermissions":
        return {"blocked_domains": blocked} if blocked else {}
    allowed = _domains(allows, skip_unknown=True) or []
    allowed = [d for d in allowed if d not in blocked]
    if not allowed:
        return None
    if any(_within(b, allowed) for b in blocked):
        return None  # allowed_domains and blocked_domains cannot go together
    return {"allowed_domains": allowed}


def _domains(rules: Iterable[Rule], *, skip_unknown: bool = False) -> list[str] | None:
    """The hosts of ``domain:`` rules; None when one cannot be expressed (unless skipped)."""
    out: list[str] = []
    for rule in rules:
        spec = (rule.specifier or "").strip().lower()
        m = _HOST.match(spec[7:].strip()) if spec.startswith("domain:") else None
        if m is None:
            if skip_unknown:
                continue
            return None
        if m.group(1) not in out:
            out.append(m.group(1))
    return out


def _everywhere(rule: Rule) -> bool:
    spec = (rule.specifier or "").replace(" ", "").lower()
    return rule.specifier is None or spec == "domain:*"


def _within(host: str, domains: Iterable[str]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)
