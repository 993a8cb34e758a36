"""Glob: find files by name pattern, newest first, as ripgrep lists them.

ripgrep walks the tree, as in Claude Code, so the files that ignore files exclude (a ``.venv``, a
build directory) never reach the results and the walk is fast. The pattern language is the one
models write for ripgrep and shells: ``**`` for any depth and ``{a,b}`` alternatives, with ``*``
staying inside one directory. Newest-first puts the files someone is working on at the top, and
the cap keeps a sweeping pattern from flooding the context.

Claude Code's own Glob lists ignored files too unless ``CLAUDE_CODE_GLOB_NO_IGNORE=false``; here
respecting them is the default, and ``CLAUDE_CODE_GLOB_NO_IGNORE=true`` (and
``CLAUDE_CODE_GLOB_HIDDEN=false``) are honoured for whoever wants Claude Code's listing.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Mapping
from pathlib import Path

from pydantic import Field

from thrifty.tools.base import Tool, ToolContext, ToolResult, error
from thrifty.tools.inputs import ToolInput
from thrifty.tools.ripgrep import env_flag, refusal, run_rg

MAX_RESULTS = 100
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
    """Move literal leading segments of the pattern onto the base, so the walk starts deeper.

    Starting there is also what lets a pattern such as ``.venv/lib/*.py`` reach into an ignored
    directory: ripgrep searches a directory it is given, even one its parent ignores.
    """
    parts = pattern.split("/")
    literal: list[str] = []
    while len(parts) > 1 and not _WILDCARDS.intersection(parts[0]):
        literal.append(parts.pop(0))
    root = Path("/") if Path(pattern).is_absolute() else base
    return Path(os.path.normpath(root.joinpath(*literal))), "/".join(parts)


async def find_files(base: Path, pattern: str, env: Mapping[str, str] | None) -> tuple[list[str], bool] | str:
    """Matching files newest first (ties by path), whether rg's listing was cut short, or an error.

    ripgrep lists the files (its ignore rules, hidden files included) and the pattern is matched
    here: handed to rg as ``--glob``, a pattern overrides the ignore rules for the files it names,
    so ``**/*.py`` would list a gitignored ``generated.py``.
    """
    base, pattern = _split_base(base, pattern.strip())
    if not base.is_dir():
        return [], False
    args = ["--files"]
    if "**" not in pattern:
        args += ["--max-depth", str(pattern.count("/") + 1)]
    if env_flag(env, "CLAUDE_CODE_GLOB_NO_IGNORE", default=False):
        args.append("--no-ignore")
    if not env_flag(env, "CLAUDE_CODE_GLOB_HIDDEN", default=True):
        args.append("--no-hidden")
    out = await run_rg([*args, "--", str(base)], base, env)
    if isinstance(out, str):
        return out
    why = refusal(out)
    if why is not None:
        return f"ripgrep: {why}"
    listed = out.stdout.split(b"\0")
    listed.pop()  # the empty string after the final NUL, or a path that was cut short
    return await asyncio.to_thread(_matching_newest_first, listed, base, pattern), out.truncated


def _matching_newest_first(listed: list[bytes], base: Path, pattern: str) -> list[str]:
    regex = glob_to_regex(pattern)
    prefix = len(str(base).rstrip(os.sep)) + 1
    found: list[tuple[float, str]] = []
    for raw in listed:
        name = os.fsdecode(raw)
        if not regex.fullmatch(name[prefix:].replace(os.sep, "/")):
            continue
        try:
            mtime = os.stat(name).st_mtime  # noqa: PTH116 - a Path per file was 2/3 of the time
        except OSError:
            continue  # deleted since rg listed it
        found.append((-mtime, name))
    found.sort()
    return [name for _, name in found]


class GlobTool(Tool):
    name = "Glob"
    description = (
        "Fast file pattern matching that works with any codebase size. Supports glob patterns "
        'like "**/*.js", "src/**/*.{ts,tsx}" or "*.md" (relative to path, which defaults to the '
        "working directory). Returns matching file paths sorted by modification time, newest "
        f"first, at most {MAX_RESULTS}. Lists hidden files but not VCS directories or files "
        "excluded by .gitignore (in a git repository), .ignore or .rgignore; name an ignored "
        "directory in path to list it anyway. Use it to find files by name; use Grep to search "
        "contents."
    )
    input_model = GlobInput
    read_only = True
    path_keys = ("path",)
    primary_field = "pattern"

    async def call(self, params: GlobInput, ctx: ToolContext) -> ToolResult:
        base = ctx.resolve(params.path) if params.path else ctx.cwd
        if not base.exists():
            return error(f"Directory does not exist: {base}. Current working directory: {ctx.cwd}")
        if not base.is_dir():
            return error(f"Path is not a directory: {base}")
        if not params.pattern.strip():
            return error("pattern must not be empty")
        found = await find_files(base, params.pattern, ctx.env)
        if isinstance(found, str):
            return error(found)
        matches, cut_short = found
        if not matches:
            return ToolResult("No files found")
        lines = matches[:MAX_RESULTS]
        if len(matches) > MAX_RESULTS or cut_short:
            of = f"at least {len(matches)}" if cut_short else str(len(matches))
            lines.append(
                f"(Results are truncated: showing {min(MAX_RESULTS, len(matches))} of {of}. "
                "Consider using a more specific path or pattern.)"
            )
        return ToolResult("\n".join(lines))
