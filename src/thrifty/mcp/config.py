"""MCP servers as configured: ``--mcp-config`` values, the servers Claude Code's own config files
name (``discover``), ``${VAR}`` expansion, and each server's status record.

Light on purpose (``json`` and ``pathlib`` only): a session looks here for servers before it
decides to load the client and the ``mcp`` package.

Where servers come from, as in Claude Code, lowest precedence first (a later one of the same
name wins): user scope (``mcpServers`` in ``~/.claude.json``, or ``$CLAUDE_CONFIG_DIR/.claude.json``),
project scope (``.mcp.json`` in the working directory), local scope (that file's
``projects[<dir>].mcpServers`` for the working directory or the nearest one above it), and
``--mcp-config`` / SDK ``mcp_servers`` over all. Each file scope is read only when its settings
source is (``--setting-sources``); ``--bare`` and ``--strict-mcp-config`` read none of them.

Project servers need approval, as in Claude Code: one is loaded when settings enable it
(``enableAllProjectMcpServers``, or its name in ``enabledMcpjsonServers``) and
``disabledMcpjsonServers`` does not name it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_FILE = ".mcp.json"
STATE_FILE = ".claude.json"


class McpConfigError(ValueError):
    """``--mcp-config`` is neither a JSON object nor a readable JSON file."""


def parse_mcp_config(values: list[str]) -> dict[str, dict[str, Any]]:
    """Merge every ``--mcp-config`` value (inline JSON or a file path) into ``{name: config}``."""
    servers: dict[str, dict[str, Any]] = {}
    for value in values:
        text = value
        if not value.lstrip().startswith("{"):
            try:
                text = Path(value).expanduser().read_text("utf-8")
            except OSError as exc:
                raise McpConfigError(f"--mcp-config: cannot read {value}: {exc.strerror}") from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise McpConfigError(f"--mcp-config is not valid JSON ({exc.msg})") from exc
        block = data.get("mcpServers") if isinstance(data, dict) else None
        if not isinstance(block, dict):
            raise McpConfigError('--mcp-config must be a JSON object with "mcpServers": {name: config}')
        for name, config in block.items():
            if not isinstance(config, dict):
                raise McpConfigError(f"--mcp-config: server {name!r} must be an object")
            servers[str(name)] = config
    return servers


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class MissingVariable(ValueError):
    """A config value names an environment variable that is not set and has no default."""


def expand(value: Any, environ: Mapping[str, str]) -> Any:
    """``value`` with ``${VAR}`` / ``${VAR:-default}`` replaced, in strings, lists and dicts."""
    if isinstance(value, str):

        def one(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            found = environ.get(name)
            if found is not None and (found or default is None):
                return found
            if default is not None:
                return default
            raise MissingVariable(f"environment variable {name} is not set")

        return _VAR.sub(one, value)
    if isinstance(value, list):
        return [expand(v, environ) for v in value]
    if isinstance(value, dict):
        return {k: expand(v, environ) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Approvals:
    """What settings say about ``.mcp.json`` servers."""

    enable_all: bool = False
    enabled: frozenset[str] = frozenset()
    disabled: frozenset[str] = frozenset()

    @classmethod
    def from_layers(cls, layers: Iterable[Mapping[str, Any]]) -> Approvals:
        """From each settings layer's data: any ``enableAllProjectMcpServers: true``, and the
        lists of every layer together."""
        enable_all, enabled, disabled = False, set[str](), set[str]()
        for data in layers:
            enable_all = enable_all or data.get("enableAllProjectMcpServers") is True
            for key, into in (("enabledMcpjsonServers", enabled), ("disabledMcpjsonServers", disabled)):
                names = data.get(key)
                if isinstance(names, list):
                    into.update(str(n) for n in names)
        return cls(enable_all, frozenset(enabled), frozenset(disabled))

    def allows(self, name: str) -> bool:
        return name not in self.disabled and (self.enable_all or name in self.enabled)


def project_servers(cwd: Path, approvals: Approvals) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The approved servers of ``cwd/.mcp.json``, and notes on what was left out and why."""
    path = cwd / PROJECT_FILE
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}, []
    except (OSError, ValueError) as exc:
        return {}, [f"{PROJECT_FILE} ignored: cannot read it ({type(exc).__name__})"]
    block = data.get("mcpServers") if isinstance(data, dict) else None
    if not isinstance(block, dict):
        return {}, [f'{PROJECT_FILE} ignored: it needs "mcpServers": {{name: config}}']
    servers: dict[str, dict[str, Any]] = {}
    pending: list[str] = []
    for name, config in block.items():
        if not isinstance(config, dict):
            continue
        if approvals.allows(str(name)):
            servers[str(name)] = config
        elif str(name) not in approvals.disabled:
            pending.append(str(name))
    notes = []
    if pending:
        notes.append(
            f"{PROJECT_FILE} server(s) {', '.join(pending)} not approved; enable them in settings "
            "(enabledMcpjsonServers or enableAllProjectMcpServers)"
        )
    return servers, notes


def state_file(home: Path, environ: Mapping[str, str]) -> Path:
    """Claude Code's ``.claude.json``: in ``$CLAUDE_CONFIG_DIR`` when set, else in ``home``."""
    configured = environ.get("CLAUDE_CONFIG_DIR")
    return Path(configured).expanduser() / STATE_FILE if configured else home / STATE_FILE


def _servers_block(data: Any) -> dict[str, dict[str, Any]]:
    block = data.get("mcpServers") if isinstance(data, dict) else None
    if not isinstance(block, dict):
        return {}
    return {str(n): c for n, c in block.items() if isinstance(c, dict)}


def _local_block(state: Any, cwd: Path) -> dict[str, dict[str, Any]]:
    projects = state.get("projects") if isinstance(state, dict) else None
    if not isinstance(projects, dict):
        return {}
    for directory in (cwd, *cwd.parents):
        if str(directory) in projects:
            return _servers_block(projects[str(directory)])
    return {}


def discover(
    cwd: Path,
    *,
    home: Path,
    environ: Mapping[str, str],
    sources: Collection[str],
    approvals: Approvals | Callable[[], Approvals],
) -> tuple[dict[str, tuple[str, dict[str, Any]]], list[str]]:
    """The servers of Claude Code's config files for ``sources`` (``user``, ``project``,
    ``local``): name -> (scope, config), and notes on what was left out. ``approvals`` may be a
    function, called only when there is a ``.mcp.json`` to approve."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    notes: list[str] = []
    state: Any = None
    if {"user", "local"} & set(sources):
        path = state_file(home, environ)
        if path.is_file():
            try:
                state = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError) as exc:
                notes.append(f"{path.name} ignored: cannot read it ({type(exc).__name__})")
    if "user" in sources:
        found.update((n, ("user", c)) for n, c in _servers_block(state).items())
    if "project" in sources and (cwd / PROJECT_FILE).is_file():
        approved = approvals() if callable(approvals) else approvals
        project, project_notes = project_servers(cwd, approved)
        found.update((n, ("project", c)) for n, c in project.items())
        notes.extend(project_notes)
    if "local" in sources:
        found.update((n, ("local", c)) for n, c in _local_block(state, cwd).items())
    return found, notes


def server_type(config: dict[str, Any]) -> str:
    """``type`` as given; else ``stdio`` for a ``command``, ``http`` for a ``url`` (Claude Code's)."""
    kind = config.get("type")
    if isinstance(kind, str):
        return kind
    return "http" if "url" in config and "command" not in config else "stdio"


#: Config keys whose values may hold secrets (tokens in headers, keys in env): shown as keys only.
SECRET_KEYS = ("env", "headers")
REDACTED = "[redacted]"


def shown_config(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` as ``mcp_status`` may show it: ``env`` and ``headers`` values hidden."""
    shown = dict(config)
    for key in SECRET_KEYS:
        if isinstance(shown.get(key), dict):
            shown[key] = dict.fromkeys(shown[key], REDACTED)
    return shown


@dataclass
class McpServer:
    """One configured server and what its handshake found (``mcp_status``, ``system/init``)."""

    name: str
    config: dict[str, Any]
    #: Where it was configured: ``dynamic`` (``--mcp-config``, SDK options), ``user``, ``project``
    #: (``.mcp.json``) or ``local``.
    scope: str = "dynamic"
    status: str = "pending"
    error: str | None = None
    server_info: dict[str, Any] | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    #: Problems worth a line on stderr (a tool whose schema could not be used).
    warnings: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return server_type(self.config)

    def init_entry(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status}

    def status_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": self.name, "status": self.status}
        if self.server_info is not None:
            entry["serverInfo"] = self.server_info
        if self.error is not None:
            entry["error"] = self.error
        entry["config"] = shown_config(self.config)
        entry["scope"] = self.scope
        entry["transport"] = self.kind
        if self.status == "connected":
            entry["tools"] = [
                {k: t[k] for k in ("name", "description", "annotations") if k in t} for t in self.tools
            ]
        return entry
