"""Gitignore-style path patterns for ``Read(...)`` and ``Edit(...)`` rules, and the paths tools touch.

Patterns are compiled to one regular expression over absolute POSIX paths. Like gitignore, a
pattern that names a directory also covers everything under it, so ``Read(./secrets)`` protects
``secrets/key.pem``.

Anchoring follows Claude Code: ``//x`` is absolute, ``~/x`` is under the home directory, ``/x``
is under the directory of the settings file the rule came from, and ``x`` or ``./x`` is under the
cwd. A bare ``x`` in a deny or ask rule matches at any depth instead, because a deny is a promise
("never read ``.env``") that should not depend on which directory the model happens to name.

Symlinks: a deny or ask rule matches if either the path as named or the path it resolves to
matches, so a link cannot smuggle a denied file out. An allow rule must match the resolved path,
so a link inside an allowed tree cannot lend its permission to a file outside it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thrifty.tools import registry

__all__ = ["PathPattern", "absolute_path", "compile_path_pattern", "is_inside", "resolved", "tool_paths"]

_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class PathPattern:
    spec: str
    regex: re.Pattern[str]
    #: Allow patterns only trust the resolved path; see the module docstring.
    resolved_only: bool

    def matches(self, path: Path) -> bool:
        if self.regex.fullmatch(str(resolved(path))):
            return True
        return not self.resolved_only and bool(self.regex.fullmatch(os.path.normpath(path)))


def compile_path_pattern(spec: str, *, behavior: str, base_dir: Path, cwd: Path, home: Path) -> PathPattern:
    """Compile one ``Read``/``Edit`` specifier; ``behavior`` is ``allow``, ``ask`` or ``deny``."""
    spec = spec.strip()
    anywhere = False
    if spec.startswith("//"):
        root, rel = Path("/"), spec[2:]
    elif spec == "~" or spec.startswith("~/"):
        root, rel = home, spec[2:]
    elif spec.startswith("/"):
        root, rel = base_dir, spec[1:]
    elif spec in (".", "..") or spec.startswith(("./", "../")):
        root, rel = cwd, spec
    else:
        root, rel = cwd, spec
        anywhere = behavior != "allow"
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if anywhere:
        prefix = ".*"
    else:
        static: list[str] = []
        while parts and not (_GLOB_CHARS & set(parts[0])):
            static.append(parts.pop(0))
        prefix = re.escape(str(resolved(root.joinpath(*static))).rstrip("/"))
    regex = "^" + prefix + _glob_regex(parts) + "(?:/.*)?$"
    return PathPattern(spec, re.compile(regex, re.DOTALL), resolved_only=behavior == "allow")


def _glob_regex(parts: Sequence[str]) -> str:
    out: list[str] = []
    for k, part in enumerate(parts):
        if part == "**":
            out.append("(?:/[^/]+)*" if k < len(parts) - 1 else "(?:/.*)?")
        else:
            out.append("/" + _component_regex(part))
    return "".join(out)


def _component_regex(part: str) -> str:
    out: list[str] = []
    k = 0
    while k < len(part):
        c = part[k]
        if c == "*":
            while k + 1 < len(part) and part[k + 1] == "*":
                k += 1
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[" and (end := part.find("]", k + 2)) > 0:
            body = part[k + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            k = end
        elif c == "\\" and k + 1 < len(part):
            k += 1
            out.append(re.escape(part[k]))
        else:
            out.append(re.escape(c))
        k += 1
    return "".join(out)


def absolute_path(value: str, *, cwd: Path, home: Path) -> Path:
    """The absolute, normalised path a tool argument names (``~`` is the given home)."""
    if value == "~" or value.startswith("~/"):
        path = home / value[2:]
    elif value.startswith("~"):
        path = Path(value).expanduser()
    else:
        path = Path(value)
    if not path.is_absolute():
        path = cwd / path
    return Path(os.path.normpath(path))


def resolved(path: Path) -> Path:
    """``path`` with symlinks followed; a symlink loop leaves it as named rather than raising."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return Path(os.path.normpath(path.absolute()))


def is_inside(path: Path, dirs: Sequence[Path]) -> bool:
    """Whether ``path`` (symlinks followed) lies in one of ``dirs`` (already resolved)."""
    real = resolved(path)
    return any(real.is_relative_to(d) for d in dirs)


_SEARCH_TOOLS = frozenset({"Glob", "Grep"})


def tool_paths(
    tool_name: str,
    tool_input: Mapping[str, Any],
    *,
    cwd: Path,
    home: Path,
    keys: Sequence[str] | None = None,
) -> list[Path]:
    """The filesystem paths a tool call reads or writes, as far as its input says.

    ``keys`` are the input keys that hold them; by default the tool's own declaration
    (``Tool.path_keys``), or the generic keys for a tool that declares none. Glob and Grep search
    the cwd when given no ``path``; a Glob pattern that climbs out of its root
    (``../../**/*.pem``) or is absolute adds the directory it starts from.
    """
    if keys is None:
        keys = registry.path_keys(tool_name)
    paths = [
        absolute_path(value, cwd=cwd, home=home)
        for key in keys
        if isinstance(value := tool_input.get(key), str) and value
    ]
    if tool_name in _SEARCH_TOOLS and not paths:
        paths.append(cwd)
    pattern = tool_input.get("pattern")
    if tool_name == "Glob" and isinstance(pattern, str):
        segments = pattern.split("/")
        if pattern.startswith(("/", "~")) or ".." in segments:
            static: list[str] = []
            for seg in segments:
                if _GLOB_CHARS & set(seg):
                    break
                static.append(seg)
            start = "/".join(static) or "."
            if not start.startswith(("/", "~")):
                start = str((paths[0] if paths else cwd) / start)
            paths.append(absolute_path(start, cwd=cwd, home=home))
    return paths
