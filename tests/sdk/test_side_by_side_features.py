"""thrifty and the real ``claude`` (the one bundled with claude-agent-sdk), side by side on the
same simulator script: MCP, subagents, slash commands, turn limits, denials, compaction and
background Bash must end the same way, with the same exit code, ``subtype``, ``is_error``,
``stop_reason`` and ``terminal_reason``, in ``json`` and in ``stream-json``.

Each side gets a fresh simulator, project and home, so neither sees the other's requests or
files. The scripts are written so both can follow them (the Agent call passes
``run_in_background: false``, which Claude Code needs to run it in the foreground); where the two
differ by design (docs/agents.md, docs/compaction.md) only what must match is asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.agent.test_compact import small_window
from tests.mcp.servers.running import stdio_config
from tests.sdk.feature_scripts import ADD, delegating, greet_command, reading_until_compacted
from thrifty.testing import LoggedRequest, ModelCatalog, Simulator

claude_agent_sdk = pytest.importorskip("claude_agent_sdk")
CLAUDE = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
pytestmark = pytest.mark.skipif(not CLAUDE.exists(), reason="the bundled claude is not installed")

SIDES = ("thrifty", "claude")
FORMATS = ("json", "stream-json")
#: What says how a run ended; both front ends emit every one of these on every result.
ENDING = ("subtype", "is_error", "stop_reason", "terminal_reason")
MODEL = "claude-sonnet-5-5"

Script = list[dict[str, Any]] | dict[str, Any] | Callable[[Any], dict[str, Any]]


@dataclass
class Side:
    """One front end's run: its exit code, result, every frame (stream-json) and what it asked."""

    code: int
    result: dict[str, Any]
    frames: list[dict[str, Any]]
    requests: list[LoggedRequest]
    stderr: str

    @property
    def results(self) -> list[dict[str, Any]]:
        return [f for f in self.frames if f.get("type") == "result"] or [self.result]

    @property
    def ending(self) -> tuple[Any, ...]:
        missing = [key for key in ENDING if key not in self.result]
        assert not missing, f"result lacks {missing}: {self.result}"
        return (self.code, *(self.result[key] for key in ENDING))

    def system(self, subtype: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f.get("type") == "system" and f.get("subtype") == subtype]

    def sent(self) -> str:
        """Every message of every request the simulator answered, as one text to search."""
        return "\n".join(json.dumps(r.body.get("messages")) for r in self.requests if r.status == 200)


def environ(sim: Simulator, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_", "THRIFTY_"))}
    env.update(
        ANTHROPIC_BASE_URL=sim.base_url,
        ANTHROPIC_API_KEY=sim.api_key,
        HOME=str(home),
        CLAUDE_CONFIG_DIR=str(home / ".claude"),
        THRIFTY_CONFIG_DIR=str(home / ".thrifty-config"),
        THRIFTY_DATA_DIR=str(home / ".thrifty-data"),
        THRIFTY_KEYRING="0",
        PYTHONUNBUFFERED="1",
    )
    return env


def run_side(
    who: str,
    root: Path,
    script: Script,
    args: list[str],
    fmt: str,
    *,
    setup: Callable[[Path], None] | None = None,
    catalog: ModelCatalog | None = None,
) -> Side:
    project, home = root / who / "project", root / who / "home"
    project.mkdir(parents=True)
    home.mkdir()
    if setup is not None:
        setup(project)
    command = [str(CLAUDE)] if who == "claude" else [sys.executable, "-m", "thrifty"]
    flags = ["--output-format", fmt, "--model", MODEL, *(["--verbose"] if fmt == "stream-json" else [])]
    with Simulator(script, catalog=catalog) as sim:  # type: ignore[arg-type]
        done = subprocess.run(
            [*command, *args, *flags],
            cwd=project,
            env=environ(sim, home),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=240,
        )
        requests = sim.message_requests()
    if fmt == "json":
        frames: list[dict[str, Any]] = []
        result = json.loads(done.stdout)
    else:
        frames = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
        results = [f for f in frames if f.get("type") == "result"]
        assert results, f"{who}: {done.stdout[-2000:]} {done.stderr[-2000:]}"
        # The prompt's own result. claude may add later ones (a background task's notification
        # turn); a test that expects them reads ``results``.
        result = results[0]
    return Side(done.returncode, result, frames, requests, done.stderr)


def side_by_side(
    tmp_path: Path,
    script: Script,
    args: list[str],
    fmt: str,
    *,
    setup: Callable[[Path], None] | None = None,
    catalog: ModelCatalog | None = None,
    same_turns: bool = True,
) -> tuple[Side, Side]:
    """Both runs, after checking they ended alike (and, unless told otherwise, after as many
    turns: ``num_turns``); (thrifty, claude)."""
    ours, theirs = (run_side(who, tmp_path, script, args, fmt, setup=setup, catalog=catalog) for who in SIDES)
    assert ours.ending == theirs.ending, (ours.result, theirs.result, ours.stderr, theirs.stderr)
    if same_turns:
        assert ours.result["num_turns"] == theirs.result["num_turns"]
    return ours, theirs


both_formats = pytest.mark.parametrize("fmt", FORMATS)


# -- MCP ---------------------------------------------------------------------------------------

MCP_CONFIG = json.dumps({"mcpServers": {"calc": stdio_config()}})


@both_formats
def test_an_mcp_tool_call(tmp_path: Path, fmt: str) -> None:
    args = ["-p", "add", "--mcp-config", MCP_CONFIG, "--allowedTools", "mcp__calc__add"]
    ours, theirs = side_by_side(tmp_path, [ADD, {"text": "five"}], args, fmt)
    assert ours.ending == (0, "success", False, "end_turn", "completed")
    for side in (ours, theirs):
        assert side.result["result"] == "five"
        assert "sum is 5" in side.sent()  # the server's answer reached the model on both sides
    if fmt == "stream-json":
        for side in (ours, theirs):
            (init,) = side.system("init")
            # claude adds ``source`` (the scope), an optional field thrifty leaves out
            assert [(s["name"], s["status"]) for s in init["mcp_servers"]] == [("calc", "connected")]
            assert "mcp__calc__add" in init["tools"]


@both_formats
def test_an_mcp_tool_without_an_allow_rule_is_denied(tmp_path: Path, fmt: str) -> None:
    ours, theirs = side_by_side(
        tmp_path, [ADD, {"text": "denied"}], ["-p", "add", "--mcp-config", MCP_CONFIG], fmt
    )
    assert ours.ending == (0, "success", False, "end_turn", "completed")
    for side in (ours, theirs):
        assert [d["tool_name"] for d in side.result["permission_denials"]] == ["mcp__calc__add"]
        assert "sum is" not in side.sent()


@both_formats
def test_max_turns_reached_at_an_mcp_call(tmp_path: Path, fmt: str) -> None:
    args = ["-p", "add", "--mcp-config", MCP_CONFIG, "--allowedTools", "mcp__calc__add", "--max-turns", "1"]
    ours, theirs = side_by_side(tmp_path, [ADD, {"text": "never"}], args, fmt)
    assert ours.ending == (1, "error_max_turns", True, "tool_use", "max_turns")
    assert ours.result["errors"] == theirs.result["errors"] == ["Reached maximum number of turns (1)"]
    assert len(ours.requests) == len(theirs.requests) == 1


# -- subagents ---------------------------------------------------------------------------------

AGENTS = json.dumps({"helper": {"description": "Helps", "prompt": "You help.", "tools": ["Bash"]}})


def subagent_requests(side: Side) -> list[LoggedRequest]:
    return [r for r in side.requests if "SUBTASK please" in json.dumps(r.body["messages"][0])]


@both_formats
def test_a_subagent_from_agents_json(tmp_path: Path, fmt: str) -> None:
    script = delegating([{"text": "sub done"}])
    ours, theirs = side_by_side(tmp_path, script, ["-p", "hi", "--agents", AGENTS], fmt)
    assert ours.ending == (0, "success", False, "end_turn", "completed")
    for side in (ours, theirs):
        assert side.result["result"] == "parent done"
        assert len(subagent_requests(side)) == 1
        assert "sub done" in json.dumps(side.requests[-1].body["messages"][-1])  # the report came back
    if fmt == "stream-json":
        for side in (ours, theirs):
            (init,) = side.system("init")
            assert "helper" in init["agents"]
            assert "Task" in init["tools"]  # the legacy name, on both sides
            (call,) = [b for f in side.frames if f.get("type") == "assistant" for b in f["message"]["content"]
                       if b.get("type") == "tool_use"]  # fmt: skip
            # The subagent's frames carry the Agent call's id. claude 2.1.337 sends only its
            # prompt (and task_* frames); thrifty sends its messages (docs/agents.md).
            assert any(f.get("parent_tool_use_id") == call["id"] for f in side.frames)


@both_formats
def test_max_turns_counts_the_parents_turns_not_the_subagents(tmp_path: Path, fmt: str) -> None:
    bash = [{"tool_use": {"name": "Bash", "input": {"command": f"echo {w}"}}} for w in ("one", "two")]
    script = delegating([*bash, {"text": "sub done"}])
    args = ["-p", "hi", "--agents", AGENTS, "--allowedTools", "Bash"]
    # One turn: the parent stops after the Agent call, once the subagent's three turns are over.
    ours, theirs = side_by_side(tmp_path, script, [*args, "--max-turns", "1"], fmt)
    assert ours.ending == (1, "error_max_turns", True, "tool_use", "max_turns")
    assert len(subagent_requests(ours)) == len(subagent_requests(theirs)) == 3
    # Two turns are enough for the parent, however many the subagent took.
    ours, theirs = side_by_side(tmp_path / "two", script, [*args, "--max-turns", "2"], fmt)
    assert ours.ending == (0, "success", False, "end_turn", "completed")


# -- slash commands ----------------------------------------------------------------------------


@both_formats
def test_a_slash_command_from_the_project(tmp_path: Path, fmt: str) -> None:
    ours, theirs = side_by_side(
        tmp_path, [{"text": "Hello Bob"}], ["-p", "/greet Bob"], fmt, setup=greet_command
    )
    assert ours.ending == (0, "success", False, "end_turn", "completed")
    for side in (ours, theirs):
        assert side.result["result"] == "Hello Bob"
        assert "Say hello to Bob politely." in side.sent()  # expanded, with its arguments
    if fmt == "stream-json":
        for side in (ours, theirs):
            assert "greet" in side.system("init")[0]["slash_commands"]


def test_disabled_slash_commands_send_the_prompt_as_it_is(tmp_path: Path) -> None:
    args = ["-p", "/greet Bob", "--disable-slash-commands"]
    ours, theirs = side_by_side(tmp_path, [{"text": "as text"}], args, "json", setup=greet_command)
    assert ours.ending == (0, "success", False, "end_turn", "completed")
    for side in (ours, theirs):
        assert "politely" not in side.sent() and "/greet Bob" in side.sent()


# -- permissions -------------------------------------------------------------------------------


@both_formats
def test_a_write_denied_in_print_mode(tmp_path: Path, fmt: str) -> None:
    target = tmp_path / "never.txt"
    write = {"tool_use": {"name": "Write", "input": {"file_path": str(target), "content": "x"}}}
    ours, theirs = side_by_side(tmp_path, [write, {"text": "denied"}], ["-p", "write"], fmt)
    assert ours.ending == (0, "success", False, "end_turn", "completed")
    assert (
        ours.result["permission_denials"][0]["tool_input"]
        == theirs.result["permission_denials"][0]["tool_input"]
    )
    assert not target.exists()


@both_formats
def test_a_disallowed_tool_in_dont_ask_mode(tmp_path: Path, fmt: str) -> None:
    bash = {"tool_use": {"name": "Bash", "input": {"command": "touch made.txt"}}}
    args = ["-p", "go", "--permission-mode", "dontAsk"]
    ours, theirs = side_by_side(tmp_path, [bash, {"text": "refused"}], args, fmt)
    assert ours.ending == (0, "success", False, "end_turn", "completed")
    for side in (ours, theirs):
        assert [d["tool_name"] for d in side.result["permission_denials"]] == ["Bash"]


# -- compaction --------------------------------------------------------------------------------


@both_formats
def test_a_run_that_crosses_the_context_window_compacts_and_goes_on(tmp_path: Path, fmt: str) -> None:
    big = tmp_path / "big.txt"
    big.write_text("lorem ipsum dolor sit amet\n" * 1_200)
    args = ["-p", "read big.txt", "--tools", "Read", "--allowedTools", "Read"]
    script = reading_until_compacted(str(big))
    # claude keeps part of the history after its summary, so it makes more requests.
    ours, theirs = side_by_side(tmp_path, script, args, fmt, catalog=small_window(40_000), same_turns=False)
    assert ours.ending == (0, "success", False, "end_turn", "completed")
    for side in (ours, theirs):
        assert side.result["result"] == "done after compaction"
        assert any(r.status == 400 for r in side.requests)  # the simulator's window was crossed
    if fmt == "stream-json":
        for side in (ours, theirs):
            (boundary,) = side.system("compact_boundary")
            assert boundary["compact_metadata"]["trigger"] == "auto"
            assert boundary["compact_metadata"]["pre_tokens"] > boundary["compact_metadata"]["post_tokens"]


# -- background Bash ---------------------------------------------------------------------------


@both_formats
def test_a_background_bash_command(tmp_path: Path, fmt: str) -> None:
    """Both start the command and end the run in success. Claude Code's ``-p`` then waits for
    the command and gives the model one more turn with its notification; thrifty ends when the
    model ends its turn (docs/agents.md), so only the ending is compared, not the final text."""
    bash = {"command": "echo started-bg; sleep 1; echo bg-finished", "run_in_background": True}
    script = [{"tool_use": {"name": "Bash", "input": bash}}, {"text": "launched"}]
    args = ["-p", "go", "--allowedTools", "Bash"]
    # In json, claude's result is its notification turn's, which counts its own turns.
    ours, theirs = side_by_side(tmp_path, script, args, fmt, same_turns=fmt == "stream-json")
    assert ours.ending == (0, "success", False, "end_turn", "completed")
    for side in (ours, theirs):
        assert "Command running in background with ID: " in side.sent()
    assert ours.result["result"] == "launched"
    if fmt == "stream-json":
        assert theirs.result["result"] == "launched"
        # claude's extra turn for the notification ends in a result of its own.
        assert len(ours.results) == 1
        assert [r.get("origin", {}).get("kind") for r in theirs.results[1:]] == ["task-notification"]


# -- control requests through the official SDK --------------------------------------------------


def official_options(root: Path, who: str, sim: Simulator, **extra: Any) -> Any:
    """``ClaudeAgentOptions`` that start the real claude, or thrifty through a wrapper script."""
    project, home = root / who / "project", root / who / "home"
    project.mkdir(parents=True)
    home.mkdir()
    cli_path = CLAUDE
    if who == "thrifty":
        cli_path = root / "thrifty-cli"
        cli_path.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m thrifty "$@"\n')
        cli_path.chmod(0o755)
    env = {**environ(sim, home), **extra.pop("variables", {})}
    return claude_agent_sdk.ClaudeAgentOptions(
        cli_path=str(cli_path), cwd=str(project), env=env, model=MODEL, **extra
    )


COMPACTION_FIELDS = (
    "isAutoCompactEnabled",
    "autoCompactThreshold",
    "maxTokens",
    "rawMaxTokens",
    "autocompactSource",
)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "variables", [{}, {"DISABLE_AUTO_COMPACT": "1"}, {"CLAUDE_CODE_AUTO_COMPACT_WINDOW": "200000"}]
)
async def test_get_context_usage_reports_compaction_as_claude_does(
    tmp_path: Path, variables: dict[str, str]
) -> None:
    import anyio

    seen: dict[str, tuple[Any, ...]] = {}
    for who in SIDES:
        with Simulator([{"text": "hi"}]) as sim, anyio.fail_after(120):
            options = official_options(tmp_path, who, sim, variables=variables)
            async with claude_agent_sdk.ClaudeSDKClient(options) as client:
                usage: dict[str, Any] = dict(await client.get_context_usage())
        (buffer,) = [
            (c["id"], c["name"], c["tokens"], c["kind"]) for c in usage["categories"] if c["kind"] == "buffer"
        ]
        seen[who] = (*(usage.get(key) for key in COMPACTION_FIELDS), buffer)
    assert seen["thrifty"] == seen["claude"]


@pytest.mark.anyio
async def test_mcp_control_requests_act_as_claudes(tmp_path: Path) -> None:
    import anyio

    def shown(status: Any) -> list[tuple[Any, ...]]:
        return [
            (s["name"], s["status"], s.get("serverInfo"), s.get("config"), s.get("scope"), s.get("transport"),
             sorted(t["name"] for t in s.get("tools", [])))
            for s in status["mcpServers"]
        ]  # fmt: skip

    async def refused(call: Any) -> bool:
        try:
            await call
        except Exception:  # the official client raises a bare Exception for an error response
            return True
        return False

    seen: dict[str, list[Any]] = {}
    for who in SIDES:
        steps: list[Any] = []
        with Simulator([{"text": "hi"}]) as sim, anyio.fail_after(120):
            options = official_options(tmp_path, who, sim, mcp_servers={"calc": stdio_config()})
            async with claude_agent_sdk.ClaudeSDKClient(options) as client:
                # After a turn: claude connects its servers in the background and says
                # ``pending`` until then; thrifty connects them before it answers.
                await client.query("hi")
                [m async for m in client.receive_response()]
                steps.append(shown(await client.get_mcp_status()))
                await client.toggle_mcp_server("calc", False)
                steps.append(shown(await client.get_mcp_status()))
                steps.append(await refused(client.reconnect_mcp_server("calc")))
                await client.toggle_mcp_server("calc", True)
                await client.reconnect_mcp_server("calc")
                steps.append(shown(await client.get_mcp_status()))
                steps.append(await refused(client.reconnect_mcp_server("nosuch")))
                steps.append(await refused(client.toggle_mcp_server("nosuch", True)))
        seen[who] = steps
    assert seen["thrifty"] == seen["claude"]
    first, disabled, refused_disabled, again, *unknown = seen["claude"]
    assert disabled[0][1] == "disabled" and again == first and refused_disabled and unknown == [True, True]
