"""Subagents through the CLI: ``--agents``, ``--agent``, ``.claude/agents/*.md`` and the Agent tool,
run as a subprocess against the simulator, and driven by the official Agent SDK (``cli_path``).

The simulator picks a conversation by the first user message, so one script holds the parent's
conversation (matched by its prompt) and the child's (matched by the prompt the parent wrote).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest
from claude_agent_sdk import (
    AgentDefinition,
    AssistantMessage,
    ClaudeSDKClient,
    ResultMessage,
    SystemMessage,
    ToolUseBlock,
    query,
)

from tests.cli.conftest import Cli
from thrifty.billing.ledger import LedgerRow, RowQuery, open_ledger

REVIEWER = {
    "reviewer": {
        "description": "Reviews text for typos",
        "prompt": "You are a careful reviewer.",
        "tools": ["Read", "Grep"],
        "model": "haiku",
    }
}


def script(cwd: Path, agent: str = "reviewer") -> dict[str, Any]:
    notes = str(cwd / "notes.txt")
    return {
        "conversations": [
            {
                "match": "review the notes",
                "turns": [
                    {
                        "tool_use": {
                            "name": "Agent",
                            "input": {
                                "description": "Review notes",
                                "prompt": "Check notes.txt for typos",
                                "subagent_type": agent,
                            },
                        }
                    },
                    {"text": "The reviewer found one typo."},
                ],
            },
            {
                "match": "Check notes.txt",
                "turns": [
                    {"tool_use": {"name": "Read", "input": {"file_path": notes}}},
                    {"text": "One typo: teh."},
                ],
            },
        ]
    }


def ledger_rows(cli: Cli) -> list[LedgerRow]:
    db = open_ledger(str(cli.ledger_path))
    try:
        return list(db.query(RowQuery()))
    finally:
        db.close()


def stream(cli: Cli, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    run = cli("-p", "review the notes", "--output-format", "stream-json", "--verbose", *args)
    return run.code, run.lines, run.stderr


def test_agents_flag_runs_a_metered_sidechain_in_the_stream(cli: Cli) -> None:
    (cli.cwd / "notes.txt").write_text("teh cat\n")
    cli.sim.set_script(script(cli.cwd))
    code, frames, err = stream(cli, "--agents", json.dumps(REVIEWER))
    assert code == 0, err
    init = frames[0]
    assert init["subtype"] == "init" and init["agents"] == ["general-purpose", "reviewer"]
    assert "Task" in init["tools"] and "Agent" not in init["tools"]
    call_id = frames[1]["message"]["content"][0]["id"]
    assert frames[1]["parent_tool_use_id"] is None
    child = [f for f in frames if f.get("parent_tool_use_id") == call_id]
    assert [f["type"] for f in child] == ["assistant", "user", "assistant"]
    assert child[-1]["message"]["content"][0]["text"] == "One typo: teh."
    answer = next(f for f in frames if f["type"] == "user" and f["parent_tool_use_id"] is None)
    block = answer["message"]["content"][0]
    assert block["tool_use_id"] == call_id and block["content"][0]["text"] == "One typo: teh."
    result = frames[-1]
    assert result["type"] == "result" and result["subtype"] == "success"
    assert set(result["modelUsage"]) == {"claude-sonnet-5-5", "claude-haiku-5-5"}

    bodies = [r.body for r in cli.sim.message_requests()]
    parent, sub = bodies[0], bodies[1]
    agent_tool = next(t for t in parent["tools"] if t["name"] == "Agent")
    assert "- reviewer: Reviews text for typos (Tools: Read, Grep)" in agent_tool["description"]
    assert sub["model"] == "claude-haiku-5-5"
    assert [t["name"] for t in sub["tools"]] == ["Grep", "Read"]
    assert sub["system"][0]["text"].startswith("You are a careful reviewer.")
    assert sub["messages"][0]["content"][0]["text"] == "Check notes.txt for typos"

    rows = ledger_rows(cli)
    side = [r for r in rows if r.tags.get("sidechain") == "true"]
    assert len(rows) == 4 and len(side) == 2
    assert {r.tags["agent_type"] for r in side} == {"reviewer"} and {r.model for r in side} == {
        "claude-haiku-5-5"
    }
    assert {r.session_id for r in rows} == {result["session_id"]}
    total = sum((r.cost_usd or Decimal(0)) for r in rows)
    assert abs(Decimal(str(result["total_cost_usd"])) - total) < Decimal("1e-12")
    haiku = sum((r.cost_usd or Decimal(0)) for r in side)
    assert abs(Decimal(str(result["modelUsage"]["claude-haiku-5-5"]["costUSD"])) - haiku) < Decimal("1e-12")

    session_dir = next((cli.data_dir / "projects").iterdir()) / result["session_id"] / "subagents"
    (transcript,) = session_dir.glob("agent-*.jsonl")
    entries = [json.loads(line) for line in transcript.read_text().splitlines()]
    assert [e["type"] for e in entries] == ["user", "assistant", "user", "assistant"]
    assert all(e["isSidechain"] is True and e["sessionId"] == result["session_id"] for e in entries)
    meta = json.loads(transcript.with_name(transcript.name.replace(".jsonl", ".meta.json")).read_text())
    assert meta["toolUseId"] == call_id and meta["agentType"] == "reviewer"


def test_without_agents_the_tools_are_unchanged(cli: Cli) -> None:
    cli.sim.set_script([{"text": "hi"}])
    run = cli("-p", "hello", "--output-format", "stream-json", "--verbose")
    assert run.code == 0 and run.lines[0]["agents"] == [] and "Task" not in run.lines[0]["tools"]
    assert "Agent" not in [t["name"] for t in cli.sim.message_requests()[0].body["tools"]]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{not json", "error: --agents is not valid JSON"),
        ('{"r": {"description": "d"}}', "error: --agents: agent 'r': prompt is required"),
        ('{"r": "text"}', "error: --agents: agent 'r': expected an object"),
        ("missing.json", "error: --agents: not JSON, and cannot read"),
    ],
)
def test_bad_agents_json_is_one_line_and_exit_1(cli: Cli, value: str, message: str) -> None:
    run = cli("-p", "hi", "--agents", value)
    assert run.code == 1 and run.stdout == ""
    assert run.stderr.startswith(message) and run.stderr.count("\n") == 1
    assert cli.sim.message_requests() == []


def test_agents_from_a_file_path(cli: Cli) -> None:
    (cli.cwd / "agents.json").write_text(json.dumps(REVIEWER))
    (cli.cwd / "notes.txt").write_text("teh cat\n")
    cli.sim.set_script(script(cli.cwd))
    code, frames, err = stream(cli, "--agents", "@agents.json")
    assert code == 0, err
    assert frames[0]["agents"] == ["general-purpose", "reviewer"]


def write_agent_file(folder: Path, name: str, body: str, tools: str = "Read") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    front = f"---\nname: {name}\ndescription: The {name} agent\ntools: {tools}\nmodel: haiku\n---\n"
    (folder / f"{name}.md").write_text(front + body)


def test_agent_files_are_loaded_and_used(cli: Cli) -> None:
    write_agent_file(cli.cwd / ".claude" / "agents", "reviewer", "You review from a file.\n", "Read, Grep")
    write_agent_file(cli.home / ".claude" / "agents", "helper", "You help.\n")
    (cli.cwd / "notes.txt").write_text("teh cat\n")
    cli.sim.set_script(script(cli.cwd))
    code, frames, err = stream(cli)
    assert code == 0, err
    assert frames[0]["agents"] == ["general-purpose", "helper", "reviewer"]
    sub = cli.sim.message_requests()[1].body
    assert sub["system"][0]["text"].startswith("You review from a file.")
    assert sub["model"] == "claude-haiku-5-5" and [t["name"] for t in sub["tools"]] == ["Grep", "Read"]


def test_setting_sources_and_bare_leave_agent_files_out(cli: Cli) -> None:
    write_agent_file(cli.cwd / ".claude" / "agents", "reviewer", "Body.\n")
    write_agent_file(cli.home / ".claude" / "agents", "helper", "Body.\n")
    cli.sim.set_script([{"text": "hi"}])
    run = cli("-p", "hi", "--output-format", "stream-json", "--verbose", "--setting-sources", "user")
    assert run.code == 0 and run.lines[0]["agents"] == ["general-purpose", "helper"]
    run = cli("-p", "hi", "--output-format", "stream-json", "--verbose", "--bare")
    assert run.code == 0 and run.lines[0]["agents"] == [] and "Task" not in run.lines[0]["tools"]
    run = cli(
        "-p", "hi", "--output-format", "stream-json", "--verbose", "--bare", "--agents", json.dumps(REVIEWER)
    )
    assert run.code == 0 and run.lines[0]["agents"] == ["general-purpose", "reviewer"]
    assert run.lines[0]["tools"] == ["Bash", "Edit", "Read", "Task"]


def test_agent_flag_runs_the_main_thread_as_that_agent(cli: Cli) -> None:
    write_agent_file(cli.cwd / ".claude" / "agents", "reviewer", "You are the reviewer in charge.\n")
    cli.sim.set_script([{"text": "Reviewed."}])
    run = cli("-p", "hi", "--agent", "reviewer", "--output-format", "json")
    assert run.code == 0, run.stderr
    body = cli.sim.message_requests()[0].body
    assert body["system"][0]["text"].startswith("You are the reviewer in charge.")
    assert body["model"] == "claude-haiku-5-5" and [t["name"] for t in body["tools"]] == ["Read"]


def test_unknown_agent_flag_is_one_line(cli: Cli) -> None:
    run = cli("-p", "hi", "--agent", "nobody")
    assert run.code == 1 and run.stderr.count("\n") == 1
    assert "Agent 'nobody' not found" in run.stderr and cli.sim.message_requests() == []


def test_unknown_subagent_type_is_an_error_result_for_the_model(cli: Cli) -> None:
    cli.sim.set_script(script(cli.cwd, agent="nobody"))
    code, _, err = stream(cli, "--agents", json.dumps(REVIEWER))
    assert code == 0, err
    block = cli.sim.message_requests()[1].body["messages"][-1]["content"][0]
    assert block["is_error"] is True and "Agent type 'nobody' not found" in block["content"]
    assert "Available agents: general-purpose, reviewer" in block["content"]


# -- the official Agent SDK, unchanged, with cli_path pointing at thrifty ---------------------


@pytest.mark.anyio
async def test_official_sdk_agents_reach_thrifty_through_initialize(cli: Cli, make_options: Any) -> None:
    (cli.cwd / "notes.txt").write_text("teh cat\n")
    cli.sim.set_script(script(cli.cwd))
    options = make_options(
        agents={
            "reviewer": AgentDefinition(
                description="Reviews text for typos", prompt="You review.", tools=["Read"], model="haiku"
            )
        }
    )
    with anyio.fail_after(90):
        messages = [m async for m in query(prompt="review the notes", options=options)]
    init = messages[0]
    assert isinstance(init, SystemMessage) and "reviewer" in init.data["agents"]
    calls = [
        b.id
        for m in messages
        if isinstance(m, AssistantMessage) and m.parent_tool_use_id is None
        for b in m.content
        if isinstance(b, ToolUseBlock) and b.name == "Agent"
    ]
    assert len(calls) == 1
    child = [m for m in messages if isinstance(m, AssistantMessage) and m.parent_tool_use_id == calls[0]]
    assert len(child) == 2
    result = messages[-1]
    assert isinstance(result, ResultMessage) and result.subtype == "success"
    assert result.model_usage is not None and "claude-haiku-5-5" in result.model_usage
    assert cli.sim.message_requests()[1].body["model"] == "claude-haiku-5-5"


@pytest.mark.anyio
async def test_official_sdk_sees_filesystem_agents(cli: Cli, make_options: Any) -> None:
    write_agent_file(cli.cwd / ".claude" / "agents", "test-agent", "You are a simple test agent.\n")
    cli.sim.set_script([{"text": "Hello there, friend."}])
    found: list[str] = []
    with anyio.fail_after(90):
        async with ClaudeSDKClient(options=make_options(setting_sources=["project"])) as client:
            info = await client.get_server_info()
            await client.query("Say hello in exactly 3 words")
            async for msg in client.receive_response():
                if isinstance(msg, SystemMessage) and msg.subtype == "init":
                    found = list(msg.data["agents"])
    assert "test-agent" in found
    assert (
        info is not None and {"name": "test-agent", "description": "The test-agent agent"} in info["agents"]
    )
