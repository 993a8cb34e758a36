"""Subagent definitions (files, JSON, the SDK's objects) and the child run inside a session: its
tools, its metering, its transcript, and an interrupt that reaches it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from thrifty.agent.options import AgentOptions
from thrifty.agent.session import Session
from thrifty.agent.subagents import (
    AgentConfigError,
    AgentDef,
    load_agent_files,
    parse_agent_file,
    parse_agents,
    parse_agents_json,
    tool_definition,
)
from thrifty.agent.subagents.runner import child_tools
from thrifty.core.events import Event, Result
from thrifty.testing import Simulator
from thrifty.tools import registry

pytestmark = pytest.mark.anyio


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_agent_file_front_matter_forms(tmp_path: Path) -> None:
    listed = write(
        tmp_path / "a" / "lister.md",
        "---\ndescription: 'Lists things'\ntools:\n  - Read\n  - Glob\n"
        "model: inherit\nmaxTurns: 3\n---\n\nBody.\n",
    )
    agent = parse_agent_file(listed, "project")
    assert agent == AgentDef(
        name="lister",
        description="Lists things",
        prompt="Body.",
        tools=("Read", "Glob"),
        model="inherit",
        max_turns=3,
        source="project",
    )
    inline = write(tmp_path / "b.md", "---\nname: x\ndescription: d\ntools: [Read, Grep]\n---\nP\n")
    assert parse_agent_file(inline, "user").tools == ("Read", "Grep")
    with pytest.raises(AgentConfigError, match="no front matter"):
        parse_agent_file(write(tmp_path / "c.md", "just text"), "user")
    with pytest.raises(AgentConfigError, match="description is required"):
        parse_agent_file(write(tmp_path / "d.md", "---\nname: d\n---\nbody"), "user")


def test_files_project_wins_and_sources_choose(tmp_path: Path) -> None:
    project, config = tmp_path / "p", tmp_path / "config"
    write(project / ".claude" / "agents" / "same.md", "---\ndescription: from project\n---\nP")
    write(config / "agents" / "same.md", "---\ndescription: from user\n---\nU")
    write(config / "agents" / "mine.md", "---\ndescription: mine\n---\nM")
    write(config / "agents" / "broken.md", "no front matter")
    env = {"CLAUDE_CONFIG_DIR": str(config)}
    found = load_agent_files(project, env)
    assert sorted(found) == ["mine", "same"] and found["same"].description == "from project"
    assert sorted(load_agent_files(project, env, ["project"])) == ["same"]
    assert load_agent_files(project, env, ["user"])["same"].description == "from user"
    assert load_agent_files(project, env, []) == {}


def test_agents_json_forms_and_mistakes(tmp_path: Path) -> None:
    raw = {"r": {"description": "d", "prompt": "p", "tools": "Read, Grep", "model": "opus"}}
    write(tmp_path / "agents.json", json.dumps(raw))
    for text in (json.dumps(raw), "@agents.json", "agents.json", str(tmp_path / "agents.json")):
        agent = parse_agents_json(text, tmp_path)["r"]
        assert agent.tools == ("Read", "Grep") and agent.model == "opus" and agent.source == "flag"
    mistakes = {
        "[1]": "agents must be an object",
        '{"bad name!": {"description": "d", "prompt": "p"}}': "invalid agent name",
        '{"r": {"description": "d", "prompt": "p", "tools": 3}}': "tools must be a list",
        '{"r": {"description": "d", "prompt": "p", "maxTurns": 0}}': "maxTurns must be",
        '{"r": {"description": "d", "prompt": " "}}': "prompt is required",
    }
    for text, message in mistakes.items():
        with pytest.raises(AgentConfigError, match=message) as info:
            parse_agents_json(text)
        assert "\n" not in str(info.value)


def test_sdk_objects_are_read_by_attribute() -> None:
    class Definition:
        description = "d"
        prompt = "p"
        tools = None
        model = "haiku"

    assert parse_agents({"x": Definition()})["x"] == AgentDef("x", "d", "p", model="haiku", source="sdk")


def test_tool_definition_lists_the_agents() -> None:
    base = registry.definition("Agent")
    agents = {"r": AgentDef("r", "Reviews", "p", tools=("Read",)), "g": AgentDef("g", "Anything", "p")}
    described = tool_definition(base, agents)["description"]
    assert described.startswith(base["description"])
    assert "- r: Reviews (Tools: Read)\n- g: Anything (Tools: All tools)" in described
    assert registry.definition("Agent")["description"] == base["description"]  # a copy was marked


def options_for(sim: Simulator, cwd: Path, **extra: Any) -> AgentOptions:
    env = {"ANTHROPIC_API_KEY": sim.api_key, "ANTHROPIC_BASE_URL": sim.base_url, "HOME": str(cwd)}
    return AgentOptions(cwd=cwd, environ=env, **extra)


async def test_child_tools_are_the_parents_less_agent_and_disallowed(tmp_path: Path) -> None:
    with Simulator() as sim:
        agents = {"x": AgentDef("x", "d", "p")}
        opts = options_for(sim, tmp_path, agents=agents, disallowed_tools=["Bash"], persist_session=False)
        async with Session(opts) as session:
            assert "Agent" in session.prepared.tools and "Bash" not in session.prepared.tools
            every, _ = child_tools(session.prepared, agents["x"])
            assert "Agent" not in every and "Read" in every
            some, defs = child_tools(
                session.prepared, AgentDef("y", "d", "p", tools=("Read", "Bash", "Nope", "Agent"))
            )
            assert list(some) == ["Read"] and [d["name"] for d in defs] == ["Read"]
            less, _ = child_tools(session.prepared, AgentDef("z", "d", "p", disallowed_tools=("Read",)))
            assert "Read" not in less and "Grep" in less


async def test_interrupt_during_a_subagent_ends_the_parent_turn(tmp_path: Path) -> None:
    call = {"description": "slow", "prompt": "Take a long time", "subagent_type": "general-purpose"}
    script = {
        "conversations": [
            {"match": "go", "turns": [{"tool_use": {"name": "Agent", "input": call}}, {"text": "after"}]},
            {"match": "Take a long", "turns": [{"text": "late", "fault": {"kind": "slow", "delay": 30}}]},
        ]
    }
    with Simulator(script) as sim:
        opts = options_for(sim, tmp_path, tools=["Agent", "Read"])
        async with Session(opts) as session:
            events: list[Event] = []

            async def watch() -> None:
                while len(sim.message_requests()) < 2:
                    await asyncio.sleep(0.02)
                await asyncio.sleep(0.1)
                assert session.interrupt()

            watcher = asyncio.create_task(watch())
            async for event in session.turn("go"):
                events.append(event)
            await watcher
            result = events[-1]
            assert isinstance(result, Result) and result.terminal_reason == "aborted_tools"
            last = session.messages[-1]
            assert last["role"] == "user" and last["content"][0]["type"] == "tool_result"
            transcript = session.transcript
            assert transcript is not None
            (side,) = (transcript.path.with_suffix("") / "subagents").glob("agent-*.jsonl")
            assert json.loads(side.read_text().splitlines()[0])["message"]["content"] == "Take a long time"
