"""Control protocol details Claude Code has, driven by the official SDK with ``cli_path`` = thrifty:
``get_context_usage``, ``can_use_tool`` suggestions, the interrupt's user message, hook events."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from claude_agent_sdk import (
    ClaudeSDKClient,
    PermissionResultDeny,
    ResultMessage,
    SystemMessage,
    TextBlock,
    UserMessage,
)
from claude_agent_sdk.types import ToolPermissionContext

import thrifty
from tests.cli.conftest import Cli

pytestmark = pytest.mark.anyio

TIMEOUT_S = 90


async def test_get_context_usage_answers_claude_codes_shape(cli: Cli, make_options: Any) -> None:
    cli.sim.set_script([{"text": "hi there"}])
    with anyio.fail_after(TIMEOUT_S):
        async with ClaudeSDKClient(make_options()) as client:
            await client.query("hello")
            [m async for m in client.receive_response()]
            usage: dict[str, Any] = dict(await client.get_context_usage())
    names = [c["name"] for c in usage["categories"]]
    assert names[:2] == ["System prompt", "System tools"] and "Messages" in names and "Free space" in names
    used = sum(c["tokens"] for c in usage["categories"] if c["kind"] == "used")
    assert usage["totalTokens"] == used > 0
    assert usage["maxTokens"] == usage["rawMaxTokens"] > usage["totalTokens"]
    assert 0 < usage["percentage"] < 100 and usage["model"]
    assert usage["apiUsage"] is not None and usage["apiUsage"]["output_tokens"] > 0
    for key in ("memoryFiles", "mcpTools", "agents", "gridRows", "isAutoCompactEnabled"):
        assert key in usage


async def test_can_use_tool_gets_claude_codes_suggestions(
    cli: Cli, make_options: Any, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere" / "notes.txt"
    calls = [
        {"name": "Bash", "input": {"command": "npm test && git status --short"}},
        {"name": "Read", "input": {"file_path": str(outside)}},
        {"name": "Write", "input": {"file_path": str(cli.cwd / "a.txt"), "content": "x"}},
    ]
    cli.sim.set_script([{"tool_use": calls}, {"text": "ok"}])
    seen: dict[str, list[dict[str, Any]]] = {}

    async def can_use_tool(
        name: str, data: dict[str, Any], ctx: ToolPermissionContext
    ) -> PermissionResultDeny:
        seen[name] = [s.to_dict() for s in ctx.suggestions]
        return PermissionResultDeny(message="no")

    with anyio.fail_after(TIMEOUT_S):
        async with ClaudeSDKClient(make_options(can_use_tool=can_use_tool)) as client:
            await client.query("go")
            [m async for m in client.receive_response()]
    rules = [
        {"toolName": "Bash", "ruleContent": "npm test *"},
        {"toolName": "Bash", "ruleContent": "git status *"},
    ]
    assert seen["Bash"] == [
        {"type": "addRules", "destination": "localSettings", "rules": rules, "behavior": "allow"}
    ]
    assert seen["Read"] == [
        {"type": "addDirectories", "destination": "session", "directories": [str(outside.parent)]}
    ]
    assert seen["Write"] == [{"type": "setMode", "destination": "session", "mode": "acceptEdits"}]


async def test_in_process_can_use_tool_gets_the_same_suggestions(cli: Cli) -> None:
    cli.sim.set_script(
        [
            {"tool_use": {"name": "Write", "input": {"file_path": str(cli.cwd / "a.txt"), "content": "x"}}},
            {"text": "k"},
        ]
    )
    seen: list[Any] = []

    def can_use_tool(name: str, data: dict[str, Any], ctx: thrifty.ToolPermissionContext) -> Any:
        seen.extend(ctx.suggestions)
        return thrifty.PermissionResultDeny(message="no")

    env = {"ANTHROPIC_API_KEY": cli.sim.api_key, "ANTHROPIC_BASE_URL": cli.sim.base_url}
    options = thrifty.Options(cwd=cli.cwd, env=env, can_use_tool=can_use_tool)
    async for _ in thrifty.query("write", options):
        pass
    assert [s.to_dict() for s in seen] == [
        {"type": "setMode", "destination": "session", "mode": "acceptEdits"}
    ]


async def test_an_interrupt_is_followed_by_the_interrupted_user_message(cli: Cli, make_options: Any) -> None:
    cli.sim.set_script([{"text": "slow answer", "fault": {"kind": "slow", "delay": 4}}])
    got: list[Any] = []
    with anyio.fail_after(TIMEOUT_S):
        async with ClaudeSDKClient(make_options()) as client:
            await client.query("one")
            async for message in client.receive_response():
                got.append(message)
                if isinstance(message, SystemMessage) and message.subtype == "init":
                    await anyio.sleep(0.5)
                    await client.interrupt()
    assert isinstance(got[-1], ResultMessage) and got[-1].subtype == "error_during_execution"
    note = got[-2]
    assert isinstance(note, UserMessage) and isinstance(note.content, list)
    assert [b.text for b in note.content if isinstance(b, TextBlock)] == ["[Request interrupted by user]"]


def test_include_hook_events_emits_hook_frames_for_command_hooks(cli: Cli) -> None:
    settings = {
        "hooks": {
            "PreToolUse": [
                {
                    "matcher": "Bash",
                    "hooks": [{"type": "command", "command": "echo pre-out; echo pre-err >&2"}],
                }
            ]
        }
    }
    cli.sim.set_script([{"tool_use": {"name": "Bash", "input": {"command": "echo hi"}}}, {"text": "done"}])
    args = [
        "--output-format",
        "stream-json",
        "--verbose",
        "--allowedTools",
        "Bash",
        "--settings",
        json.dumps(settings),
    ]
    plain = cli("-p", "run it", *args)
    assert plain.code == 0, plain.stderr
    assert not [f for f in plain.lines if f.get("subtype", "").startswith("hook_")]
    run = cli("-p", "run it", *args, "--include-hook-events")
    assert run.code == 0, run.stderr
    hooks = [f for f in run.lines if f.get("subtype", "").startswith("hook_")]
    assert [f["subtype"] for f in hooks] == ["hook_started", "hook_response"]
    started, response = hooks
    assert started["hook_id"] == response["hook_id"]
    assert started["hook_name"] == "PreToolUse:Bash" and started["hook_event"] == "PreToolUse"
    assert response["stdout"] == "pre-out\n" and response["stderr"] == "pre-err\n"
    assert response["output"] == "pre-out\npre-err\n"
    assert response["exit_code"] == 0 and response["outcome"] == "success"
    assert response["session_id"] == run.lines[-1]["session_id"]
    kinds = [f["type"] if f["type"] != "system" else f["subtype"] for f in run.lines]
    assert kinds.index("hook_response") < kinds.index("user")  # before the tool's result


def test_include_hook_events_with_stream_json_input(cli: Cli) -> None:
    settings = {"hooks": {"UserPromptSubmit": [{"hooks": [{"type": "command", "command": "true"}]}]}}
    cli.sim.set_script([{"text": "done"}])
    args = ["--input-format", "stream-json", "--output-format", "stream-json", "--verbose"]
    line = json.dumps({"type": "user", "message": {"role": "user", "content": "hello"}})
    proc = subprocess.run(
        [sys.executable, "-m", "thrifty", *args, "--include-hook-events", "--settings", json.dumps(settings)],
        cwd=cli.cwd,
        env=cli.env(),
        input=line + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    frames = [json.loads(x) for x in proc.stdout.splitlines() if x.strip()]
    hooks = [(f["subtype"], f["hook_name"]) for f in frames if f.get("subtype", "").startswith("hook_")]
    assert hooks == [("hook_started", "UserPromptSubmit"), ("hook_response", "UserPromptSubmit")]
