"""Subagent definitions: where they come from and what each one holds.

Claude Code's sources, lowest precedence first: the built-in ``general-purpose`` agent, the user's
``~/.claude/agents/*.md`` (``$CLAUDE_CONFIG_DIR/agents``), the project's ``.claude/agents/*.md``,
then ``--agents`` JSON (the CLI) or ``agents=`` (the SDKs, sent by the official one in
``initialize``). A file is Markdown with front matter (``name``, ``description``, ``tools``,
``disallowedTools``, ``model``, ``maxTurns``); its body is the agent's system prompt.

A mistake in ``--agents`` or ``agents=`` is the caller's and fails the run in one line
(``AgentConfigError``); a broken file on disk is skipped, as Claude Code skips it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("thrifty.agent.subagents")

__all__ = [
    "GENERAL_PURPOSE",
    "AgentConfigError",
    "AgentDef",
    "all_definitions",
    "load_agent_files",
    "parse_agent_file",
    "parse_agents",
    "parse_agents_json",
]

#: Model values an agent may name besides a full model id.
MODEL_CHOICES = ("sonnet", "opus", "haiku", "fable", "inherit")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)(.*)\Z", re.DOTALL)


class AgentConfigError(ValueError):
    """An agent definition given by the caller that cannot be used; its text is one line."""


@dataclass(frozen=True)
class AgentDef:
    """One subagent: when to use it, its system prompt, its tools and its model."""

    name: str
    description: str
    prompt: str
    #: Tool names it may use; None: every tool of the parent (except the Agent tool).
    tools: tuple[str, ...] | None = None
    disallowed_tools: tuple[str, ...] = ()
    #: An alias (``sonnet``), a full model id, or None / ``inherit``: the parent's model.
    model: str | None = None
    max_turns: int | None = None
    #: ``built-in``, ``user``, ``project``, ``plugin``, ``flag`` (``--agents``) or ``sdk``.
    source: str = "flag"

    def summary(self) -> dict[str, str]:
        """The entry of an ``initialize`` response's ``agents`` list."""
        return {"name": self.name, "description": self.description}


GENERAL_PURPOSE = AgentDef(
    name="general-purpose",
    description=(
        "General-purpose agent for researching complex questions, searching for code, and "
        "executing multi-step tasks."
    ),
    prompt=(
        "You are an agent for a headless coding assistant. Given the user's message, use the tools "
        "available to complete the task fully, then answer with a concise report of what you "
        "found or did; the caller sees only your final message."
    ),
    source="built-in",
)


def _names(value: Any, where: str) -> tuple[str, ...] | None:
    """A tool list: a list of names or a comma-separated string; None when absent."""
    if value is None:
        return None
    if isinstance(value, str):
        return tuple(n.strip() for n in value.split(",") if n.strip())
    if isinstance(value, Sequence) and all(isinstance(n, str) for n in value):
        return tuple(value)
    raise AgentConfigError(f"{where}: tools must be a list of tool names")


def _field(raw: Any, key: str) -> Any:
    if isinstance(raw, Mapping):
        return raw.get(key)
    return getattr(raw, key, None)  # the official SDK's AgentDefinition, or any object like it


def _definition(name: str, raw: Any, source: str) -> AgentDef:
    where = f"agent {name!r}"
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise AgentConfigError(f"invalid agent name {name!r}: use letters, digits, '-', '_', '.' or ':'")
    if raw is None or isinstance(raw, (str, int, float, list)):
        raise AgentConfigError(f"{where}: expected an object with description and prompt")
    description, prompt = _field(raw, "description"), _field(raw, "prompt")
    if not isinstance(description, str) or not description.strip():
        raise AgentConfigError(f"{where}: description is required (a non-empty string)")
    if not isinstance(prompt, str) or not prompt.strip():
        raise AgentConfigError(f"{where}: prompt is required (a non-empty string)")
    model = _field(raw, "model")
    if model is not None and (not isinstance(model, str) or not model.strip()):
        raise AgentConfigError(f"{where}: model must be sonnet, opus, haiku, inherit or a model id")
    max_turns = _field(raw, "maxTurns")
    if max_turns is not None and (
        isinstance(max_turns, bool) or not isinstance(max_turns, int) or max_turns < 1
    ):
        raise AgentConfigError(f"{where}: maxTurns must be a whole number above 0")
    return AgentDef(
        name=name,
        description=description.strip(),
        prompt=prompt.strip(),
        tools=_names(_field(raw, "tools"), where),
        disallowed_tools=_names(_field(raw, "disallowedTools"), where) or (),
        model=model.strip() if isinstance(model, str) else None,
        max_turns=max_turns,
        source=source,
    )


def parse_agents(raw: Any, source: str = "sdk") -> dict[str, AgentDef]:
    """``{"name": {description, prompt, ...}}`` (dicts or ``AgentDefinition`` objects), checked."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise AgentConfigError('agents must be an object of name -> {"description", "prompt", ...}')
    return {str(name): _definition(name, value, source) for name, value in raw.items()}


def parse_agents_json(text: str, cwd: Path | None = None) -> dict[str, AgentDef]:
    """The ``--agents`` value: JSON text, or ``@FILE`` / a path to a JSON file (old SDKs' form)."""
    value = text.strip()
    if not value.startswith(("{", "[")):
        path = Path(value.removeprefix("@")).expanduser()
        if cwd is not None and not path.is_absolute():
            path = cwd / path
        try:
            value = path.read_text("utf-8")
        except OSError as exc:
            raise AgentConfigError(f"--agents: not JSON, and cannot read {path}: {exc.strerror}") from None
    try:
        raw = json.loads(value)
    except json.JSONDecodeError as exc:
        raise AgentConfigError(
            f"--agents is not valid JSON: {exc.msg} (line {exc.lineno} column {exc.colno})"
        ) from None
    try:
        return parse_agents(raw, "flag")
    except AgentConfigError as exc:
        raise AgentConfigError(f"--agents: {exc}") from None


def _scalar(text: str) -> Any:
    value = text.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    if value.startswith("[") and value.endswith("]"):
        return [_scalar(part) for part in value[1:-1].split(",") if part.strip()]
    if value.isdigit():
        return int(value)
    return value


def _front_matter(text: str) -> dict[str, Any]:
    """The simple YAML Claude Code's agent files use: ``key: value``, ``[a, b]`` and ``- item`` lists."""
    data: dict[str, Any] = {}
    key: str | None = None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        stripped = line.strip()
        if stripped.startswith("- ") and key is not None:
            items = data[key] if isinstance(data.get(key), list) else []
            data[key] = [*items, _scalar(stripped[2:])]
            continue
        name, sep, value = line.partition(":")
        if not sep or line[:1].isspace():
            continue
        key = name.strip()
        data[key] = _scalar(value) if value.strip() else None
    return data


def parse_agent_file(path: Path, source: str) -> AgentDef:
    """One ``.claude/agents/*.md`` file; its name defaults to the file's stem."""
    text = path.read_text("utf-8")
    match = _FRONT_MATTER.match(text)
    if match is None:
        raise AgentConfigError(f"{path}: no front matter (--- name/description ---)")
    meta = _front_matter(match.group(1))
    name = meta.get("name") or path.stem
    return _definition(str(name), {**meta, "prompt": match.group(2)}, source)


def _user_dir(environ: Mapping[str, str]) -> Path:
    config = environ.get("CLAUDE_CONFIG_DIR")
    if config:
        return Path(config).expanduser() / "agents"
    home = environ.get("HOME")
    return (Path(home) if home else Path.home()) / ".claude" / "agents"


def load_agent_files(
    cwd: Path, environ: Mapping[str, str], setting_sources: Sequence[str] | None = None
) -> dict[str, AgentDef]:
    """The user's, then the project's agents (a project file wins over a user file of one name).

    ``setting_sources`` as for settings: None reads both, else only the sources it names.
    """
    wanted = {"user", "project"} if setting_sources is None else set(setting_sources)
    found: dict[str, AgentDef] = {}
    folders = (("user", _user_dir(environ)), ("project", cwd / ".claude" / "agents"))
    for source, folder in folders:
        if source in wanted:
            found.update(load_agent_folder(folder, source))
    return found


def load_agent_folder(folder: Path, source: str) -> dict[str, AgentDef]:
    """The ``*.md`` agents of one folder by name; a broken file is skipped with a debug line."""
    found: dict[str, AgentDef] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.md")):
        try:
            agent = parse_agent_file(path, source)
        except (OSError, UnicodeDecodeError, AgentConfigError) as exc:
            log.debug("agent file %s skipped: %s", path, exc)
            continue
        found[agent.name] = agent
    return found


def all_definitions(
    given: Mapping[str, AgentDef],
    *,
    cwd: Path,
    environ: Mapping[str, str] | None = None,
    setting_sources: Sequence[str] | None = None,
    bare: bool = False,
    plugins: Sequence[tuple[str, Path]] = (),
) -> dict[str, AgentDef]:
    """Every agent a session offers, by precedence: plugins' and files (unless ``bare``, as in
    Claude Code), then ``given``. ``plugins`` are (namespace, directory) pairs; a plugin's agent
    is named under its namespace (``demo:helper``), whatever the setting sources."""
    env = os.environ if environ is None else environ
    if bare:
        return dict(given)
    found: dict[str, AgentDef] = {}
    for namespace, root in plugins:
        for name, agent in load_agent_folder(root / "agents", "plugin").items():
            found[f"{namespace}:{name}"] = dataclasses.replace(agent, name=f"{namespace}:{name}")
    return {**found, **load_agent_files(cwd, env, setting_sources), **given}
