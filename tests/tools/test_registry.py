from __future__ import annotations

from typing import Any

import pytest

from thrifty.tools.base import Tool
from thrifty.tools.registry import BARE_TOOLS, BUILTIN_TOOLS, select_tools

# Field names and required-ness from the spec's table of input schemas (section 4).
SPEC: dict[str, tuple[set[str], set[str]]] = {
    "Bash": ({"command"}, {"timeout", "description", "run_in_background", "dangerouslyDisableSandbox"}),
    "Read": ({"file_path"}, {"offset", "limit", "pages", "allow_large"}),
    "Write": ({"file_path", "content"}, set()),
    "Edit": ({"file_path", "old_string", "new_string"}, {"replace_all"}),
    "Glob": ({"pattern"}, {"path"}),
    "Grep": (
        {"pattern"},
        {
            "path",
            "glob",
            "type",
            "output_mode",
            "-A",
            "-B",
            "-C",
            "context",
            "-n",
            "-i",
            "-o",
            "head_limit",
            "offset",
            "multiline",
        },
    ),
    "TodoWrite": ({"todos"}, set()),
    "Agent": ({"description", "prompt"}, {"subagent_type", "model"}),
    "Skill": ({"skill"}, {"args"}),
    "NotebookEdit": ({"notebook_path", "new_source"}, {"cell_id", "cell_type", "edit_mode"}),
    # sdk-tools.d.ts marks block and timeout required (zod defaults); the schema sent has defaults.
    "TaskOutput": ({"task_id"}, {"block", "timeout"}),
    "TaskStop": (set(), {"task_id", "shell_id"}),
}


def walk(schema: Any) -> list[dict[str, Any]]:
    if isinstance(schema, dict):
        return [schema, *(node for value in schema.values() for node in walk(value))]
    if isinstance(schema, list):
        return [node for value in schema for node in walk(value)]
    return []


def test_table_holds_the_seven_tools_under_their_own_names() -> None:
    assert set(BUILTIN_TOOLS) == set(SPEC)
    for name, tool in BUILTIN_TOOLS.items():
        assert isinstance(tool, Tool)
        assert tool.name == name


@pytest.mark.parametrize("name", sorted(SPEC))
def test_schema_fields_and_required_match_the_spec(name: str) -> None:
    required, optional = SPEC[name]
    schema = BUILTIN_TOOLS[name].input_schema()
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == required | optional
    assert set(schema.get("required", [])) == required


@pytest.mark.parametrize("name", sorted(SPEC))
def test_schemas_are_plain_and_self_contained(name: str) -> None:
    schema = BUILTIN_TOOLS[name].input_schema()
    for node in walk(schema):
        assert "$ref" not in node
        assert "$defs" not in node
        assert node.get("default", "absent") is not None
        assert not ("title" in node and isinstance(node["title"], str))
        assert {"type": "null"} not in node.get("anyOf", [])


def test_grep_flags_and_defaults() -> None:
    props = BUILTIN_TOOLS["Grep"].input_schema()["properties"]
    assert props["output_mode"]["enum"] == ["content", "files_with_matches", "count"]
    assert props["output_mode"]["default"] == "files_with_matches"
    assert props["-n"] == {"type": "boolean", "default": True, "description": props["-n"]["description"]}
    assert props["head_limit"]["default"] == 250
    assert props["-A"]["type"] == "integer"


def test_todo_items_are_inlined() -> None:
    items = BUILTIN_TOOLS["TodoWrite"].input_schema()["properties"]["todos"]["items"]
    assert items["required"] == ["content", "status", "activeForm"]
    assert items["properties"]["status"]["enum"] == ["pending", "in_progress", "completed"]


def test_bash_timeout_is_capped_in_the_schema() -> None:
    timeout = BUILTIN_TOOLS["Bash"].input_schema()["properties"]["timeout"]
    assert timeout["type"] == "number"
    assert timeout["maximum"] == 7_200_000  # a background command's limit; foreground is 600_000


def test_flags_for_permissions() -> None:
    read_only = {"Read", "Glob", "Grep", "TodoWrite", "Agent", "Skill", "TaskOutput", "TaskStop"}
    assert {n for n, t in BUILTIN_TOOLS.items() if t.read_only} == read_only
    assert {n for n, t in BUILTIN_TOOLS.items() if t.edits_files} == {"Edit", "Write", "NotebookEdit"}


def test_descriptions_are_present_and_short() -> None:
    for tool in BUILTIN_TOOLS.values():
        assert 100 < len(tool.description) < 800, tool.name
        definition = tool.definition()
        assert definition["name"] == tool.name
        assert definition["input_schema"] == tool.input_schema()


def test_select_all_by_default() -> None:
    assert select_tools(None) == list(BUILTIN_TOOLS.values())


def test_select_keeps_order_and_drops_duplicates() -> None:
    assert [t.name for t in select_tools(["Read", "Bash", "Read"])] == ["Read", "Bash"]
    assert select_tools([]) == []
    assert select_tools(iter(["Glob"])) == [BUILTIN_TOOLS["Glob"]]


def test_bare_tools_are_valid() -> None:
    assert [t.name for t in select_tools(BARE_TOOLS)] == ["Bash", "Edit", "Read"]


def test_unknown_names_fail_loudly() -> None:
    with pytest.raises(ValueError, match="Unknown tool names: Nope, LS") as info:
        select_tools(["Read", "Nope", "LS"])
    assert (
        "Valid names: Agent, Bash, Edit, Glob, Grep, NotebookEdit, Read, Skill, TaskOutput, TaskStop, "
        "TodoWrite, Write" in str(info.value)
    )
    with pytest.raises(ValueError, match="Unknown tool name: bash"):
        select_tools(["bash"])
