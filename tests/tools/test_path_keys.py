"""Each tool declares the input keys that hold its paths; permissions, hooks and ``can_use_tool``
read the declaration instead of tables of their own.

The first test is the guard: a new built-in tool with a path under a new key fails here instead
of slipping past path rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from thrifty.agent.hooks.matchers import rule_matches
from thrifty.agent.permissions.policy import PermissionPolicy
from thrifty.agent.toolrun import AskRequest
from thrifty.cli.control import _describe
from thrifty.tools.base import Tool, ToolResult
from thrifty.tools.custom import custom_tool
from thrifty.tools.registry import (
    BUILTIN_TOOLS,
    GENERIC_PATH_KEYS,
    is_path_field,
    path_keys,
    primary_field,
)


def input_keys(tool: Tool) -> set[str]:
    """The keys the model sends: field names and their aliases."""
    keys: set[str] = set()
    for name, info in tool.input_model.model_fields.items():
        keys.add(name)
        if info.alias:
            keys.add(info.alias)
    return keys


@pytest.mark.parametrize("name", sorted(BUILTIN_TOOLS))
def test_every_builtin_tool_declares_its_path_inputs(name: str) -> None:
    tool = BUILTIN_TOOLS[name]
    assert tool.path_keys is not None, f"{name} must declare path_keys (() when it takes no path)"
    pathlike = {key for key in input_keys(tool) if "path" in key.lower()}
    missing = pathlike - set(tool.path_keys)
    assert not missing, f"{name} takes a path in {sorted(missing)} but does not declare it in path_keys"
    assert set(tool.path_keys) <= input_keys(tool), f"{name} declares keys its input does not have"
    assert tool.primary_field is None or tool.primary_field in input_keys(tool)


# The tables the declarations replaced, kept here to pin the behaviour they had.
OLD_PRIMARY_FIELD = {
    "Bash": "command",
    "Read": "file_path",
    "Edit": "file_path",
    "Write": "file_path",
    "MultiEdit": "file_path",
    "NotebookEdit": "notebook_path",
    "Glob": "pattern",
    "Grep": "pattern",
    "WebFetch": "url",
    "WebSearch": "query",
    "Agent": "subagent_type",
    "Task": "subagent_type",
    "Skill": "skill",
}
OLD_FILE_TOOLS = {"Write", "Edit", "MultiEdit", "Read", "NotebookEdit"}
NAMES = sorted({*OLD_PRIMARY_FIELD, *BUILTIN_TOOLS, "TodoWrite", "mcp__srv__tool", "Custom"})


@pytest.mark.parametrize("name", NAMES)
def test_lookups_by_name_reproduce_the_old_tables(name: str) -> None:
    assert primary_field(name) == OLD_PRIMARY_FIELD.get(name)
    old_is_path = OLD_PRIMARY_FIELD.get(name) in ("file_path", "notebook_path")
    assert is_path_field(name, primary_field(name)) == old_is_path
    assert is_path_field(name, primary_field(name)) == (name in OLD_FILE_TOOLS)


def test_undeclared_tools_scan_the_generic_keys() -> None:
    assert path_keys("mcp__srv__tool") == GENERIC_PATH_KEYS == ("file_path", "notebook_path", "path")
    assert path_keys("MultiEdit") == GENERIC_PATH_KEYS
    assert path_keys("NotebookEdit") == ("notebook_path",)  # built in: its own declaration
    assert path_keys("Read") == ("file_path",)
    assert path_keys("Grep") == path_keys("Glob") == ("path",)
    assert path_keys(BUILTIN_TOOLS["Read"]) == ("file_path",)


# -- a custom tool's declaration, through the real policy --------------------------------------


async def _noop(args: dict[str, Any]) -> ToolResult:
    return ToolResult("ok")


SCHEMA = {"type": "object", "properties": {"target": {"type": "string"}, "path": {"type": "string"}}}


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path, Path]:
    root = tmp_path.resolve()
    cwd, home, outside = root / "proj", root / "home", root / "outside"
    for d in (cwd / "secrets", home, outside):
        d.mkdir(parents=True)
    return cwd, home, outside


def decide(policy: PermissionPolicy, tool: Tool, tool_input: dict[str, Any]) -> str:
    return policy.decide(
        tool.name,
        tool_input,
        read_only=tool.read_only,
        edits_files=tool.edits_files,
        path_keys=tool.path_keys,
    ).behavior


def test_a_custom_tool_declaring_a_path_key_is_subject_to_path_rules(dirs: tuple[Path, Path, Path]) -> None:
    cwd, home, outside = dirs
    tool = custom_tool("Fetch", "reads a file", SCHEMA, _noop, read_only=True, path_keys=("target",))
    assert tool.path_keys == ("target",)
    policy = PermissionPolicy(cwd=cwd, home=home, deny=["Read(./secrets/**)"])
    assert decide(policy, tool, {"target": str(cwd / "notes.txt")}) == "allow"
    # The deny rule and the working-directory check both see ``target``.
    assert decide(policy, tool, {"target": str(cwd / "secrets" / "key.pem")}) == "deny"
    assert decide(policy, tool, {"target": "secrets/key.pem"}) == "deny"
    assert decide(policy, tool, {"target": str(outside / "x")}) == "ask"
    decision = policy.decide(
        "Fetch", {"target": str(outside / "x")}, read_only=True, edits_files=False, path_keys=("target",)
    )
    assert decision.blocked_path == str(outside / "x")
    # A declared tool uses its declaration: ``path`` is not one of its path keys.
    assert decide(policy, tool, {"target": str(cwd / "a"), "path": str(outside)}) == "allow"


def test_an_undeclared_custom_tool_keeps_the_generic_scan(dirs: tuple[Path, Path, Path]) -> None:
    cwd, home, outside = dirs
    tool = custom_tool("Fetch", "reads a file", SCHEMA, _noop, read_only=True)
    assert tool.path_keys is None
    policy = PermissionPolicy(cwd=cwd, home=home, deny=["Read(./secrets/**)"])
    assert decide(policy, tool, {"path": str(outside / "x")}) == "ask"
    assert decide(policy, tool, {"path": str(cwd / "secrets" / "k")}) == "deny"
    assert decide(policy, tool, {"target": str(outside / "x")}) == "allow"
    # Without the tool at hand (a name only) the same generic scan applies.
    assert (
        policy.decide("Fetch", {"path": str(outside / "x")}, read_only=True, edits_files=False).behavior
        == "ask"
    )


def test_custom_tool_path_keys_must_be_a_sequence_of_keys() -> None:
    with pytest.raises(ValueError, match="path_keys"):
        custom_tool("Fetch", "d", SCHEMA, _noop, path_keys="target")


# -- the other two readers of the declarations -------------------------------------------------


def test_hook_if_conditions_test_the_declared_primary_field(tmp_path: Path) -> None:
    home = tmp_path / "home"
    secret = str(tmp_path / "secrets" / "a")
    assert rule_matches("Read(./secrets/**)", "Read", {"file_path": secret}, cwd=tmp_path, home=home)
    assert not rule_matches("Read(./other/**)", "Read", {"file_path": secret}, cwd=tmp_path, home=home)
    assert rule_matches("NotebookEdit(./secrets/**)", "NotebookEdit", {"notebook_path": secret}, cwd=tmp_path)
    assert rule_matches("Grep(TODO*)", "Grep", {"pattern": "TODO:", "path": "/x"}, cwd=tmp_path)
    assert rule_matches("Bash(git push *)", "Bash", {"command": "git push origin"}, cwd=tmp_path)
    assert rule_matches("WebFetch(https://*)", "WebFetch", {"url": "https://a.b"}, cwd=tmp_path)
    assert not rule_matches("Custom(x)", "Custom", {"file_path": "x"}, cwd=tmp_path)


def test_can_use_tool_describes_a_file_tool_by_its_file() -> None:
    def describe(name: str, tool_input: dict[str, Any]) -> str | None:
        return _describe(AskRequest(name, tool_input, "id", ""))

    assert describe("Read", {"file_path": "/a/b/c.py"}) == "c.py"
    assert describe("Write", {"file_path": "/a/w.txt", "content": "x"}) == "w.txt"
    assert describe("NotebookEdit", {"notebook_path": "/n/x.ipynb"}) == "x.ipynb"
    assert describe("Edit", {"description": "d"}) is None
    assert describe("Glob", {"pattern": "*", "path": "/a/dir"}) is None
    assert describe("Bash", {"command": "ls", "description": "List"}) == "List"
    assert describe("mcp__s__t", {"file_path": "/a/b", "description": "Do"}) == "Do"


def test_a_declared_path_key_holds_in_a_real_run(dirs: tuple[Path, Path, Path]) -> None:
    """Through the session's tool runner, not only the policy: the declaration reaches the rules."""
    import asyncio

    from thrifty.agent.options import AgentOptions
    from thrifty.agent.session import run_agent
    from thrifty.core.events import PermissionDenied, Result
    from thrifty.testing import Simulator

    cwd, home, _ = dirs
    ran: list[dict[str, Any]] = []

    async def fetch(args: dict[str, Any]) -> ToolResult:
        ran.append(args)
        return ToolResult("contents")

    tool = custom_tool("Fetch", "reads a file", SCHEMA, fetch, read_only=True, path_keys=("target",))
    script = [
        {"tool_use": {"name": "Fetch", "input": {"target": "secrets/key.pem"}}},
        {"tool_use": {"name": "Fetch", "input": {"target": "notes.txt"}}},
        {"text": "done"},
    ]
    with Simulator(script) as sim:
        options = AgentOptions(
            cwd=cwd,
            extra_tools=[tool],
            disallowed_tools=["Read(./secrets/**)"],
            setting_sources=[],
            record_usage=False,
            persist_session=False,
            environ={"ANTHROPIC_API_KEY": sim.api_key, "ANTHROPIC_BASE_URL": sim.base_url, "HOME": str(home)},
        )

        async def run() -> list[Any]:
            return [event async for event in run_agent("go", options)]

        events = asyncio.run(run())
    denied = [e for e in events if isinstance(e, PermissionDenied)]
    assert [d.tool_name for d in denied] == ["Fetch"]
    assert ran == [{"target": "notes.txt"}]
    assert isinstance(events[-1], Result) and events[-1].result == "done"
