"""The in-process SDK (``thrifty.Options``) offers each feature the CLI does, and ends each the
way ``claude -p`` does: the scripts and endings of tests/sdk/test_side_by_side_features.py, where
the CLI was held to the real ``claude``, run here through ``thrifty.query``.

A difference between the SDK and the CLI would show as a different ``subtype``,
``terminal_reason`` or ``exit_code`` for the same script and options.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import thrifty
from tests.agent.test_compact import small_window
from tests.mcp.servers.running import stdio_config
from tests.sdk.feature_scripts import (
    ADD,
    DELEGATE,
    delegating,
    greet_command,
    reading_until_compacted,
)
from thrifty.testing import ModelCatalog, Simulator

pytestmark = pytest.mark.anyio

SUCCESS = (0, "success", False, "end_turn", "completed")
MAX_TURNS = (1, "error_max_turns", True, "tool_use", "max_turns")
HELPER = {"helper": {"description": "Helps", "prompt": "You help.", "tools": ["Bash"]}}
CALC = {"calc": stdio_config()}


async def run(
    tmp_path: Path,
    script: Any,
    prompt: str,
    *,
    setup: Callable[[Path], None] | None = None,
    catalog: ModelCatalog | None = None,
    **options: Any,
) -> tuple[list[thrifty.Message], thrifty.Result, Simulator]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    if setup is not None:
        setup(tmp_path)
    with Simulator(script, catalog=catalog) as sim:
        env = {"ANTHROPIC_API_KEY": sim.api_key, "ANTHROPIC_BASE_URL": sim.base_url, "HOME": str(tmp_path)}
        opts = thrifty.Options(
            cwd=tmp_path, env=env, model="claude-sonnet-5-5", persist_session=False, **options
        )
        messages = [m async for m in thrifty.query(prompt, opts)]
    result = messages[-1]
    assert isinstance(result, thrifty.Result)
    return messages, result, sim


def ending(result: thrifty.Result) -> tuple[Any, ...]:
    return (result.exit_code, result.subtype, result.is_error, result.stop_reason, result.terminal_reason)


def sent(sim: Simulator) -> str:
    return "\n".join(json.dumps(r.body.get("messages")) for r in sim.message_requests() if r.status == 200)


async def test_mcp_servers_allowed_denied_and_at_the_turn_limit(tmp_path: Path) -> None:
    _, result, sim = await run(
        tmp_path / "a", [ADD, {"text": "five"}], "add", mcp_servers=CALC, allowed_tools=["mcp__calc__add"]
    )
    assert ending(result) == SUCCESS and "sum is 5" in sent(sim)
    _, result, sim = await run(tmp_path / "b", [ADD, {"text": "denied"}], "add", mcp_servers=CALC)
    assert ending(result) == SUCCESS
    assert [d["tool_name"] for d in result.permission_denials] == ["mcp__calc__add"]
    _, result, _ = await run(
        tmp_path / "c",
        [ADD, {"text": "never"}],
        "add",
        mcp_servers=CALC,
        allowed_tools=["mcp__calc__add"],
        max_turns=1,
    )
    assert ending(result) == MAX_TURNS and result.errors == ["Reached maximum number of turns (1)"]


async def test_subagents_from_options(tmp_path: Path) -> None:
    messages, result, _ = await run(tmp_path / "a", delegating([{"text": "sub done"}]), "hi", agents=HELPER)
    assert ending(result) == SUCCESS and result.result == "parent done"
    (call,) = [
        b
        for m in messages
        if isinstance(m, thrifty.AssistantMessage)
        for b in m.content
        if b.get("type") == "tool_use"
    ]
    assert call["input"] == DELEGATE["tool_use"]["input"]
    inner = [
        m for m in messages if isinstance(m, thrifty.AssistantMessage) and m.parent_tool_use_id == call["id"]
    ]
    assert inner and inner[-1].text == "sub done"

    bash = [{"tool_use": {"name": "Bash", "input": {"command": f"echo {w}"}}} for w in ("one", "two")]
    script = delegating([*bash, {"text": "sub done"}])
    _, result, _ = await run(tmp_path / "b", script, "hi", agents=HELPER, allowed_tools=["Bash"], max_turns=1)
    assert ending(result) == MAX_TURNS


async def test_slash_commands_and_turning_them_off(tmp_path: Path) -> None:
    _, result, sim = await run(tmp_path / "a", [{"text": "Hello Bob"}], "/greet Bob", setup=greet_command)
    assert ending(result) == SUCCESS and "Say hello to Bob politely." in sent(sim)
    _, result, sim = await run(
        tmp_path / "b", [{"text": "as text"}], "/greet Bob", setup=greet_command, disable_slash_commands=True
    )
    assert ending(result) == SUCCESS and "politely" not in sent(sim) and "/greet Bob" in sent(sim)


async def test_a_write_denied_without_a_permission_callback(tmp_path: Path) -> None:
    target = tmp_path / "never.txt"
    write = {"tool_use": {"name": "Write", "input": {"file_path": str(target), "content": "x"}}}
    _, result, _ = await run(tmp_path, [write, {"text": "denied"}], "write")
    assert ending(result) == SUCCESS and [d["tool_name"] for d in result.permission_denials] == ["Write"]
    assert not target.exists()


async def test_compaction_across_the_window(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("lorem ipsum dolor sit amet\n" * 1_200)
    messages, result, _ = await run(
        tmp_path,
        reading_until_compacted(str(big)),
        "read big.txt",
        catalog=small_window(40_000),
        tools=["Read"],
        allowed_tools=["Read"],
    )
    assert ending(result) == SUCCESS and result.result == "done after compaction"
    assert [m.trigger for m in messages if isinstance(m, thrifty.CompactBoundary)] == ["auto"]


async def test_background_bash(tmp_path: Path) -> None:
    bash = {"command": "echo started-bg; sleep 1; echo bg-finished", "run_in_background": True}
    script = [{"tool_use": {"name": "Bash", "input": bash}}, {"text": "launched"}]
    _, result, sim = await run(tmp_path, script, "go", allowed_tools=["Bash"])
    assert ending(result) == SUCCESS and result.result == "launched"
    assert "Command running in background with ID: " in sent(sim)
