"""Plan runs pass subagents, MCP servers, ``--agent``, ``--disable-slash-commands`` and hook
events through to the user's ``claude``, and forward its ``system`` frames (``compact_boundary``
as thrifty's ``CompactBoundary``, the rest as ``SystemFrame``) instead of dropping them.

The runs use the REAL bundled ``claude`` against the simulator (tests/agent/test_via_claude.py's
helpers); the argv checks need no process.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.agent.test_compact import small_window
from tests.agent.test_via_claude import CLAUDE, ledger_rows, plan_environ, plan_session, run_turn
from tests.cli.conftest import Cli
from tests.mcp.servers.running import stdio_config
from tests.sdk.feature_scripts import delegating, reading_until_compacted
from thrifty.agent.options import AgentOptions
from thrifty.agent.subagents.definitions import AgentDef
from thrifty.agent.validate import SetupError
from thrifty.agent.via_claude.argv import check_plan_options, claude_argv, config_files
from thrifty.core.events import CompactBoundary, Event, Result, SystemFrame, SystemInit, UserMessage
from thrifty.testing import Simulator

pytestmark = pytest.mark.skipif(not CLAUDE.exists(), reason="the bundled claude is not installed")

HELPER = AgentDef("helper", "Helps", "You help.", tools=("Bash",), model="haiku", max_turns=3, source="sdk")


def result_of(events: list[Event]) -> Result:
    result = events[-1]
    assert isinstance(result, Result)
    return result


def system_frames(events: list[Event], subtype: str) -> list[SystemFrame]:
    return [e for e in events if isinstance(e, SystemFrame) and e.subtype == subtype]


def test_the_argv_carries_the_new_flags_and_files_keep_secrets_out_of_it(tmp_path: Path) -> None:
    server = stdio_config(env={"TOKEN": "s3cret-token"})
    options = AgentOptions(
        cwd=tmp_path,
        agents={"helper": HELPER},
        agent="helper",
        disable_slash_commands=True,
        mcp_servers={"calc": server},
        strict_mcp_config=True,
    )
    contents = config_files(options)
    assert contents["--agents"] == {
        "helper": {
            "description": "Helps",
            "prompt": "You help.",
            "tools": ["Bash"],
            "model": "haiku",
            "maxTurns": 3,
        }
    }
    assert contents["--mcp-config"] == {"mcpServers": {"calc": server}}
    files = {"--agents": "/x/agents.json", "--mcp-config": "/x/mcp-config.json"}
    argv = claude_argv("claude", options, session_id=None, files=files, hook_events=True)
    assert argv[argv.index("--agents") + 1] == "/x/agents.json"
    assert argv[argv.index("--mcp-config") + 1] == "/x/mcp-config.json"
    assert argv[argv.index("--agent") + 1] == "helper"
    for flag in ("--strict-mcp-config", "--disable-slash-commands", "--include-hook-events"):
        assert flag in argv
    assert "s3cret-token" not in " ".join(argv)
    plain = claude_argv("claude", AgentOptions(cwd=tmp_path), session_id=None)
    assert not {"--agents", "--mcp-config", "--agent", "--include-hook-events"} & set(plain)
    # The SDK host's in-process servers cannot be reached from claude's process.
    with pytest.raises(SetupError, match=r"SDK MCP servers .* not available in plan runs yet"):
        check_plan_options(AgentOptions(cwd=tmp_path, mcp_servers={"mine": {"type": "sdk", "name": "mine"}}))


@pytest.mark.anyio
async def test_a_plan_run_delegates_to_an_agent_and_shows_claudes_task_frames(tmp_path: Path) -> None:
    helper = AgentDef("helper", "Helps", "You help.", tools=("Bash",))
    bash = {"tool_use": {"name": "Bash", "input": {"command": "echo from-sub"}}}
    with Simulator(delegating([bash, {"text": "sub done"}])) as sim:
        async with plan_session(tmp_path, sim, agents={"helper": helper}, allowed_tools=["Bash"]) as session:
            assert session.claude is not None
            events = await run_turn(session, "hi")
            config_dir = session.claude._config_dir
            assert config_dir is not None and (config_dir / "agents.json").exists()
            rows = ledger_rows(session)
        assert session.claude._config_dir is None and not config_dir.exists()  # removed with claude
    result = result_of(events)
    assert (result.subtype, result.result) == ("success", "parent done")
    init = next(e for e in events if isinstance(e, SystemInit))
    assert "helper" in init.agents and init.to_frame()["agents"] == init.agents
    (started,) = system_frames(events, "task_started")
    assert started.data["subagent_type"] == "helper"
    assert started.to_frame()["type"] == "system" and started.to_frame()["subtype"] == "task_started"
    reports = [e for e in events if isinstance(e, UserMessage) and "sub done" in json.dumps(e.content)]
    assert reports  # the subagent's report came back as the Agent call's result
    # The parent's two calls are metered from their stream events. Of the subagent's two, claude
    # forwards only the first message, without stream events: metered during the turn, as an
    # incomplete row; the last one claude never shows, and is recorded after the result from
    # claude's own per-model totals (docs/agents.md, "Plan runs").
    served = [r for r in sim.message_requests() if r.status == 200]
    assert len(served) == 4
    shown = [r for r in rows if not r.request_id.startswith("claude-unreported:")]
    assert sorted(r.complete for r in shown) == [False, True, True]
    assert {r.request_id for r in shown} < {r.request_id for r in served}
    (gap,) = [r for r in rows if r.request_id.startswith("claude-unreported:")]
    assert gap.mode == "plan" and gap.output_tokens > 0
    # The ledger now holds every token the simulator served for the run, subagent's included.
    billed = [r.usage or {} for r in served]
    assert sum(r.output_tokens for r in rows) == sum(u.get("output_tokens", 0) for u in billed)
    result_usage = result.model_usage[gap.model]
    assert sum(r.output_tokens for r in rows) == result_usage["outputTokens"]


@pytest.mark.anyio
async def test_a_plan_run_calls_an_mcp_server_from_the_options(tmp_path: Path) -> None:
    script = [{"tool_use": {"name": "mcp__calc__add", "input": {"a": 2, "b": 3}}}, {"text": "five"}]
    with Simulator(script) as sim:
        options: dict[str, Any] = {
            "mcp_servers": {"calc": stdio_config()},
            "strict_mcp_config": True,
            "allowed_tools": ["mcp__calc__add"],
        }
        async with plan_session(tmp_path, sim, **options) as session:
            events = await run_turn(session, "add")
    init = next(e for e in events if isinstance(e, SystemInit))
    assert "mcp__calc__add" in init.tools
    # claude started the server: its init frame's statuses are passed on
    assert [(s["name"], s["status"]) for s in init.to_frame()["mcp_servers"]] == [("calc", "connected")]
    results = [e for e in events if isinstance(e, UserMessage) and e.origin == "tool_results"]
    assert results and "sum is 5" in json.dumps(results[0].content)
    assert result_of(events).result == "five"


@pytest.mark.anyio
async def test_a_plan_run_forwards_claudes_compact_boundary(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("lorem ipsum dolor sit amet\n" * 1_200)
    script = reading_until_compacted(str(big))
    with Simulator(script, catalog=small_window(40_000)) as sim:  # type: ignore[arg-type]
        options: dict[str, Any] = {"tools": ["Read"], "allowed_tools": ["Read"], "model": "claude-sonnet-5-5"}
        async with plan_session(tmp_path, sim, **options) as session:
            events = await run_turn(session, "read big.txt")
    (boundary,) = [e for e in events if isinstance(e, CompactBoundary)]
    assert boundary.trigger == "auto" and boundary.pre_tokens > (boundary.post_tokens or 0) > 0
    assert boundary.session_id == result_of(events).session_id
    assert [f.data.get("status") for f in system_frames(events, "status")].count("compacting") == 1
    assert result_of(events).result == "done after compaction"


def test_agent_disabled_commands_and_hook_events_reach_claude_from_the_cli(tmp_path: Path) -> None:
    """``thrifty -p --billing-mode plan`` with ``--agent``, ``--disable-slash-commands`` and
    ``--include-hook-events``: the main thread runs as the agent, ``/greet`` stays text, and
    claude's hook frames come out in thrifty's stream-json."""
    project, home = tmp_path / "project", tmp_path / "home"
    (project / ".claude" / "commands").mkdir(parents=True)
    home.mkdir()
    (project / ".claude" / "commands" / "greet.md").write_text("Say hello to $ARGUMENTS politely.\n")
    hooks = {
        "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "true"}]}]}
    }
    agents = json.dumps({"helper": {"description": "Helps", "prompt": "HELPER-SYSTEM-PROMPT"}})
    script = [{"tool_use": {"name": "Bash", "input": {"command": "echo hi"}}}, {"text": "greeted"}]
    with Simulator(script) as sim:
        cli = Cli(sim, project, home)
        env = {**cli.env(), **plan_environ(sim, home), "THRIFTY_CONFIG_DIR": str(cli.config_dir)}
        env["THRIFTY_DATA_DIR"] = str(cli.data_dir)
        run = cli(
            "-p", "/greet Bob", "--billing-mode", "plan", "--output-format", "stream-json", "--verbose",
            "--agents", agents, "--agent", "helper", "--disable-slash-commands", "--include-hook-events",
            "--settings", json.dumps(hooks), "--allowedTools", "Bash",
            env=env,
        )  # fmt: skip
        first = sim.message_requests()[0].body
    assert run.code == 0, run.stderr
    assert "HELPER-SYSTEM-PROMPT" in json.dumps(first["system"])
    sent = json.dumps(first["messages"])
    assert "/greet Bob" in sent and "politely" not in sent
    subtypes = [f.get("subtype") for f in run.lines if f.get("type") == "system"]
    assert "hook_started" in subtypes and "hook_response" in subtypes
    assert run.lines[-1]["type"] == "result" and run.lines[-1]["result"] == "greeted"
