"""Grep: search file contents with a regular expression, with ripgrep's options and output.

Models are trained on ripgrep's flags and output, so this speaks them; but it runs on Python's
``re`` so the agent works wherever Python does, with or without ``rg`` installed.
"""

from __future__ import annotations

import asyncio
import bisect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from thrifty.tools.base import Tool, ToolContext, ToolInput, ToolResult, error
from thrifty.tools.glob import glob_to_regex, iter_files

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_LINE_CHARS = 500
BINARY_SNIFF_BYTES = 8192
DEFAULT_HEAD_LIMIT = 250

TYPE_GLOBS: dict[str, tuple[str, ...]] = {
    "c": ("*.c", "*.h"),
    "cpp": ("*.cpp", "*.cc", "*.cxx", "*.c++", "*.hpp", "*.hh", "*.hxx", "*.h", "*.inl"),
    "cs": ("*.cs",),
    "css": ("*.css", "*.scss", "*.sass", "*.less"),
    "go": ("*.go",),
    "html": ("*.html", "*.htm"),
    "java": ("*.java",),
    "js": ("*.js", "*.mjs", "*.cjs", "*.jsx"),
    "json": ("*.json", "*.jsonl"),
    "kotlin": ("*.kt", "*.kts"),
    "md": ("*.md", "*.markdown", "*.mdx"),
    "php": ("*.php",),
    "py": ("*.py", "*.pyi"),
    "rb": ("*.rb",),
    "ruby": ("*.rb",),
    "rust": ("*.rs",),
    "sh": ("*.sh", "*.bash", "*.zsh"),
    "sql": ("*.sql",),
    "swift": ("*.swift",),
    "toml": ("*.toml",),
    "ts": ("*.ts", "*.tsx", "*.mts", "*.cts"),
    "txt": ("*.txt",),
    "xml": ("*.xml",),
    "yaml": ("*.yaml", "*.yml"),
}

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
        None, alias="type", description="File type to search (e.g. py, js, ts, go, rust, java, md)"
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
    only_matching: bool = Field(False, alias="-o", description="Print only the matched parts of lines")
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


_Glob = tuple[re.Pattern[str], bool]  # the compiled glob, and whether it holds a "/"


@dataclass(frozen=True)
class _Filter:
    """Which walked files to search, with ripgrep's rule: a glob without "/" matches the name."""

    include: tuple[_Glob, ...]
    exclude: tuple[_Glob, ...]
    types: tuple[_Glob, ...]

    def accepts(self, rel: str) -> bool:
        name = rel.rsplit("/", 1)[-1]

        def hit(globs: tuple[_Glob, ...]) -> bool:
            return any(regex.fullmatch(rel if has_slash else name) for regex, has_slash in globs)

        if self.types and not hit(self.types):
            return False
        if self.include and not hit(self.include):
            return False
        return not hit(self.exclude)


def _compile(glob: str) -> _Glob:
    glob = glob.removeprefix("./")
    name_only = glob.removeprefix("**/")
    if "/" not in name_only:
        return glob_to_regex(name_only), False
    return glob_to_regex(glob), True


def _make_filter(glob: str | None, type_: str | None) -> _Filter | str:
    globs = split_globs(glob or "")
    include = tuple(_compile(g) for g in globs if not g.startswith("!"))
    exclude = tuple(_compile(g[1:]) for g in globs if g.startswith("!"))
    types: tuple[_Glob, ...] = ()
    if type_:
        if type_ not in TYPE_GLOBS:
            return f"Unknown file type {type_!r}. Known types: {', '.join(sorted(TYPE_GLOBS))}"
        types = tuple(_compile(g) for g in TYPE_GLOBS[type_])
    return _Filter(include, exclude, types)


def _load(path: Path, size_cap: int | None) -> str | None:
    """The file's text, or None for what ripgrep would skip: binary, unreadable or too big."""
    try:
        if size_cap is not None and path.stat().st_size > size_cap:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\x00" in data[:BINARY_SNIFF_BYTES]:
        return None
    return data.decode("utf-8", errors="replace")


def _clip(line: str) -> str:
    return line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + " [... line truncated]"


@dataclass(frozen=True)
class _Search:
    regex: re.Pattern[str]
    params: GrepInput

    def _may_match(self, text: str) -> bool:
        """One pass over the whole text first: most files have no match, and per-line is slow."""
        if "\\A" in self.regex.pattern or "\\Z" in self.regex.pattern:
            return True  # anchors that mean "line" per line but "file" on the whole text
        return self.regex.search(text.replace("\r\n", "\n") if "\r" in text else text) is not None

    def matches(self, text: str) -> tuple[list[str], list[tuple[int, int, str]]]:
        """The file's lines and its matches as (first line, last line, matched text), 0-based."""
        lines = [line.removesuffix("\r") for line in text.split("\n")]
        if text.endswith("\n"):
            lines.pop()
        found: list[tuple[int, int, str]] = []
        if self.params.multiline:
            starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
            for m in self.regex.finditer(text):
                first = bisect.bisect_right(starts, m.start()) - 1
                last = bisect.bisect_right(starts, max(m.start(), m.end() - 1)) - 1
                found.append((first, min(last, len(lines) - 1), m.group(0)))
        elif self._may_match(text):
            for number, line in enumerate(lines):
                if self.params.only_matching:
                    found.extend(
                        (number, number, m.group(0)) for m in self.regex.finditer(line) if m.group(0)
                    )
                elif self.regex.search(line):
                    found.append((number, number, ""))
        return lines, found

    def content_lines(self, shown: str, text: str) -> Iterator[str]:
        p = self.params
        lines, found = self.matches(text)
        if not found:
            return

        def fmt(index: int, sep: str, body: str) -> str:
            return (
                f"{shown}{sep}{index + 1}{sep}{_clip(body)}"
                if p.line_numbers
                else f"{shown}{sep}{_clip(body)}"
            )

        if p.only_matching:
            for first, _, matched in found:
                if matched:
                    yield fmt(first, ":", matched)
            return
        fallback = p.around_context if p.around_context is not None else (p.context or 0)
        before = p.before_context if p.before_context is not None else fallback
        after = p.after_context if p.after_context is not None else fallback
        hits = {i for first, last, _ in found for i in range(first, last + 1)}
        wanted = sorted({j for i in hits for j in range(max(0, i - before), min(len(lines), i + after + 1))})
        previous = None
        for index in wanted:
            if previous is not None and index != previous + 1 and (before or after):
                yield "--"
            yield fmt(index, ":" if index in hits else "-", lines[index])
            previous = index

    def run(self, targets: Iterable[tuple[Path, str | None]]) -> tuple[list[str], int, bool]:
        """Output entries, their total count when known, and whether the walk stopped early."""
        p = self.params
        wanted = p.offset + p.head_limit if p.head_limit else None
        entries: list[str] = []
        mtimes: list[tuple[float, str]] = []
        total_matches = 0
        for path, text in targets:
            if text is None:
                continue
            shown = str(path)
            if p.output_mode == "content":
                entries.extend(self.content_lines(shown, text))
            else:
                _, found = self.matches(text)
                if not found:
                    continue
                count = len(found) if p.multiline or p.only_matching else len({f for f, _, _ in found})
                total_matches += count
                if p.output_mode == "count":
                    entries.append(f"{shown}:{count}")
                else:
                    mtimes.append((-_mtime(path), shown))
            if wanted is not None and p.output_mode != "files_with_matches" and len(entries) > wanted:
                return entries, total_matches, True
        if p.output_mode == "files_with_matches":
            entries = [shown for _, shown in sorted(mtimes)]
        return entries, total_matches, False


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "es" if noun.endswith("ch") else "s")


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _targets(base: Path, flt: _Filter) -> Iterator[tuple[Path, str | None]]:
    if base.is_file():
        yield base, _load(base, None)
        return
    for path, rel in iter_files(base):
        if flt.accepts(rel) and path.is_file():
            yield path, _load(path, MAX_FILE_BYTES)


def _grep(search: _Search, base: Path, flt: _Filter) -> str:
    p = search.params
    entries, total_matches, stopped = search.run(_targets(base, flt))
    if not entries:
        return "No files found" if p.output_mode == "files_with_matches" else "No matches found"
    page = entries[p.offset : p.offset + p.head_limit] if p.head_limit else entries[p.offset :]
    more = stopped or (p.head_limit > 0 and len(entries) > p.offset + p.head_limit)
    if not page:
        return f"No results at offset {p.offset} ({len(entries)} in total)."
    body = "\n".join(page)
    if p.output_mode == "files_with_matches":
        body = f"Found {_plural(len(entries), 'file')}\n{body}"
    elif p.output_mode == "count" and not stopped:
        body += f"\n\nFound {_plural(total_matches, 'total match')} across {_plural(len(entries), 'file')}."
    if more:
        body += (
            f"\n\n(Results truncated at head_limit={p.head_limit}; "
            f"use offset={p.offset + p.head_limit} to see more.)"
        )
    return body


class GrepTool(Tool):
    name = "Grep"
    description = (
        "Searches file contents with a regular expression (Python re syntax, close to ripgrep's). "
        'Filter files with glob (e.g. "*.{ts,tsx}") or type (e.g. "py"). output_mode: '
        '"files_with_matches" (default) lists paths, newest first; "content" shows matching '
        'lines (with -A/-B/-C context, -n line numbers, -o only the match); "count" shows counts '
        "per file. Use multiline for patterns that span lines. Results are paged with head_limit "
        "and offset. Always use this rather than running grep or rg through Bash."
    )
    input_model = GrepInput
    read_only = True

    async def call(self, params: GrepInput, ctx: ToolContext) -> ToolResult:
        base = ctx.resolve(params.path) if params.path else ctx.cwd
        if not base.exists():
            return error(f"Path does not exist: {base}. Current working directory: {ctx.cwd}")
        flags = re.MULTILINE | (re.IGNORECASE if params.ignore_case else 0)
        flags |= re.DOTALL if params.multiline else 0
        try:
            regex = re.compile(params.pattern, flags)
        except re.error as exc:
            return error(f"Invalid regex pattern {params.pattern!r}: {exc}")
        flt = _make_filter(params.glob, params.type_)
        if isinstance(flt, str):
            return error(flt)
        return ToolResult(await asyncio.to_thread(_grep, _Search(regex, params), base, flt))
