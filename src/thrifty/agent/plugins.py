"""Local plugins (``--plugin-dir DIR``, SDK ``plugins=[{"type": "local", "path": DIR}]``).

A plugin is a directory laid out as Claude Code's: ``.claude-plugin/plugin.json`` (its manifest:
``name``, ``description``, ``version``, ``author``), and any of ``commands/**/*.md``,
``agents/*.md``, ``skills/<name>/SKILL.md``, ``hooks/hooks.json`` and ``.mcp.json``. This module
only finds plugins and reads their manifests and the two JSON files; each component is then read
by the loader that already reads it from ``.claude`` (the catalog, the agent files, the hooks
runner, the MCP servers), under the plugin's name as a namespace: ``/demo:greet``, the agent
``demo:helper``, the MCP server ``plugin:demo:calc``.

A plugin that cannot be loaded does not stop the run, as in Claude Code 2.1.337: it is left out,
reported in ``system/init``'s ``plugin_errors`` (Claude Code's shape) and in one line on stderr.

Imported only when a run names a plugin, so a run without one pays nothing for it.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ROOT_VARIABLE", "Plugin", "Plugins", "load_plugins", "plugin_hooks", "plugin_mcp_servers"]

log = logging.getLogger("thrifty.agent.plugins")

MANIFEST = Path(".claude-plugin") / "plugin.json"
#: Expanded in a plugin's hook commands and MCP server configs, and set in its hooks' environment.
ROOT_VARIABLE = "CLAUDE_PLUGIN_ROOT"
_ROOT_FORMS = ("${" + ROOT_VARIABLE + "}", "$" + ROOT_VARIABLE)


@dataclass(frozen=True)
class Plugin:
    """One loaded plugin: its name (the namespace of its parts), its directory and manifest."""

    name: str
    root: Path
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str | None:
        version = self.manifest.get("version")
        return version if isinstance(version, str) and version else None

    def init_entry(self) -> dict[str, str]:
        """``system/init``'s ``plugins[]`` entry, as Claude Code writes it for ``--plugin-dir``."""
        entry = {"name": self.name, "path": str(self.root), "source": f"{self.name}@inline"}
        if self.version is not None:
            entry["version"] = self.version
        return entry

    def expand(self, text: str) -> str:
        """``${CLAUDE_PLUGIN_ROOT}`` (and ``$CLAUDE_PLUGIN_ROOT``) replaced by the plugin's directory."""
        for form in _ROOT_FORMS:
            text = text.replace(form, str(self.root))
        return text


@dataclass
class Plugins:
    """The session's plugins, in the order given, and what went wrong with the others."""

    plugins: list[Plugin] = field(default_factory=list)
    #: Claude Code's ``plugin_errors`` entries: ``{plugin, type, message, path}``.
    errors: list[dict[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.plugins or self.errors)

    @property
    def roots(self) -> list[tuple[str, Path]]:
        """(namespace, directory) of each plugin: what the component loaders take."""
        return [(p.name, p.root) for p in self.plugins]

    def init_entries(self) -> list[dict[str, str]]:
        return [p.init_entry() for p in self.plugins]


def load_plugins(dirs: Sequence[str | Path], cwd: Path) -> Plugins:
    """Every plugin of ``dirs`` (relative paths are from ``cwd``); a broken one is an error entry.

    A later plugin of a name already loaded is left out, so each namespace means one directory.
    """
    found = Plugins()
    for index, given in enumerate(dirs):
        root = (cwd / Path(given).expanduser()).resolve()
        where = {"plugin": f"inline[{index}]", "path": str(root)}
        try:
            plugin = _load_one(root)
        except _PluginError as exc:
            found.errors.append({"plugin": where["plugin"], "type": exc.kind, "message": str(exc), **where})
            log.warning("thrifty: plugin %s not loaded: %s", given, exc)
            continue
        if any(p.name == plugin.name for p in found.plugins):
            message = f"Plugin {plugin.name} is already loaded from another directory"
            found.errors.append(
                {"plugin": where["plugin"], "type": "generic-error", "message": message, **where}
            )
            log.warning("thrifty: plugin %s not loaded: %s", given, message)
            continue
        found.plugins.append(plugin)
    return found


class _PluginError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _load_one(root: Path) -> Plugin:
    if not root.is_dir():
        raise _PluginError("path-not-found", f"Path not found: {root}")
    path = root / MANIFEST
    if not path.is_file():
        # Claude Code loads a directory without a manifest under the directory's name.
        return Plugin(root.name, root)
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise _PluginError(
            "generic-error",
            f"Failed to load plugin: Plugin {root.name} has a corrupt manifest file at {path}: {reason}",
        ) from None
    name = manifest.get("name") if isinstance(manifest, dict) else None
    if not isinstance(name, str) or not name.strip() or any(c in name for c in " :/\\"):
        raise _PluginError(
            "generic-error",
            f"Failed to load plugin: Plugin {root.name} has an invalid manifest file at {path}: "
            '"name" must be a string without spaces, ":" or slashes',
        )
    return Plugin(name, root, manifest)


def _json_file(plugin: Plugin, relative: str) -> dict[str, Any] | None:
    path = plugin.root / relative
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        log.warning("thrifty: plugin %s: %s ignored: %s", plugin.name, relative, exc)
        return None
    if not isinstance(data, dict):
        log.warning("thrifty: plugin %s: %s ignored: not a JSON object", plugin.name, relative)
        return None
    return data


def plugin_hooks(plugins: Plugins, base: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` (the settings' ``hooks``) with each plugin's ``hooks/hooks.json`` groups after it.

    Each command has ``${CLAUDE_PLUGIN_ROOT}`` expanded and carries the plugin's directory
    (``pluginRoot``), which the hooks runner sets as ``CLAUDE_PLUGIN_ROOT`` in its environment.
    """
    merged: dict[str, Any] = {
        event: list(groups) for event, groups in base.items() if isinstance(groups, list)
    }
    merged.update({event: groups for event, groups in base.items() if not isinstance(groups, list)})
    for plugin in plugins.plugins:
        data = _json_file(plugin, "hooks/hooks.json")
        hooks = data.get("hooks") if data is not None else None
        if not isinstance(hooks, dict):
            continue
        for event, groups in hooks.items():
            if not isinstance(groups, list) or not isinstance(merged.get(event, []), list):
                continue
            merged.setdefault(event, []).extend(_rooted(group, plugin) for group in groups)
    return merged


def _rooted(group: Any, plugin: Plugin) -> Any:
    if not isinstance(group, dict) or not isinstance(group.get("hooks"), list):
        return group  # the runner reports the bad shape
    handlers = []
    for handler in group["hooks"]:
        if isinstance(handler, dict) and isinstance(handler.get("command"), str):
            handler = {
                **handler,
                "command": plugin.expand(handler["command"]),
                "pluginRoot": str(plugin.root),
            }
        handlers.append(handler)
    return {**group, "hooks": handlers}


def plugin_mcp_servers(plugins: Plugins) -> dict[str, tuple[str, dict[str, Any]]]:
    """The servers of each plugin's ``.mcp.json`` (``{"mcpServers": ...}`` or the bare mapping),
    named ``plugin:<plugin>:<server>`` with scope ``plugin``, as Claude Code names them."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for plugin in plugins.plugins:
        data = _json_file(plugin, ".mcp.json")
        if data is None:
            continue
        block = data.get("mcpServers", data)
        if not isinstance(block, dict):
            continue
        for name, config in block.items():
            if isinstance(config, dict):
                found[f"plugin:{plugin.name}:{name}"] = ("plugin", _expanded(copy.deepcopy(config), plugin))
    return found


def _expanded(value: Any, plugin: Plugin) -> Any:
    if isinstance(value, str):
        return plugin.expand(value)
    if isinstance(value, list):
        return [_expanded(v, plugin) for v in value]
    if isinstance(value, dict):
        return {k: _expanded(v, plugin) for k, v in value.items()}
    return value
