"""The registry answers from its static table and the stored definitions, and both match the
tool classes exactly: the pydantic models stay the source of truth, nothing may drift.

If the definitions test fails after a change to a tool, regenerate the file:
``python -m thrifty.tools.definitions --write``.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from thrifty.tools import definitions, registry
from thrifty.tools.agent import AgentTool
from thrifty.tools.base import Tool
from thrifty.tools.bash import BashTool
from thrifty.tools.edit import EditTool
from thrifty.tools.glob import GlobTool
from thrifty.tools.grep import GrepTool
from thrifty.tools.notebook_edit import NotebookEditTool
from thrifty.tools.read import ReadTool
from thrifty.tools.skill import SkillTool
from thrifty.tools.task_output import TaskOutputTool
from thrifty.tools.task_stop import TaskStopTool
from thrifty.tools.todo import TodoWriteTool
from thrifty.tools.write import WriteTool

CLASSES: list[type[Tool]] = [
    BashTool,
    GlobTool,
    GrepTool,
    ReadTool,
    EditTool,
    WriteTool,
    NotebookEditTool,
    TodoWriteTool,
    AgentTool,
    SkillTool,
    TaskOutputTool,
    TaskStopTool,
]


def test_the_static_table_lists_every_tool_class_in_order() -> None:
    assert list(registry.SPECS) == [cls.name for cls in CLASSES]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.name)
def test_the_static_table_matches_each_class(cls: type[Tool]) -> None:
    spec = registry.SPECS[cls.name]
    module_name, _, class_name = spec.target.partition(":")
    assert getattr(importlib.import_module(module_name), class_name) is cls
    assert spec.read_only == cls.read_only
    assert spec.edits_files == cls.edits_files
    assert spec.path_keys == cls.path_keys
    assert spec.primary_field == cls.primary_field
    assert isinstance(registry.BUILTIN_TOOLS[cls.name], cls)


def test_stored_definitions_match_the_pydantic_models() -> None:
    stored = definitions.stored_path().read_text(encoding="utf-8")
    assert stored == definitions.render(definitions.build()), (
        f"{definitions.stored_path()} is out of date; regenerate it: {definitions.REGENERATE}"
    )


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.name)
def test_a_stored_definition_is_the_tools_own_and_a_fresh_copy(cls: type[Tool]) -> None:
    stored = registry.definition(cls.name)
    assert stored == cls().definition()
    assert list(stored["input_schema"]) == list(cls().definition()["input_schema"])  # key order too
    stored["input_schema"]["marked"] = True
    assert "marked" not in registry.definition(cls.name)["input_schema"]


def test_the_definitions_check_passes_on_the_shipped_file() -> None:
    assert definitions.main([]) == 0


def test_a_tool_table_builds_a_builtin_tool_only_when_looked_up() -> None:
    custom = ReadTool()
    table = registry.ToolTable(["Bash", "Glob"], [custom])
    assert list(table) == ["Bash", "Glob", "Read"]
    assert "Glob" in table and "Grep" not in table and len(table) == 3
    assert table["Bash"] is registry.BUILTIN_TOOLS["Bash"]
    assert table["Read"] is custom
    assert table.get("Grep") is None


def test_names_and_declarations_import_no_tool_module() -> None:
    """In a fresh interpreter: the lookups startup makes load neither a tool module nor pydantic."""
    probe = (
        "import sys\n"
        "from thrifty.tools import registry\n"
        "import thrifty.agent.setup, thrifty.agent.hooks.matchers, thrifty.cli.control\n"
        "registry.select_names(None); registry.definition('Read'); registry.path_keys('Grep')\n"
        "registry.primary_field('Bash'); registry.is_path_field('Read', 'file_path')\n"
        "assert 'Read' in registry.BUILTIN_TOOLS and len(list(registry.BUILTIN_TOOLS)) == 12\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] == 'pydantic'\n"
        "          or m in {'thrifty.tools.read', 'thrifty.tools.bash', 'thrifty.tools.inputs',\n"
        "                   'thrifty.tools.pdf', 'thrifty.tools.notebook',\n"
        "                   'thrifty.tools.bash_background'}]\n"
        "assert not loaded, loaded\n"
        "registry.BUILTIN_TOOLS['Read']\n"
        "assert 'pydantic' in sys.modules and 'thrifty.tools.read' in sys.modules\n"
        "registry.BUILTIN_TOOLS['Bash']\n"
        "extra = {'thrifty.tools.pdf', 'thrifty.tools.notebook', 'thrifty.tools.bash_background'}\n"
        "assert not extra & set(sys.modules), 'loaded before a PDF, notebook or background use'\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
