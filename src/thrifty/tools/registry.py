"""The one table of built-in tools, the choice of which ones a session offers, and the lookups of
what a tool declares (``path_keys``, ``primary_field``) for code that holds only a tool's name.

Tools are stateless (all session state lives in ``ToolContext``), so one instance of each serves
every session.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from thrifty.tools.base import Tool
from thrifty.tools.bash import BashTool
from thrifty.tools.edit import EditTool
from thrifty.tools.glob import GlobTool
from thrifty.tools.grep import GrepTool
from thrifty.tools.read import ReadTool
from thrifty.tools.todo import TodoWriteTool
from thrifty.tools.write import WriteTool

BUILTIN_TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in (
        BashTool(),
        GlobTool(),
        GrepTool(),
        ReadTool(),
        EditTool(),
        WriteTool(),
        TodoWriteTool(),
    )
}

#: The keys scanned for paths in the input of a tool that declares none (a custom or MCP tool,
#: or a Claude Code tool thrifty does not build in, such as NotebookEdit): the strict default.
GENERIC_PATH_KEYS: tuple[str, ...] = ("file_path", "notebook_path", "path")

#: The primary fields of Claude Code tools that thrifty does not build in, which hook ``if``
#: conditions and ``can_use_tool`` may still name (a custom tool may carry the name). A built-in
#: tool declares its own ``primary_field``; none belongs here.
CLAUDE_CODE_PRIMARY_FIELDS: Mapping[str, str] = {
    "MultiEdit": "file_path",
    "NotebookEdit": "notebook_path",
    "WebFetch": "url",
    "WebSearch": "query",
    "Agent": "subagent_type",
    "Task": "subagent_type",
    "Skill": "skill",
}

#: The minimal set for a bare session: enough to look around and change code, and no more.
BARE_TOOLS = ("Bash", "Edit", "Read")


def select_tools(names: Iterable[str] | None) -> list[Tool]:
    """The tools to offer, in the order asked, without duplicates; ``None`` means all of them.

    An unknown name is a configuration mistake, so it fails loudly rather than being dropped.
    """
    if names is None:
        return list(BUILTIN_TOOLS.values())
    wanted = list(dict.fromkeys(names))
    unknown = [name for name in wanted if name not in BUILTIN_TOOLS]
    if unknown:
        raise ValueError(
            f"Unknown tool name{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. "
            f"Valid names: {', '.join(sorted(BUILTIN_TOOLS))}"
        )
    return [BUILTIN_TOOLS[name] for name in wanted]


def path_keys(tool: str | Tool) -> tuple[str, ...]:
    """The input keys that hold a path the call touches: the tool's declaration, else the generic ones.

    Given a name, the built-in tool of that name answers; any other name (custom, MCP, unknown)
    gets ``GENERIC_PATH_KEYS``, so an undeclared tool is never checked less than before.
    """
    declared = BUILTIN_TOOLS.get(tool) if isinstance(tool, str) else tool
    keys = declared.path_keys if declared is not None else None
    return GENERIC_PATH_KEYS if keys is None else keys


def primary_field(tool: str | Tool) -> str | None:
    """The input key hook ``if`` conditions test for this tool, or ``None`` when it has none."""
    if not isinstance(tool, str):
        return tool.primary_field if tool.primary_field is not None else primary_field(tool.name)
    builtin = BUILTIN_TOOLS.get(tool)
    if builtin is not None:
        return builtin.primary_field
    return CLAUDE_CODE_PRIMARY_FIELDS.get(tool)


def is_path_field(tool: str | Tool, key: str | None) -> bool:
    """Whether ``key`` of this tool's input names a path (so a rule on it is a path pattern)."""
    return key is not None and key in path_keys(tool)
