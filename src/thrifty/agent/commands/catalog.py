"""Custom slash commands and skills: finding the files and reading their front matter.

Claude Code's layout, by setting source:

- project: ``<cwd>/.claude/commands/**/*.md`` and ``<cwd>/.claude/skills/<name>/SKILL.md``
  (and the skills of each ``--add-dir`` directory);
- user: ``$CLAUDE_CONFIG_DIR/commands`` and ``$CLAUDE_CONFIG_DIR/skills`` (``~/.claude`` by default).

A command's name is its path under ``commands/`` without ``.md``, subdirectories joined with
``:`` (``commands/git/push.md`` is ``/git:push``); a skill's is its ``name`` front matter, else
its directory's name. The first of a name wins, in the order project skills, project commands,
user skills, user commands, then each plugin's commands and skills (the order Claude Code lists
them in ``system/init``). A plugin's are named under its name (``/demo:greet``, ``demo:shout``);
a plugin skill also answers to its bare name when nothing else has it, as in Claude Code.

Front matter is the ``key: value`` lines between two ``---`` lines. Claude Code reads a broken
block leniently, and so does thrifty (a command with bad front matter still loads), but each
problem is reported in one line naming the file (``Catalog.warnings``, printed on stderr).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = ["Catalog", "Command", "load_catalog", "parse_command_file"]

Kind = Literal["command", "skill"]

#: How much of a body becomes the description when the front matter gives none.
DESCRIPTION_CHARS = 100
_KEY_LINE = re.compile(r"^([A-Za-z0-9_-]+)\s*:(.*)$")
_MAX_FILE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Command:
    """One slash command: a ``.claude/commands`` file or a skill."""

    name: str
    kind: Kind
    body: str
    path: Path
    source: str
    description: str = ""
    argument_hint: str | None = None
    #: Permission rules allowed while the command's turn runs (``allowed-tools``).
    allowed_tools: tuple[str, ...] = ()
    #: The model for the command's turn (``model``); None keeps the session's.
    model: str | None = None
    #: ``disable-model-invocation: true``: only the user may run it; the model is not told of it.
    user_only: bool = False

    def entry(self) -> dict[str, str]:
        """The ``initialize`` response's ``commands[]`` entry."""
        return {"name": self.name, "description": self.description, "argumentHint": self.argument_hint or ""}


@dataclass
class Catalog:
    """The commands and skills of one session, by name, in listing order."""

    commands: dict[str, Command] = field(default_factory=dict)
    #: One line per problem found while loading (bad front matter, unreadable files).
    warnings: list[str] = field(default_factory=list)
    #: Bare names of plugin skills -> their full names (``shout`` -> ``demo:shout``).
    aliases: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> Command | None:
        found = self.commands.get(name)
        if found is None and name in self.aliases:
            found = self.commands.get(self.aliases[name])
        return found

    @property
    def names(self) -> list[str]:
        """``system/init``'s ``slash_commands``."""
        return list(self.commands)

    @property
    def skill_names(self) -> list[str]:
        """``system/init``'s ``skills``."""
        return [c.name for c in self.commands.values() if c.kind == "skill"]

    def model_invocable(self) -> list[Command]:
        """What the ``Skill`` tool may run: every command and skill not marked user-only."""
        return [c for c in self.commands.values() if not c.user_only]

    def restrict(self, names: Sequence[str]) -> None:
        """Let the model invoke only ``names`` (the SDK's ``skills`` list); users may still run the rest."""
        wanted = set(names)
        for name, command in self.commands.items():
            if name not in wanted:
                self.commands[name] = dataclasses.replace(command, user_only=True)

    def add(self, command: Command) -> None:
        self.commands.setdefault(command.name, command)


def config_dir(environ: Mapping[str, str]) -> Path:
    """``$CLAUDE_CONFIG_DIR``, else ``~/.claude`` (the user source of commands and skills)."""
    configured = environ.get("CLAUDE_CONFIG_DIR")
    if configured:
        return Path(configured).expanduser()
    home = environ.get("HOME")
    return (Path(home) if home else Path.home()) / ".claude"


def load_catalog(
    cwd: Path,
    *,
    environ: Mapping[str, str] | None = None,
    setting_sources: Sequence[str] | None = None,
    bare: bool = False,
    disabled: bool = False,
    additional_dirs: Sequence[Path] = (),
    plugins: Sequence[tuple[str, Path]] = (),
) -> Catalog:
    """The session's commands and skills; none under ``disabled``, only the plugins' under ``bare``.

    ``setting_sources`` None means user, project and local (commands have no local source);
    ``plugins`` are (namespace, directory) pairs, read whatever the setting sources.
    """
    catalog = Catalog()
    if disabled:
        return catalog
    if bare:
        _load_plugins(catalog, plugins)
        return catalog
    env = os.environ if environ is None else environ
    sources = {"user", "project", "local"} if setting_sources is None else set(setting_sources)
    if "project" in sources:
        for base in (cwd, *additional_dirs):
            _load_skills(catalog, base / ".claude" / "skills", "projectSettings")
        _load_commands(catalog, cwd / ".claude" / "commands", "projectSettings")
    if "user" in sources:
        user = config_dir(env)
        _load_skills(catalog, user / "skills", "userSettings")
        _load_commands(catalog, user / "commands", "userSettings")
    _load_plugins(catalog, plugins)
    return catalog


def _load_plugins(catalog: Catalog, plugins: Sequence[tuple[str, Path]]) -> None:
    for namespace, root in plugins:
        _load_commands(catalog, root / "commands", "plugin", f"{namespace}:")
        for skill in _load_skills(catalog, root / "skills", "plugin", f"{namespace}:"):
            bare = skill.name.partition(":")[2]
            catalog.aliases.setdefault(bare, skill.name)


def _load_commands(catalog: Catalog, root: Path, source: str, prefix: str = "") -> None:
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*.md")):
        if not path.is_file():
            continue
        name = ":".join(path.relative_to(root).with_suffix("").parts)
        command = parse_command_file(path, name, "command", source, catalog.warnings)
        if command is not None:
            catalog.add(dataclasses.replace(command, name=prefix + command.name) if prefix else command)


def _load_skills(catalog: Catalog, root: Path, source: str, prefix: str = "") -> list[Command]:
    loaded: list[Command] = []
    if not root.is_dir():
        return loaded
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        path = folder / "SKILL.md"
        if path.is_file():
            skill = parse_command_file(path, folder.name, "skill", source, catalog.warnings)
            if skill is not None:
                skill = dataclasses.replace(skill, name=prefix + skill.name) if prefix else skill
                catalog.add(skill)
                loaded.append(skill)
    return loaded


def parse_command_file(path: Path, name: str, kind: Kind, source: str, warnings: list[str]) -> Command | None:
    """The command in ``path``, or None (with a warning) when the file cannot be read."""
    try:
        if path.stat().st_size > _MAX_FILE_BYTES:
            warnings.append(f"{path}: larger than 1 MB; not loaded as a slash command")
            return None
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
        warnings.append(f"{path}: cannot read ({reason}); not loaded as a slash command")
        return None
    meta, body = parse_front_matter(text, path, warnings)
    if kind == "skill" and meta.get("name"):
        name = str(meta["name"])
    description = str(meta.get("description") or "") or _first_line(body)
    model = meta.get("model")
    return Command(
        name=name,
        kind=kind,
        body=body,
        path=path,
        source=source,
        description=description,
        argument_hint=str(meta["argument-hint"]) if meta.get("argument-hint") else None,
        allowed_tools=_rules(meta.get("allowed-tools")),
        model=str(model) if model and model != "inherit" else None,
        user_only=_flag(meta.get("disable-model-invocation"), path, warnings),
    )


def parse_front_matter(text: str, path: Path, warnings: list[str]) -> tuple[dict[str, object], str]:
    """The front matter's values and the body. Lists are ``[a, b]``, ``a, b`` or ``- a`` lines."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return {}, text
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        warnings.append(f"{path}: front matter has no closing '---' line; the whole file is the prompt")
        return {}, text
    meta: dict[str, object] = {}
    key: str | None = None
    for number, raw in enumerate(lines[1:end], start=2):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        item = line.strip()
        if item.startswith("- ") and key is not None:
            previous = meta.get(key)
            values = previous if isinstance(previous, list) else []
            meta[key] = [*values, _unquote(item[2:].strip())]
            continue
        match = _KEY_LINE.match(line)
        if match is None:
            warnings.append(f"{path}: front matter line {number} is not 'key: value' ({item!r}); ignored")
            key = None
            continue
        key, value = match.group(1), match.group(2).strip()
        meta[key] = _value(value)
    return meta, "".join(lines[end + 1 :])


def _value(text: str) -> object:
    if text.startswith("[") and text.endswith("]"):
        return [_unquote(v.strip()) for v in text[1:-1].split(",") if v.strip()]
    return _unquote(text)


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def _rules(value: object) -> tuple[str, ...]:
    """``allowed-tools`` as rules: a list, or one string split on commas outside parentheses."""
    if isinstance(value, list):
        return tuple(str(v) for v in value if str(v).strip())
    if not isinstance(value, str) or not value.strip():
        return ()
    rules, depth, current = [], 0, ""
    for char in value:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            rules.append(current.strip())
            current = ""
        else:
            current += char
    rules.append(current.strip())
    return tuple(r for r in rules if r)


def _flag(value: object, path: Path, warnings: list[str]) -> bool:
    if value in (None, "", "false", "False"):
        return False
    if value in ("true", "True"):
        return True
    warnings.append(f"{path}: disable-model-invocation must be true or false, not {value!r}; taken as false")
    return False


def _first_line(body: str) -> str:
    for line in body.splitlines():
        if line.strip():
            text = line.strip().lstrip("#").strip()
            return text if len(text) <= DESCRIPTION_CHARS else text[: DESCRIPTION_CHARS - 1] + "…"
    return ""
