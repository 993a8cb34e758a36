"""Claude Code settings files, read and merged the way Claude Code does.

Layers, lowest precedence first: user (``$CLAUDE_CONFIG_DIR/settings.json`` or
``~/.claude/settings.json``), project (``<cwd>/.claude/settings.json``), local
(``<cwd>/.claude/settings.local.json``), flag (``--settings``, a file or a JSON string).
Objects merge key by key, arrays concatenate (``permissions.allow`` gathers every layer's rules),
and any other value comes from the highest layer that sets it.

A broken settings file must not stop a headless run: it is skipped, or the broken key is, and a
line goes to ``Settings.warnings`` for the caller to show. Permission rules keep the layer they
came from, because ``Read(/src/**)`` means a different directory in user settings than in
project settings. Managed (system) settings and workspace trust are not handled here yet.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

__all__ = [
    "SETTING_SOURCES",
    "PermissionSettings",
    "Settings",
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
    """
    env = os.environ if environ is None else environ
    home = Path.home() if home is None else home
    cwd = Path(cwd).absolute()
    warnings: list[str] = []
    wanted = _wanted_sources(setting_sources, bare, warnings)

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
        if name in wanted and path.exists():
            data = _read_file(path, warnings)
            if data is not None:
                layers.append((SettingsLayer(source, path, data), base))
    if flag_settings is not None:
        flag = _read_flag_settings(flag_settings, cwd=cwd, home=home, warnings=warnings)
        if flag is not None:
            layers.append(flag)

    merged: dict[str, Any] = {}
    for layer, _base in layers:
        merged = _merge(merged, _sanitize(layer, warnings), ())
    return Settings(
        permissions=_permissions(layers, cwd=cwd, home=home, warnings=warnings),
        hooks=merged.get("hooks", {}),
        env=merged.get("env", {}),
        model=_string(merged, "model", warnings),
        api_key_helper=_string(merged, "apiKeyHelper", warnings),
        raw_layers=[layer for layer, _base in layers],
        warnings=warnings,
        merged=merged,
    )


def _wanted_sources(setting_sources: Sequence[str] | None, bare: bool, warnings: list[str]) -> set[str]:
    if bare:
        return set()
    if setting_sources is None:
        return set(SETTING_SOURCES)
    wanted = set()
    for name in setting_sources:
        if name in SETTING_SOURCES:
            wanted.add(name)
        else:
            warnings.append(f"Unknown setting source {name!r}; expected one of {', '.join(SETTING_SOURCES)}.")
    return wanted


def _expand(value: str, *, cwd: Path, home: Path) -> Path:
    if value == "~" or value.startswith("~/"):
        return home / value[2:]
    path = Path(value)
    return path if path.is_absolute() else cwd / path


def _read_file(path: Path, warnings: list[str]) -> dict[str, Any] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        warnings.append(f"Ignoring settings file {path}: cannot read it ({exc}).")
        return None
    return _decode(text, str(path), warnings)


def _decode(text: str, label: str, warnings: list[str]) -> dict[str, Any] | None:
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        warnings.append(f"Ignoring settings {label}: invalid JSON ({exc.msg} at line {exc.lineno}).")
        return None
    if not isinstance(data, dict):
        warnings.append(f"Ignoring settings {label}: expected a JSON object, got {type(data).__name__}.")
        return None
    return data


def _read_flag_settings(
    value: str, *, cwd: Path, home: Path, warnings: list[str]
) -> tuple[SettingsLayer, Path] | None:
    """``--settings`` takes inline JSON (starts with ``{``) or a path to a regular file ≤ 2 MiB."""
    if value.lstrip().startswith("{"):
        data = _decode(value, "from --settings", warnings)
        return None if data is None else (SettingsLayer("flagSettings", None, data), cwd)
    path = _expand(value, cwd=cwd, home=home)
    if not path.is_file():
        warnings.append(f"Ignoring --settings {value!r}: not a regular file.")
        return None
    if path.stat().st_size > _MAX_FLAG_FILE:
        warnings.append(f"Ignoring --settings {value!r}: larger than 2 MiB.")
        return None
    data = _read_file(path, warnings)
    return None if data is None else (SettingsLayer("flagSettings", path, data), path.parent)


def _sanitize(layer: SettingsLayer, warnings: list[str]) -> dict[str, Any]:
    """A deep copy of the layer without the keys of the wrong shape, so merging cannot fail."""
    data = copy.deepcopy(layer.data)
    where = str(layer.path) if layer.path is not None else "--settings"
    perms = data.get("permissions")
    if "permissions" in data and not isinstance(perms, dict):
        warnings.append(f"{where}: 'permissions' must be an object; ignored.")
        del data["permissions"]
    elif isinstance(perms, dict):
        for key in (*_RULE_KEYS, "additionalDirectories"):
            if key in perms:
                perms[key] = _string_list(perms[key], f"{where}: permissions.{key}", warnings)
    hooks = data.get("hooks")
    if "hooks" in data:
        if not isinstance(hooks, dict):
            warnings.append(f"{where}: 'hooks' must be an object; ignored.")
            del data["hooks"]
        else:
            for event in [e for e, groups in hooks.items() if not isinstance(groups, list)]:
                warnings.append(f"{where}: hooks.{event} must be an array of matcher groups; ignored.")
                del hooks[event]
    if "env" in data:
        data["env"] = _env(data["env"], where, warnings)
    return data


def _string_list(value: Any, label: str, warnings: list[str]) -> list[str]:
    if not isinstance(value, list):
        warnings.append(f"{label} must be an array of strings; ignored.")
        return []
    good = [v for v in value if isinstance(v, str)]
    if len(good) != len(value):
        warnings.append(f"{label}: {len(value) - len(good)} entries are not strings; ignored.")
    return good


def _env(value: Any, where: str, warnings: list[str]) -> dict[str, str]:
    if not isinstance(value, dict):
        warnings.append(f"{where}: 'env' must be an object; ignored.")
        return {}
    out: dict[str, str] = {}
    for key, val in value.items():
        if isinstance(val, str):
            out[key] = val
        elif isinstance(val, bool):
            out[key] = "true" if val else "false"  # the way JavaScript would stringify it
        elif isinstance(val, int | float):
            out[key] = str(val)
        else:
            warnings.append(f"{where}: env.{key} must be a string; ignored.")
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
    layers: Sequence[tuple[SettingsLayer, Path]], *, cwd: Path, home: Path, warnings: list[str]
) -> PermissionSettings:
    rules: dict[str, list[SourcedRule]] = {key: [] for key in _RULE_KEYS}
    dirs: list[Path] = []
    default_mode: str | None = None
    disable_bypass = False
    for layer, base in layers:
        perms = layer.data.get("permissions")
        if not isinstance(perms, dict):
            continue
        label = f"{layer.path or '--settings'}: permissions"
        for key in _RULE_KEYS:
            for rule in _string_list(perms.get(key, []), f"{label}.{key}", []):
                rules[key].append(SourcedRule(rule, layer.source, base))
        for d in _string_list(perms.get("additionalDirectories", []), "", []):
            path = Path(os.path.normpath(_expand(d, cwd=cwd, home=home)))
            if path not in dirs:
                dirs.append(path)
        mode = perms.get("defaultMode")
        if isinstance(mode, str):
            default_mode = mode
        elif mode is not None:
            warnings.append(f"{label}.defaultMode must be a string; ignored.")
        disable_bypass = disable_bypass or perms.get("disableBypassPermissionsMode") == "disable"
    return PermissionSettings(
        allow=tuple(rules["allow"]),
        ask=tuple(rules["ask"]),
        deny=tuple(rules["deny"]),
        default_mode=default_mode,
        additional_directories=tuple(dirs),
        disable_bypass_mode=disable_bypass,
    )


def _string(merged: Mapping[str, Any], key: str, warnings: list[str]) -> str | None:
    value = merged.get(key)
    if value is None or isinstance(value, str):
        return value
    warnings.append(f"Setting {key!r} must be a string; ignored.")
    return None
