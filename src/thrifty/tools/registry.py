"""The one table of built-in tools, the choice of which ones a session offers, and the lookups of
what a tool declares (``path_keys``, ``primary_field``) for code that holds only a tool's name.

Tools are stateless (all session state lives in ``ToolContext``), so one instance of each serves
every session.

Startup never imports a tool's module: each tool module builds a pydantic input model, and
pydantic alone costs more than the rest of a cold start. What code holding a tool's name asks
(``path_keys``, ``primary_field``, ``read_only``, ``edits_files``) comes from ``SPECS``, a static
copy of the classes' declarations, and a tool's entry in the request's ``tools`` array from
``data/definitions.json``, generated from the pydantic models (``thrifty.tools.definitions``).
Tests check both against the real classes, so neither can drift. A tool's module, and pydantic
with it, is imported only when a tool object is asked for: when the model calls the tool.
"""

from __future__ import annotations

import copy
import functools
import importlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from thrifty.tools.base import Tool


@dataclass(frozen=True)
class BuiltinSpec:
    """What a built-in tool declares, copied from its class so that reading it imports nothing."""

    name: str
    #: ``module:Class`` of the tool, imported when the tool is first needed.
    target: str
    read_only: bool = False
    edits_files: bool = False
    path_keys: tuple[str, ...] = ()
    primary_field: str | None = None


#: Every built-in tool, in the order a session offers them (tests check each against its class).
SPECS: Mapping[str, BuiltinSpec] = {
    spec.name: spec
    for spec in (
        BuiltinSpec("Bash", "thrifty.tools.bash:BashTool", primary_field="command"),
        BuiltinSpec(
            "Glob",
            "thrifty.tools.glob:GlobTool",
            read_only=True,
            path_keys=("path",),
            primary_field="pattern",
        ),
        BuiltinSpec(
            "Grep",
            "thrifty.tools.grep:GrepTool",
            read_only=True,
            path_keys=("path",),
            primary_field="pattern",
        ),
        BuiltinSpec(
            "Read",
            "thrifty.tools.read:ReadTool",
            read_only=True,
            path_keys=("file_path",),
            primary_field="file_path",
        ),
        BuiltinSpec(
            "Edit",
            "thrifty.tools.edit:EditTool",
            edits_files=True,
            path_keys=("file_path",),
            primary_field="file_path",
        ),
        BuiltinSpec(
            "Write",
            "thrifty.tools.write:WriteTool",
            edits_files=True,
            path_keys=("file_path",),
            primary_field="file_path",
        ),
        BuiltinSpec(
            "NotebookEdit",
            "thrifty.tools.notebook_edit:NotebookEditTool",
            edits_files=True,
            path_keys=("notebook_path",),
            primary_field="notebook_path",
        ),
        BuiltinSpec("TodoWrite", "thrifty.tools.todo:TodoWriteTool", read_only=True),
        BuiltinSpec("Agent", "thrifty.tools.agent:AgentTool", read_only=True, primary_field="subagent_type"),
        BuiltinSpec("Skill", "thrifty.tools.skill:SkillTool", read_only=True, primary_field="skill"),
        BuiltinSpec("TaskOutput", "thrifty.tools.task_output:TaskOutputTool", read_only=True),
        BuiltinSpec("TaskStop", "thrifty.tools.task_stop:TaskStopTool", read_only=True),
    )
}

#: Where the built-in tools' definitions are stored (regenerate: python -m thrifty.tools.definitions --write).
DEFINITIONS_FILE = "data/definitions.json"


@functools.cache
def load_tool(name: str) -> Tool:
    """The one instance of the built-in tool ``name``, importing its module the first time."""
    module_name, _, class_name = SPECS[name].target.partition(":")
    cls: type[Tool] = getattr(importlib.import_module(module_name), class_name)
    return cls()


class _BuiltinTools(Mapping[str, "Tool"]):
    """Name to tool; the names are known up front, a tool is built when looked up."""

    def __getitem__(self, name: str) -> Tool:
        if name not in SPECS:
            raise KeyError(name)
        return load_tool(name)

    def __contains__(self, name: object) -> bool:
        return name in SPECS

    def __iter__(self) -> Iterator[str]:
        return iter(SPECS)

    def __len__(self) -> int:
        return len(SPECS)

    def __repr__(self) -> str:
        return f"BUILTIN_TOOLS({', '.join(SPECS)})"


BUILTIN_TOOLS: Mapping[str, Tool] = _BuiltinTools()


class ToolTable(Mapping[str, "Tool"]):
    """A session's tools by name: built-in ones built when first looked up, custom ones as given.

    Iterating gives the names only, so listing a session's tools (the init frame) imports none.
    """

    def __init__(self, builtin: Iterable[str], extra: Iterable[Tool] = ()) -> None:
        self._entries: dict[str, Tool | None] = dict.fromkeys(builtin)
        for tool in extra:
            self._entries[tool.name] = tool

    def __getitem__(self, name: str) -> Tool:
        tool = self._entries[name]
        return load_tool(name) if tool is None else tool

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"ToolTable({', '.join(self._entries)})"


#: The keys scanned for paths in the input of a tool that declares none (a custom or MCP tool,
#: or a Claude Code tool thrifty does not build in, such as MultiEdit): the strict default.
GENERIC_PATH_KEYS: tuple[str, ...] = ("file_path", "notebook_path", "path")

#: The primary fields of Claude Code tools that thrifty does not build in, which hook ``if``
#: conditions and ``can_use_tool`` may still name (a custom tool may carry the name). A built-in
#: tool declares its own ``primary_field``; none belongs here.
CLAUDE_CODE_PRIMARY_FIELDS: Mapping[str, str] = {
    "MultiEdit": "file_path",
    "NotebookEdit": "notebook_path",
    "WebFetch": "url",
    "WebSearch": "query",
    "Task": "subagent_type",
    "Skill": "skill",
}

#: The minimal set for a bare session: enough to look around and change code, and no more.
BARE_TOOLS = ("Bash", "Edit", "Read")


def select_names(names: Iterable[str] | None) -> list[str]:
    """The built-in tools to offer, by name, in the order asked, without duplicates; ``None``
    means all of them. Imports no tool.

    An unknown name is a configuration mistake, so it fails loudly rather than being dropped.
    """
    if names is None:
        return list(SPECS)
    wanted = list(dict.fromkeys(names))
    unknown = [name for name in wanted if name not in SPECS]
    if unknown:
        raise ValueError(
            f"Unknown tool name{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. "
            f"Valid names: {', '.join(sorted(SPECS))}"
        )
    return wanted


def select_tools(names: Iterable[str] | None) -> list[Tool]:
    """The tools to offer, as ``select_names`` chooses them (this builds each one)."""
    return [load_tool(name) for name in select_names(names)]


@functools.cache
def _definitions() -> dict[str, dict[str, Any]]:
    from importlib import resources  # here: it pulls in tempfile and shutil

    text = resources.files("thrifty.tools").joinpath(DEFINITIONS_FILE).read_text("utf-8")
    loaded: dict[str, dict[str, Any]] = json.loads(text)
    return loaded


def definition(name: str) -> dict[str, Any]:
    """The built-in tool's entry for the request's ``tools`` array, as ``Tool.definition()``
    gives it (a fresh copy: callers may mark it), read from the stored definitions."""
    if name not in SPECS:
        raise KeyError(name)
    return copy.deepcopy(_definitions()[name])


def path_keys(tool: str | Tool) -> tuple[str, ...]:
    """The input keys that hold a path the call touches: the tool's declaration, else the generic ones.

    Given a name, the built-in tool of that name answers; any other name (custom, MCP, unknown)
    gets ``GENERIC_PATH_KEYS``, so an undeclared tool is never checked less than before.
    """
    if isinstance(tool, str):
        spec = SPECS.get(tool)
        return GENERIC_PATH_KEYS if spec is None else spec.path_keys
    return GENERIC_PATH_KEYS if tool.path_keys is None else tool.path_keys


def primary_field(tool: str | Tool) -> str | None:
    """The input key hook ``if`` conditions test for this tool, or ``None`` when it has none."""
    if not isinstance(tool, str):
        return tool.primary_field if tool.primary_field is not None else primary_field(tool.name)
    spec = SPECS.get(tool)
    if spec is not None:
        return spec.primary_field
    return CLAUDE_CODE_PRIMARY_FIELDS.get(tool)


def is_path_field(tool: str | Tool, key: str | None) -> bool:
    """Whether ``key`` of this tool's input names a path (so a rule on it is a path pattern)."""
    return key is not None and key in path_keys(tool)
