"""Markdown-aware text passes for memory files: comment stripping and finding ``@path`` imports.

These rules live apart from discovery because they are pure string work: they decide which parts
of a file are prose (where ``@path`` means "import") and which are code or comments (where it
means nothing), and that is easiest to test without touching a filesystem.

Only a line-level view of Markdown is taken. Fenced code blocks (````` ``` ````` or ``~~~``) and
inline code spans on one line are recognised; indented code blocks and code spans that wrap over
several lines are not, because telling them apart from list continuations needs a full parser and
a missed import there costs far less than a wrong one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_COMMENT_START = re.compile(r"^ {0,3}<!--")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
# ``@`` must start the line or follow whitespace, so e-mail addresses and decorators inside prose
# are not taken for imports. A backslash-escaped space continues the path.
_IMPORT = re.compile(r"(?<!\S)@((?:[^\s\\]|\\ )+)")
_BACKTICKS = re.compile(r"`+")
_VALID_START = re.compile(r"^(?:\./|~/|/(?!$)|[A-Za-z0-9._-])")
_TRAILING_PUNCT = ".,;:!?)]}'\""


@dataclass(frozen=True)
class ImportRef:
    """One ``@path`` occurrence: where it sits in the text and the path it names."""

    start: int
    end: int
    path: str


def _fence_close(line: str, fence: str) -> bool:
    stripped = line.strip()
    return (
        len(stripped) >= len(fence) and set(stripped) == {fence[0]} and len(line) - len(line.lstrip(" ")) <= 3
    )


def _iter_lines(text: str) -> Iterator[tuple[int, str, bool]]:
    """Yield ``(offset, line, in_code)`` so callers can skip fenced code without re-parsing it.

    An unclosed fence runs to the end of the file, as CommonMark says.
    """
    fence: str | None = None
    offset = 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        if fence is None:
            m = _FENCE.match(body)
            if m and not (m.group(1)[0] == "`" and "`" in body[m.end() :]):
                fence = m.group(1)
                yield offset, line, True
            else:
                yield offset, line, False
        else:
            if _fence_close(body, fence):
                fence = None
            yield offset, line, True
        offset += len(line)


def strip_html_comments(text: str) -> str:
    """Remove block-level ``<!-- ... -->`` comments, which authors use for notes to humans.

    A comment counts as block-level when its line starts with ``<!--`` (up to three spaces of
    indent). Comments inside prose lines or code fences are kept, because there they are content.
    Text after the closing ``-->`` on the same line survives, and an unterminated comment is left
    alone rather than swallowing the rest of the file.
    """
    lines = list(_iter_lines(text))
    out: list[str] = []
    i = 0
    while i < len(lines):
        _, line, in_code = lines[i]
        if in_code or not _COMMENT_START.match(line):
            out.append(line)
            i += 1
            continue
        j = i
        block = line
        while "-->" not in block[block.index("<!--") + 4 :] and j + 1 < len(lines):
            j += 1
            block += lines[j][1]
        if "-->" not in block[block.index("<!--") + 4 :]:
            out.append(line)
            i += 1
            continue
        rest = _COMMENT.sub("", block)
        if rest.strip():
            out.append(rest)
        i = j + 1
    return "".join(out)


def _code_span_ranges(line: str) -> list[tuple[int, int]]:
    """Spans of inline code on one line: a run of N backticks up to the next run of exactly N."""
    ranges: list[tuple[int, int]] = []
    runs = list(_BACKTICKS.finditer(line))
    k = 0
    while k < len(runs):
        opener = runs[k]
        for m in range(k + 1, len(runs)):
            if len(runs[m].group()) == len(opener.group()):
                ranges.append((opener.start(), runs[m].end()))
                k = m + 1
                break
        else:
            k += 1
    return ranges


def is_import_path(raw: str) -> bool:
    """Whether an ``@word`` looks like a path at all, so ``@@``, ``@#tag`` and the like are text."""
    return bool(raw) and not raw.startswith("@") and bool(_VALID_START.match(raw))


def clean_import_path(raw: str) -> str:
    """Drop a ``#fragment`` and unescape ``\\ `` so the string can be used as a filesystem path."""
    path = raw.split("#", 1)[0]
    return path.replace("\\ ", " ")


def punctuation_variants(path: str) -> list[str]:
    """The path, then the path with trailing sentence punctuation removed one char at a time.

    Authors write "see @README.md." in prose; the full stop is not part of the file name.
    """
    variants = [path]
    while path and path[-1] in _TRAILING_PUNCT:
        path = path[:-1]
        if path:
            variants.append(path)
    return variants


def find_imports(text: str) -> list[ImportRef]:
    """Every ``@path`` in prose, in order; code fences and inline code spans are skipped."""
    refs: list[ImportRef] = []
    for offset, line, in_code in _iter_lines(text):
        if in_code or "@" not in line:
            continue
        spans = _code_span_ranges(line)
        for m in _IMPORT.finditer(line):
            if any(a <= m.start() < b for a, b in spans):
                continue
            raw = m.group(1)
            if not is_import_path(raw):
                continue
            refs.append(ImportRef(offset + m.start(), offset + m.end(), raw))
    return refs


def split_frontmatter(text: str) -> tuple[str | None, str]:
    """Separate a leading ``---`` YAML block from the body; ``None`` when there is none."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip("\r\n").rstrip() != "---":
        return None, text
    for i in range(1, len(lines)):
        if lines[i].rstrip("\r\n").rstrip() in ("---", "..."):
            return "".join(lines[1:i]), "".join(lines[i + 1 :])
    return None, text
