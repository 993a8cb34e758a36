"""Grep: search file contents with ripgrep, passing it the arguments Claude Code passes.

Models are trained on Claude Code's Grep, which runs ``rg``: its regex dialect (Rust's), its
choice of files (hidden files searched; VCS directories, ignored files and binaries skipped) and
its output. Running ripgrep gives all of that exactly, and is far faster than a walk in Python.

Two things are thrifty's own: output is ordered (files by path in content and count modes, newest
first in files mode) so that paging with offset returns the same pages on every call, although rg
searches files in parallel; and paths stay absolute, as they always were here.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field

from thrifty.tools.base import Tool, ToolContext, ToolResult, error
from thrifty.tools.inputs import ToolInput
from thrifty.tools.ripgrep import MAX_OUTPUT_BYTES, RgOutput, refusal, run_rg

DEFAULT_HEAD_LIMIT = 250
#: Longer lines are replaced by rg with "[Omitted long line with N matches]" (Claude Code's value).
MAX_COLUMNS = 500

NonNegative = Annotated[int, Field(ge=0)]


class GrepInput(ToolInput):
    pattern: str = Field(description="The regular expression pattern to search for in file contents")
    path: str | None = Field(
        None, description="File or directory to search in. Defaults to the current working directory."
    )
    glob: str | None = Field(
        None, description='Glob pattern to filter files (e.g. "*.js", "*.{ts,tsx}"); prefix with ! to exclude'
    )
    type_: str | None = Field(
        None, alias="type", description="File type to search (rg --type, e.g. py, js, ts, go, rust, java, md)"
    )
    output_mode: Literal["content", "files_with_matches", "count"] = Field(
        "files_with_matches",
        description='"content" shows matching lines, "files_with_matches" shows file paths (default), '
        '"count" shows match counts',
    )
    after_context: NonNegative | None = Field(
        None, alias="-A", description='Lines to show after each match (output_mode "content" only)'
    )
    before_context: NonNegative | None = Field(
        None, alias="-B", description='Lines to show before each match (output_mode "content" only)'
    )
    around_context: NonNegative | None = Field(
        None, alias="-C", description='Lines to show before and after each match (output_mode "content" only)'
    )
    context: NonNegative | None = Field(None, description="Same as -C")
    line_numbers: bool = Field(True, alias="-n", description='Show line numbers (output_mode "content" only)')
    ignore_case: bool = Field(False, alias="-i", description="Case insensitive search")
    only_matching: bool = Field(
        False, alias="-o", description='Print only the matched parts of lines (output_mode "content" only)'
    )
    head_limit: NonNegative = Field(
        DEFAULT_HEAD_LIMIT,
        description="Limit output to the first N lines or entries, like | head -N; 0 = unlimited",
    )
    offset: NonNegative = Field(0, description="Skip the first N lines or entries before applying head_limit")
    multiline: bool = Field(False, description="Let the pattern span lines; . matches newlines")


def split_globs(spec: str) -> list[str]:
    """Split on commas and whitespace, except inside braces, so "*.{ts,tsx} *.js" is two globs."""
    out: list[str] = []
    current, depth = "", 0
    for ch in spec:
        depth += (ch == "{") - (ch == "}" and depth > 0)
        if depth == 0 and (ch == "," or ch.isspace()):
            if current:
                out.append(current)
            current = ""
        else:
            current += ch
    if current:
        out.append(current)
    return out


def rg_args(p: GrepInput) -> list[str]:
    """ripgrep's arguments for a call, in Claude Code's mapping, before the searched path.

    Line numbers are always asked for, and dropped when rendering if ``-n`` is false: without
    them rg's ``--null`` output no longer tells a match line from a context line.
    ``--crlf`` lets ``$`` match before a Windows line ending, as a reader of the file expects.
    """
    args = ["--max-columns", str(MAX_COLUMNS), "--crlf"]
    if p.multiline:
        args += ["-U", "--multiline-dotall"]
    if p.ignore_case:
        args.append("-i")
    if p.output_mode == "files_with_matches":
        args.append("-l")
    elif p.output_mode == "count":
        args += ["-c", "--with-filename"]
    else:
        args += ["--with-filename", "--no-heading", "-n"]
        if p.only_matching:
            args.append("-o")
        args += _context_args(p)
    args += ["-e", p.pattern]
    if p.type_:
        args += ["--type", p.type_]
    for glob in split_globs(p.glob or ""):
        args += ["--glob", glob]
    return args


def _context_args(p: GrepInput) -> list[str]:
    """Claude Code's precedence: ``context``, then ``-C``, then ``-B`` and ``-A`` together."""
    if p.context is not None:
        return ["-C", str(p.context)]
    if p.around_context is not None:
        return ["-C", str(p.around_context)]
    before = ["-B", str(p.before_context)] if p.before_context is not None else []
    return before + (["-A", str(p.after_context)] if p.after_context is not None else [])


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


_LINE = re.compile(rb"(\d+)([:-])(.*)", re.DOTALL)


@dataclass
class _FileLines:
    """One file's content-mode output: ``(number, ":" or "-", text)``, or None for a ``--`` gap."""

    path: str
    lines: list[tuple[str, str, str] | None]


def _content_groups(stdout: bytes) -> list[_FileLines]:
    """rg's content output, per file. rg writes each file's lines together, but files in any order."""
    groups: dict[str, _FileLines] = {}
    current: _FileLines | None = None
    gap = False
    for raw in stdout.split(b"\n"):
        raw = raw.removesuffix(b"\r")  # with --crlf, rg ends its own "--" lines with CRLF
        if raw in (b"", b"--"):
            gap = gap or raw == b"--"
            continue
        path_bytes, nul, rest = raw.partition(b"\0")
        if not nul:  # a note such as "PATH: binary file matches (found "\0" byte around offset 3)"
            current, gap = groups.setdefault(_text(raw), _FileLines(_text(raw), [("", "", "")])), False
            continue
        path = _text(path_bytes)
        if current is None or current.path != path:
            current, gap = groups.setdefault(path, _FileLines(path, [])), False
        elif gap:
            current.lines.append(None)
            gap = False
        m = _LINE.fullmatch(rest)
        number, sep, body = (m.group(1), m.group(2), m.group(3)) if m else (b"", b":", rest)
        current.lines.append((_text(number), _text(sep), _text(body)))
    return sorted(groups.values(), key=lambda g: g.path)


def _content_entries(p: GrepInput, stdout: bytes) -> list[str]:
    has_context = any(int(n) > 0 for n in _context_args(p)[1::2])  # rg then puts "--" between files
    entries: list[str] = []
    for group in _content_groups(stdout):
        if entries and has_context:
            entries.append("--")
        for line in group.lines:
            if line is None:
                entries.append("--")
            else:
                number, sep, body = line
                shown = f"{number}{sep}{body}" if number and p.line_numbers else body
                entries.append(f"{group.path}{sep}{shown}")
    return entries


def _count_entries(stdout: bytes) -> tuple[list[str], int]:
    counts: list[tuple[str, int]] = []
    for raw in stdout.split(b"\n"):
        path, nul, count = raw.partition(b"\0")
        count = count.strip()
        if nul and count.isdigit():
            counts.append((_text(path), int(count)))
    counts.sort()
    return [f"{path}:{n}" for path, n in counts], sum(n for _, n in counts)


def _newest_first(stdout: bytes) -> list[str]:
    """Paths newest first (ties by path), as Claude Code orders them: recent work comes first."""
    keyed: list[tuple[float, str]] = []
    for raw in stdout.split(b"\0"):
        if raw:
            try:
                mtime = os.stat(os.fsdecode(raw)).st_mtime  # noqa: PTH116 - a Path per file costs more
            except OSError:
                mtime = 0.0  # deleted since rg saw it: last
            keyed.append((-mtime, _text(raw)))
    keyed.sort()
    return [path for _, path in keyed]


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "es" if noun.endswith("ch") else "s")


def _format(p: GrepInput, out: RgOutput) -> str:
    total: int | None = None
    stdout = out.stdout
    if out.truncated:  # the last record may be cut short
        stdout = stdout[: stdout.rfind(b"\0" if p.output_mode == "files_with_matches" else b"\n") + 1]
    if p.output_mode == "files_with_matches":
        entries = _newest_first(stdout)
    elif p.output_mode == "count":
        entries, total = _count_entries(stdout)
    else:
        entries = _content_entries(p, stdout)
    if not entries:
        return "No files found" if p.output_mode == "files_with_matches" else "No matches found"
    page = entries[p.offset : p.offset + p.head_limit] if p.head_limit else entries[p.offset :]
    if not page:
        return f"No results at offset {p.offset} ({len(entries)} in total)."
    body = "\n".join(page)
    if p.output_mode == "files_with_matches":
        body = f"Found {_plural(len(entries), 'file')}\n{body}"
    elif total is not None and not out.truncated:
        body += f"\n\nFound {_plural(total, 'total match')} across {_plural(len(entries), 'file')}."
    if p.head_limit and len(entries) > p.offset + p.head_limit:
        body += (
            f"\n\n(Results truncated at head_limit={p.head_limit}; "
            f"use offset={p.offset + p.head_limit} to see more.)"
        )
    if out.truncated:
        body += (
            f"\n\n(Search stopped after {MAX_OUTPUT_BYTES // 1_000_000} MB of results, so these are "
            "only part of them; narrow it with path, glob or type.)"
        )
    return body


def _explain(p: GrepInput, why: str) -> str:
    if why.startswith("unrecognized file type"):
        return (
            f"Unknown file type {p.type_!r}: use one of ripgrep's type names (rg --type-list), "
            "e.g. py, js, ts, go, rust, java, c, cpp, md, json, yaml"
        )
    if "regex" in why:
        hint = "; set multiline: true to match across lines" if "not allowed in a regex" in why else ""
        return f"Invalid regex pattern {p.pattern!r} (ripgrep uses Rust regex syntax): {why}{hint}"
    return f"ripgrep: {why}"


class GrepTool(Tool):
    name = "Grep"
    description = (
        "Searches file contents with ripgrep. The pattern is a Rust regex (ripgrep's syntax: no "
        "look-around or backreferences; escape literal braces, interface\\{\\} finds interface{}). "
        "Hidden files are searched; binary files, VCS directories and files excluded by "
        ".gitignore (in a git repository), .ignore or .rgignore are not, unless named as path. "
        'Filter files with glob (e.g. "*.{ts,tsx}") or type (e.g. "py"). output_mode: '
        '"files_with_matches" (default) lists paths, newest first; "content" shows matching '
        'lines (-A/-B/-C context, -n line numbers, -o only the match); "count" shows counts per '
        "file. Use multiline for patterns that span lines. Page with head_limit and offset. "
        "Always use this rather than running grep or rg through Bash."
    )
    input_model = GrepInput
    read_only = True
    path_keys = ("path",)
    primary_field = "pattern"

    async def call(self, params: GrepInput, ctx: ToolContext) -> ToolResult:
        base = ctx.resolve(params.path) if params.path else ctx.cwd
        if not base.exists():
            return error(f"Path does not exist: {base}. Current working directory: {ctx.cwd}")
        # Globs with a "/" are matched from rg's working directory: make that the searched one.
        cwd = base if base.is_dir() else base.parent
        out = await run_rg([*rg_args(params), "--", str(base)], cwd, ctx.env)
        if isinstance(out, str):
            return error(out)
        why = refusal(out)
        if why is not None:
            return error(_explain(params, why))
        # Parsing and stat-ing thousands of results would stall every other session's loop.
        return ToolResult(await asyncio.to_thread(_format, params, out))
