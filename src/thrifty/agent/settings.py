"""Claude Code settings files, read and merged the way Claude Code does.

Layers, lowest precedence first: user (``$CLAUDE_CONFIG_DIR/settings.json`` or
``~/.claude/settings.json``), project (``<cwd>/.claude/settings.json``), local
(``<cwd>/.claude/settings.local.json``), flag (``--settings``, a file or a JSON string).
Objects merge key by key, arrays concatenate (``permissions.allow`` gathers every layer's rules),
and any other value comes from the highest layer that sets it.

Settings fail closed. A file that exists but cannot be read, is not UTF-8, is not a JSON object,
or gives a key thrifty uses (permissions, hooks, env, model, apiKeyHelper) the wrong shape raises
``SettingsError`` naming the file, the place and the problem, so no run starts without the deny
rules or hooks that file holds. (Claude Code's ``-p`` skips such a file without a word; a skipped
``deny`` list is exactly what must not happen.) A file that does not exist is simply absent, and a
source left out by ``--bare`` or ``--setting-sources`` is never opened. Keys thrifty does not use
are kept in ``Settings.merged`` unchecked. Permission rules keep the layer they came from, because
``Read(/src/**)`` means a different directory in user settings than in project settings. Managed
(system) settings and workspace trust are not handled here yet.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from thrifty.billing.config import ConfigError
from thrifty.core import jsonfile

__all__ = [
    "SETTING_SOURCES",
    "PermissionSettings",
    "Settings",
    "SettingsError",
    "SettingsLayer",
    "SourcedRule",
    "load_settings",
    "parse_setting_sources",
]

#: Values ``--setting-sources`` accepts; flag settings always apply.
SETTING_SOURCES = ("user", "project", "local")
_MAX_FLAG_FILE = 2 * 1024 * 1024
#: Arrays that a higher layer replaces whole instead of extending.
_REPLACED_WHOLE = frozenset({("fallbackModel",)})
_RULE_KEYS = ("allow", "ask", "deny")


class SettingsError(ConfigError):
    """A settings file (or ``--settings`` value) that cannot be used: one line, and no run."""


@dataclass(frozen=True)
class SourcedRule:
    """A permission rule string with its origin; ``base_dir`` anchors ``/path`` patterns."""

    rule: str
    source: str
    base_dir: Path


@dataclass(frozen=True)
class PermissionSettings:
    allow: tuple[SourcedRule, ...] = ()
    ask: tuple[SourcedRule, ...] = ()
    deny: tuple[SourcedRule, ...] = ()
    #: Raw ``defaultMode`` of the highest layer that sets one; validated by the permission policy.
    default_mode: str | None = None
    additional_directories: tuple[Path, ...] = ()
    #: ``disableBypassPermissionsMode: "disable"`` in any layer.
    disable_bypass_mode: bool = False


class SettingsLayer(NamedTuple):
    """One file (or JSON string, ``path`` None) as read, before merging."""

    source: str
    path: Path | None
    data: dict[str, Any]


@dataclass(frozen=True)
class Settings:
    permissions: PermissionSettings = field(default_factory=PermissionSettings)
    #: Event name to matcher groups, every layer's groups concatenated (user first).
    hooks: dict[str, list[Any]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    model: str | None = None
    api_key_helper: str | None = None
    raw_layers: list[SettingsLayer] = field(default_factory=list)
    #: Notes that did not stop loading. Every problem with a file is a ``SettingsError`` now, so
    #: this stays empty; it is kept for callers that read it.
    warnings: list[str] = field(default_factory=list)
    #: Every key after merging, for settings this class does not model (``fallbackModel``...).
    merged: dict[str, Any] = field(default_factory=dict)


def parse_setting_sources(value: str) -> list[str]:
    """``--setting-sources user,project``; an empty string means no file sources at all."""
    return [part.strip() for part in value.split(",") if part.strip()]


def load_settings(
    cwd: Path,
    *,
    setting_sources: Sequence[str] | None = None,
    flag_settings: str | None = None,
    bare: bool = False,
    home: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Read and merge the settings layers for a session started in ``cwd``.

    ``setting_sources`` None reads user, project and local; ``bare`` reads only flag settings.
    ``home`` and ``environ`` default to the real ones and exist so tests need not touch them.
    Raises ``SettingsError`` for the first layer that cannot be used (see the module docstring).
    """
    env = os.environ if environ is None else environ
    home = Path.home() if home is None else home
    cwd = Path(cwd).absolute()
    wanted = _wanted_sources(setting_sources, bare)

    config_dir = home / ".claude"
    if env.get("CLAUDE_CONFIG_DIR"):
        config_dir = _expand(env["CLAUDE_CONFIG_DIR"], cwd=cwd, home=home)

    layers: list[tuple[SettingsLayer, Path]] = []
    files = (
        ("user", "userSettings", config_dir / "settings.json", config_dir),
        ("project", "projectSettings", cwd / ".claude" / "settings.json", cwd),
        ("local", "localSettings", cwd / ".claude" / "settings.local.json", cwd),
    )
    for name, source, path, base in files:
        if name in wanted:
            data = _read_file(path, missing_ok=True)
            if data is not None:
                layers.append((SettingsLayer(source, path, _checked(data, str(path))), base))
    if flag_settings is not None:
        layers.append(_read_flag_settings(flag_settings, cwd=cwd, home=home))

    merged: dict[str, Any] = {}
    for layer, _base in layers:
        merged = _merge(merged, copy.deepcopy(layer.data), ())
    return Settings(
        permissions=_permissions(layers, cwd=cwd, home=home),
        hooks=merged.get("hooks", {}),
        env=_env(merged.get("env", {})),
        model=merged.get("model"),
        api_key_helper=merged.get("apiKeyHelper"),
        raw_layers=[layer for layer, _base in layers],
        merged=merged,
    )


def _wanted_sources(setting_sources: Sequence[str] | None, bare: bool) -> set[str]:
    if bare:
        return set()
    if setting_sources is None:
        return set(SETTING_SOURCES)
    for name in setting_sources:
        if name not in SETTING_SOURCES:
            # Reading fewer layers than asked for could drop deny rules, so a typo is an error.
            expected = ", ".join(SETTING_SOURCES)
            raise SettingsError(f"--setting-sources: unknown source {name!r} (expected {expected})")
    return set(setting_sources)


def _expand(value: str, *, cwd: Path, home: Path) -> Path:
    if value == "~" or value.startswith("~/"):
        return home / value[2:]
    path = Path(value)
    return path if path.is_absolute() else cwd / path


def _read_file(path: Path, *, missing_ok: bool) -> dict[str, Any] | None:
    """The file's JSON object; ``None`` only for a file that does not exist and ``missing_ok``."""
    try:
        return jsonfile.read_object(path, SettingsError)
    except FileNotFoundError:
        if missing_ok:
            return None
        raise SettingsError(f"{path}: no such file") from None


def _read_flag_settings(value: str, *, cwd: Path, home: Path) -> tuple[SettingsLayer, Path]:
    """``--settings`` takes inline JSON (starts with ``{``) or a path to a regular file ≤ 2 MiB."""
    if value.lstrip().startswith("{"):
        return SettingsLayer(
            "flagSettings",
            None,
            _checked(jsonfile.decode_object(value, "--settings", SettingsError), "--settings"),
        ), cwd
    path = _expand(value, cwd=cwd, home=home)
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise SettingsError(f"--settings: {path}: no such file") from None
    except OSError as exc:
        raise SettingsError(f"--settings: {path}: cannot be read ({exc.strerror or exc})") from None
    if not path.is_file():
        raise SettingsError(f"--settings: {path} is not a regular file")
    if info.st_size > _MAX_FLAG_FILE:
        raise SettingsError(f"--settings: {path} is larger than 2 MiB")
    data = _read_file(path, missing_ok=False)
    assert data is not None
    return SettingsLayer("flagSettings", path, _checked(data, str(path))), path.parent


# -- shape checks: one error naming the file and the key ---------------------------------------


def _fail(where: str, key: str, wanted: str, value: Any) -> SettingsError:
    return SettingsError(f"{where}: {key} must be {wanted}, got {jsonfile.kind(value)}")


def _checked(data: dict[str, Any], where: str) -> dict[str, Any]:
    """``data`` itself, once every key thrifty reads has the shape thrifty needs."""
    for key in ("model", "apiKeyHelper"):
        if key in data and not isinstance(data[key], str):
            raise _fail(where, key, "a string", data[key])
    if "permissions" in data:
        _check_permissions(data["permissions"], where)
    if "hooks" in data:
        _check_hooks(data["hooks"], where)
    if "env" in data:
        env = data["env"]
        if not isinstance(env, dict):
            raise _fail(where, "env", "an object of strings", env)
        for name, value in env.items():
            if not isinstance(value, str | int | float):  # bool is an int: JSON true/false are fine
                raise _fail(where, f"env.{name}", "a string", value)
    return data


def _check_strings(value: Any, where: str, key: str) -> None:
    if not isinstance(value, list):
        raise _fail(where, key, "an array of strings", value)
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise _fail(where, f"{key}[{i}]", "a string", item)


def _check_permissions(perms: Any, where: str) -> None:
    if not isinstance(perms, dict):
        raise _fail(where, "permissions", "an object", perms)
    for key in (*_RULE_KEYS, "additionalDirectories"):
        if key in perms:
            _check_strings(perms[key], where, f"permissions.{key}")
    if "defaultMode" in perms and not isinstance(perms["defaultMode"], str):
        raise _fail(where, "permissions.defaultMode", "a string", perms["defaultMode"])
    disable = perms.get("disableBypassPermissionsMode", "disable")
    if disable != "disable":
        raise SettingsError(
            f'{where}: permissions.disableBypassPermissionsMode must be "disable", got {json.dumps(disable)}'
        )


def _check_hooks(hooks: Any, where: str) -> None:
    if not isinstance(hooks, dict):
        raise _fail(where, "hooks", "an object of event names", hooks)
    for event, groups in hooks.items():
        if not isinstance(groups, list):
            raise _fail(where, f"hooks.{event}", "an array of matcher groups", groups)
        for i, group in enumerate(groups):
            at = f"hooks.{event}[{i}]"
            if not isinstance(group, dict):
                raise _fail(where, at, 'an object like {"matcher": ..., "hooks": [...]}', group)
            if "matcher" in group and not isinstance(group["matcher"], str):
                raise _fail(where, f"{at}.matcher", "a string", group["matcher"])
            handlers = group.get("hooks")
            if not isinstance(handlers, list):
                raise _fail(where, f"{at}.hooks", "an array of hook handlers", handlers)
            for j, handler in enumerate(handlers):
                _check_handler(handler, where, f"{at}.hooks[{j}]")


def _check_handler(handler: Any, where: str, at: str) -> None:
    if not isinstance(handler, dict):
        raise _fail(where, at, 'an object like {"type": "command", "command": ...}', handler)
    kind = handler.get("type", "command")
    if not isinstance(kind, str):
        raise _fail(where, f"{at}.type", "a string", kind)
    # Other types (prompt, agent, http) are Claude Code's; the hooks runner skips them with a warning.
    if kind == "command":
        command = handler.get("command")
        if not isinstance(command, str) or not command.strip():
            raise _fail(where, f"{at}.command", "a non-empty string", command)
    timeout = handler.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float)):
        raise _fail(where, f"{at}.timeout", "a number of seconds", timeout)


# -- merging ----------------------------------------------------------------------------------


def _env(value: Mapping[str, Any]) -> dict[str, str]:
    """Checked ``env`` values as strings, the way JavaScript would stringify them."""
    out: dict[str, str] = {}
    for key, val in value.items():
        if isinstance(val, bool):
            out[key] = "true" if val else "false"
        else:
            out[key] = str(val)
    return out


def _merge(base: dict[str, Any], over: dict[str, Any], at: tuple[str, ...]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        path = (*at, key)
        old = out.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            out[key] = _merge(old, value, path)
        elif isinstance(old, list) and isinstance(value, list) and path not in _REPLACED_WHOLE:
            out[key] = [*old, *value]
        else:
            out[key] = value
    return out


def _permissions(
    layers: Sequence[tuple[SettingsLayer, Path]], *, cwd: Path, home: Path
) -> PermissionSettings:
    rules: dict[str, list[SourcedRule]] = {key: [] for key in _RULE_KEYS}
    dirs: list[Path] = []
    default_mode: str | None = None
    disable_bypass = False
    for layer, base in layers:
        perms = layer.data.get("permissions")
        if not isinstance(perms, dict):
            continue
        for key in _RULE_KEYS:
            for rule in perms.get(key, []):
                rules[key].append(SourcedRule(rule, layer.source, base))
        for d in perms.get("additionalDirectories", []):
            path = Path(os.path.normpath(_expand(d, cwd=cwd, home=home)))
            if path not in dirs:
                dirs.append(path)
        if "defaultMode" in perms:
            default_mode = perms["defaultMode"]
        disable_bypass = disable_bypass or perms.get("disableBypassPermissionsMode") == "disable"
    return PermissionSettings(
        allow=tuple(rules["allow"]),
        ask=tuple(rules["ask"]),
        deny=tuple(rules["deny"]),
        default_mode=default_mode,
        additional_directories=tuple(dirs),
        disable_bypass_mode=disable_bypass,
    )
