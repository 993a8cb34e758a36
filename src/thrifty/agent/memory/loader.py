"""CLAUDE.md memory discovery, compatible with Claude Code's launch-time loading.

Memory is concatenated, never overridden: every file found is shown to the model, broadest scope
first, so instructions closer to the working directory read last and win ties in practice.

Order of the files returned:

1. managed policy ``CLAUDE.md`` (``/etc/claude-code`` on Linux), which ``setting_sources`` cannot
   turn off, as with managed settings;
2. user ``$CLAUDE_CONFIG_DIR/CLAUDE.md`` (or ``~/.claude/CLAUDE.md``), then user rules
   ``<config dir>/rules/**/*.md``;
3. for each directory from the filesystem root down to the (resolved) cwd: ``CLAUDE.md``,
   ``.claude/CLAUDE.md``, ``.claude/rules/**/*.md``, then ``CLAUDE.local.md``.

The ancestor walk stops at the filesystem root, not at a repository root or at home, because
Claude Code does the same and a ``CLAUDE.md`` above the repository is usually deliberate. A file is
loaded at most once (compared by resolved path), and the user config directory is never read again
as project memory when the walk passes through home, so ``~/.claude/CLAUDE.md`` keeps its user scope
and excluding ``user`` really excludes it. Rules are loaded for every directory on the walk, as
Claude Code does, so starting in a subdirectory of a repository still picks up its rules.

Nothing here raises for a bad file: unreadable or undecodable files are skipped and noted in
``Memory.warnings``, because a broken memory file must not stop an agent from starting.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from thrifty.agent.memory.markdown import (
    clean_import_path,
    find_imports,
    punctuation_variants,
    split_frontmatter,
    strip_html_comments,
)

Scope = Literal["managed", "user", "project", "local"]

MAX_IMPORT_HOPS = 4
"""Imports nest this many hops below a top-level memory file; deeper ``@path`` stays as text."""

MEMORY_PREAMBLE = (
    "Codebase and user instructions are shown below. Be sure to adhere to these instructions. "
    "IMPORTANT: These instructions OVERRIDE any default behavior and you MUST follow them exactly "
    "as written."
)

_SCOPE_LABELS: dict[Scope, str] = {
    "managed": "managed policy instructions, set by your organization",
    "project": "project instructions, checked into the codebase",
    "local": "user's private project instructions, not checked in",
    "user": "user's private global instructions for all projects",
}


@dataclass(frozen=True)
class MemoryFile:
    """One loaded memory file; ``text`` has imports expanded and block comments stripped."""

    path: Path
    scope: Scope
    text: str


@dataclass(frozen=True)
class ConditionalRule:
    """A rules file with ``paths:`` frontmatter, kept so the loop can load it when a match is read."""

    path: Path
    scope: Scope
    globs: tuple[str, ...]


@dataclass
class Memory:
    files: list[MemoryFile] = field(default_factory=list)
    conditional_rules: list[ConditionalRule] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def render(self) -> str:
        """The block for the system prompt, or ``""`` when no file has any content.

        Each file is introduced by its absolute path and scope, as Claude Code does, so the model
        can tell a team convention from a personal preference and cite where a rule came from.
        """
        parts = [
            f"Contents of {f.path} ({_SCOPE_LABELS[f.scope]}):\n\n{f.text.strip()}"
            for f in self.files
            if f.text.strip()
        ]
        if not parts:
            return ""
        return MEMORY_PREAMBLE + "\n\n" + "\n\n".join(parts)


def default_managed_dir() -> Path:
    if sys.platform == "darwin":
        return Path("/Library/Application Support/ClaudeCode")
    if sys.platform == "win32":
        return Path(r"C:\Program Files\ClaudeCode")
    return Path("/etc/claude-code")


def _resolve(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


class _Loader:
    """Holds the state one discovery pass shares: what was loaded, and what went wrong."""

    def __init__(self, *, cwd: Path, home: Path, allow_external_imports: bool) -> None:
        self.cwd = cwd
        self.home = home
        self.allow_external_imports = allow_external_imports
        self.memory = Memory()
        self.seen: set[Path] = set()

    def read(self, path: Path) -> str | None:
        try:
            if not path.is_file():
                return None
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            self.memory.warnings.append(f"skipped unreadable memory file {path}: {exc}")
            return None
        if "\x00" in text:
            self.memory.warnings.append(f"skipped binary memory file {path}")
            return None
        return text

    def add(self, path: Path, scope: Scope, *, rule: bool = False) -> None:
        real = _resolve(path)
        if real in self.seen:
            return
        raw = self.read(path)
        if raw is None:
            return
        self.seen.add(real)
        if rule:
            front, body = split_frontmatter(raw)
            if front is not None:
                globs = self._rule_globs(path, front)
                if globs:
                    self.memory.conditional_rules.append(ConditionalRule(path, scope, globs))
                    return
                raw = body
        text = self.expand(path, scope, raw, depth=0, chain=(real,))
        self.memory.files.append(MemoryFile(path=path, scope=scope, text=text))

    def _rule_globs(self, path: Path, front: str) -> tuple[str, ...]:
        import yaml  # here, not at the top: only rule files with frontmatter need it

        try:
            data = yaml.safe_load(front)
        except yaml.YAMLError as exc:
            self.memory.warnings.append(f"ignored malformed frontmatter in {path}: {exc}")
            return ()
        if not isinstance(data, dict):
            return ()
        paths = data.get("paths")
        if isinstance(paths, str):
            return tuple(p.strip() for p in paths.split(",") if p.strip())
        if isinstance(paths, list):
            return tuple(str(p) for p in paths if str(p).strip())
        return ()

    def add_rules(self, rules_dir: Path, scope: Scope) -> None:
        """Load ``**/*.md`` under a rules directory in a stable, path-sorted order."""
        if not rules_dir.is_dir():
            return
        found: list[Path] = []
        # os.walk without followlinks: a symlinked directory loop must not hang startup.
        for root, dirs, files in os.walk(rules_dir, onerror=lambda _e: None):
            dirs.sort()
            found.extend(Path(root) / name for name in files if name.endswith(".md"))
        for path in sorted(found, key=lambda p: p.relative_to(rules_dir).parts):
            self.add(path, scope, rule=True)

    def _target(self, base: Path, raw: str) -> tuple[Path, str] | None:
        """The existing file an import names, and the part of ``raw`` that named it.

        The raw token is tried first, then without trailing punctuation. Of the variants naming the
        same file the shortest wins, so in ``@a.md#usage,`` the comma stays in the text.
        """
        found: tuple[Path, str] | None = None
        for variant in punctuation_variants(raw):
            candidate = clean_import_path(variant)
            if found is not None:
                if candidate == clean_import_path(found[1]):
                    found = (found[0], variant)
                    continue
                break
            if candidate in ("", "~"):
                continue
            if candidate.startswith("~/"):
                path = self.home / candidate[2:]
            else:
                path = Path(candidate)
                if not path.is_absolute():
                    path = base / path
            try:
                if path.is_file():
                    found = (path, variant)
            except OSError:
                continue
        return found

    def expand(self, path: Path, scope: Scope, raw: str, *, depth: int, chain: tuple[Path, ...]) -> str:
        """Strip comments and splice imported files in place of their ``@path`` tokens.

        Imported files go through the same pass, so a comment or import inside them behaves as it
        would at top level. The chain of files being expanded guards against cycles; a repeated
        import from a different branch is expanded again, since it is not a cycle.
        """
        text = strip_html_comments(raw)
        refs = find_imports(text)
        if not refs:
            return text
        out: list[str] = []
        pos = 0
        for ref in refs:
            out.append(text[pos : ref.start])
            pos = ref.start
            found = self._target(path.parent, ref.path)
            if found is None:
                continue
            target, variant = found
            real = _resolve(target)
            if real in chain:
                self.memory.warnings.append(f"import cycle: {path} imports {target}; left as text")
                continue
            if depth + 1 > MAX_IMPORT_HOPS:
                self.memory.warnings.append(
                    f"import depth limit ({MAX_IMPORT_HOPS}) reached at {path} -> {target}; left as text"
                )
                continue
            external = scope in ("project", "local") and not real.is_relative_to(self.cwd)
            if external and not self.allow_external_imports:
                self.memory.warnings.append(f"external import {target} from {path} not approved")
                continue
            body = self.read(target)
            if body is None:
                continue
            expanded = self.expand(target, scope, body, depth=depth + 1, chain=(*chain, real))
            out.append(expanded.rstrip("\n"))
            # Punctuation that was not part of the file name stays in the text.
            pos = ref.start + 1 + len(variant)
        out.append(text[pos:])
        return "".join(out)


def load_memory(
    cwd: Path,
    *,
    home: Path | None = None,
    environ: Mapping[str, str] | None = None,
    setting_sources: Sequence[str] | None = None,
    managed_dir: Path | None = None,
    additional_dirs: Sequence[Path] = (),
    allow_external_imports: bool = True,
) -> Memory:
    """Discover and load the memory files Claude Code would load at launch for ``cwd``.

    ``setting_sources`` of ``None`` means all of user, project and local. ``additional_dirs``
    (``--add-dir``) contribute memory only when ``CLAUDE_CODE_ADDITIONAL_DIRECTORIES_CLAUDE_MD=1``.
    ``allow_external_imports=False`` is for a workspace whose external imports were never approved:
    imports from project or local files that resolve outside ``cwd`` then stay as text.
    """
    env = os.environ if environ is None else environ
    home = (home if home is not None else Path.home()).expanduser()
    sources = {"user", "project", "local"} if setting_sources is None else set(setting_sources)
    cwd = _resolve(cwd.expanduser())
    loader = _Loader(cwd=cwd, home=home, allow_external_imports=allow_external_imports)

    config_dir = (
        Path(env["CLAUDE_CONFIG_DIR"]).expanduser() if env.get("CLAUDE_CONFIG_DIR") else home / ".claude"
    )
    user_dirs = {_resolve(config_dir), _resolve(home / ".claude")}

    loader.add((managed_dir or default_managed_dir()) / "CLAUDE.md", "managed")
    if "user" in sources:
        loader.add(config_dir / "CLAUDE.md", "user")
        loader.add_rules(config_dir / "rules", "user")
    # Mark user files as seen even when user memory is off, so the walk cannot pick them up.
    loader.seen.update({_resolve(d / "CLAUDE.md") for d in user_dirs})

    def load_dir(directory: Path) -> None:
        dot_claude = directory / ".claude"
        is_user_dir = _resolve(dot_claude) in user_dirs
        if "project" in sources:
            loader.add(directory / "CLAUDE.md", "project")
            if not is_user_dir:
                loader.add(dot_claude / "CLAUDE.md", "project")
                loader.add_rules(dot_claude / "rules", "project")
        if "local" in sources:
            loader.add(directory / "CLAUDE.local.md", "local")

    for directory in reversed((cwd, *cwd.parents)):
        load_dir(directory)
    if env.get("CLAUDE_CODE_ADDITIONAL_DIRECTORIES_CLAUDE_MD") in ("1", "true"):
        for extra in additional_dirs:
            load_dir(_resolve(extra.expanduser()))
    return loader.memory
