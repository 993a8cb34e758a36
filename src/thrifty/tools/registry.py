"""The one table of built-in tools, and the choice of which ones a session offers.

Tools are stateless (all session state lives in ``ToolContext``), so one instance of each serves
every session.
"""

from __future__ import annotations

from collections.abc import Iterable

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
