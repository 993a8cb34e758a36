"""Glob: find files by name pattern, newest first.

The pattern language is the one models write for ripgrep and shells: ``**`` for any depth and
``{a,b}`` alternatives, neither of which ``pathlib`` understands. Newest-first puts the files
someone is working on at the top, and the cap keeps a sweeping pattern from flooding the context.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from pathlib import Path

from pydantic import Field

from thrifty.tools.base import Tool, ToolContext, ToolInput, ToolResult, error

MAX_RESULTS = 100
#: Version-control internals: never what the model is looking for, and often huge.
SKIP_DIRS = frozenset({".git", ".hg", ".svn"})
_WILDCARDS = frozenset("*?[{")


class GlobInput(ToolInput):
    pattern: str = Field(description="The glob pattern to match files against")
    path: str | None = Field(
        None,
        description="The directory to search in. If not specified, the current working directory will be "
        'used. Omit it for the default; do not pass "undefined" or "null".',
    )


def _translate(pattern: str) -> str:
    """Regex source for a glob, where ``*`` stays within one path segment and ``**`` crosses them."""
    out: list[str] = []
    i, n, depth = 0, len(pattern), 0
    while i < n:
        c = pattern[i]
        if pattern.startswith("**", i):
            at_start = i == 0 or pattern[i - 1] == "/"
            if at_start and pattern.startswith("**/", i):
                out.append("(?:[^/]*/)*")
                i += 3
                continue
            if at_start and i + 2 == n:
                out.append(".*")
                i += 2
                continue
            out.append("[^/]*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[" and (end := pattern.find("]", i + 2 if pattern.startswith("[!", i) else i + 1)) != -1:
            body = pattern[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        elif c == "{":
            depth += 1
            out.append("(?:")
            i += 1
        elif c == "}" and depth:
            depth -= 1
            out.append(")")
            i += 1
        elif c == "," and depth:
            out.append("|")
            i += 1
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out) + ")" * depth


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """Compile a glob into a regex that must match a whole ``/``-separated relative path."""
    return re.compile(_translate(pattern), re.DOTALL)


def _split_base(base: Path, pattern: str) -> tuple[Path, str]:
    """Move literal leading segments of the pattern onto the base, so the walk starts deeper."""
    parts = pattern.split("/")
    literal: list[str] = []
    while len(parts) > 1 and not _WILDCARDS.intersection(parts[0]):
        literal.append(parts.pop(0))
    root = Path("/") if Path(pattern).is_absolute() else base
    return Path(os.path.normpath(root.joinpath(*literal))), "/".join(parts)


def iter_files(base: Path, max_depth: int | None = None) -> Iterator[tuple[Path, str]]:
    """Yield ``(path, relative posix path)`` for files under ``base``, skipping VCS directories."""
    base_str = str(base)
    for root, dirs, files in os.walk(base_str):
        rel_root = os.path.relpath(root, base_str)
        depth = 0 if rel_root == "." else rel_root.count(os.sep) + 1
        if max_depth is not None and depth >= max_depth - 1:
            dirs[:] = []
        else:
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            rel = name if rel_root == "." else f"{rel_root}/{name}".replace(os.sep, "/")
            yield Path(root, name), rel


def find_files(base: Path, pattern: str) -> list[Path]:
    """Matching files under ``base``, newest first (ties by path, for stable output)."""
    base, pattern = _split_base(base, pattern.strip())
    if not base.is_dir():
        return []
    regex = glob_to_regex(pattern)
    max_depth = None if "**" in pattern else pattern.count("/") + 1
    found: list[tuple[float, str, Path]] = []
    for path, rel in iter_files(base, max_depth):
        if regex.fullmatch(rel):
            try:
                mtime = path.stat().st_mtime
            except OSError:
                continue  # a dangling symlink, or a file deleted while we walked
            found.append((-mtime, str(path), path))
    found.sort()
    return [path for _, _, path in found]


class GlobTool(Tool):
    name = "Glob"
    description = (
        "Fast file pattern matching that works with any codebase size. Supports glob patterns "
        'like "**/*.js", "src/**/*.{ts,tsx}" or "*.md" (relative to path, which defaults to the '
        "working directory). Returns matching file paths sorted by modification time, newest "
        f"first, at most {MAX_RESULTS}. Use it to find files by name; use Grep to search contents."
    )
    input_model = GlobInput
    read_only = True

    async def call(self, params: GlobInput, ctx: ToolContext) -> ToolResult:
        base = ctx.resolve(params.path) if params.path else ctx.cwd
        if not base.exists():
            return error(f"Directory does not exist: {base}. Current working directory: {ctx.cwd}")
        if not base.is_dir():
            return error(f"Path is not a directory: {base}")
        if not params.pattern.strip():
            return error("pattern must not be empty")
        matches = await asyncio.to_thread(find_files, base, params.pattern)
        if not matches:
            return ToolResult("No files found")
        lines = [str(p) for p in matches[:MAX_RESULTS]]
        if len(matches) > MAX_RESULTS:
            lines.append(
                f"(Results are truncated: showing {MAX_RESULTS} of {len(matches)}. "
                "Consider using a more specific path or pattern.)"
            )
        return ToolResult("\n".join(lines))
