"""The official ``claude-agent-sdk`` drives ``thrifty`` unchanged through ``cli_path``.

Every test runs the real SDK against a real ``thrifty`` subprocess and the simulator: the SDK
builds its argv, speaks the control protocol and parses the frames exactly as it does with
Claude Code.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from claude_agent_sdk import (
    AssistantMessage,
    ClaudeAgentOptions,
    ClaudeSDKClient,
    HookMatcher,
    PermissionResultAllow,
    PermissionResultDeny,
    ResultMessage,
    SystemMessage,
    TextBlock,
    create_sdk_mcp_server,
    query,
    tool,
)

from tests.cli.conftest import Cli

pytestmark = pytest.mark.anyio

TIMEOUT_S = 90


async def collect(prompt: str, options: ClaudeAgentOptions) -> list[Any]:
    with anyio.fail_after(TIMEOUT_S):
        return [m async for m in query(prompt=prompt, options=options)]


def last_user_content(cli: Cli, index: int) -> list[dict[str, Any]]:
    content = cli.sim.message_requests()[index].body["messages"][-1]["content"]
    return content if isinstance(content, list) else [{"type": "text", "text": content}]


def tool_result_text(block: dict[str, Any]) -> str:
    content = block["content"]
    return content if isinstance(content, str) else "".join(b.get("text", "") for b in content)


async def test_query_yields_the_answer_and_a_costed_result(cli: Cli, make_options: Any) -> None:
    cli.sim.set_script([{"text": "Hello from thrifty."}])
    messages = await collect("say hello", make_options())
    init = messages[0]
    assert isinstance(init, SystemMessage) and init.subtype == "init"
    assert init.data["claude_code_version"] == "2.1.331" and "Write" in init.data["tools"]
    texts = [b.text for m in messages if isinstance(m, AssistantMessage) for b in m.content]
    assert texts == ["Hello from thrifty."]
    result = messages[-1]
    assert isinstance(result, ResultMessage) and result.subtype == "success" and not result.is_error
    assert result.result == "Hello from thrifty." and result.session_id == init.data["session_id"]
    assert result.total_cost_usd is not None and result.total_cost_usd > 0
    assert result.usage is not None and result.usage["output_tokens"] > 0
    sent = cli.sim.message_requests()[0].body
    assert sent["messages"][0]["content"][0]["text"] == "say hello"


async def test_can_use_tool_allows_with_new_input_and_denies(cli: Cli, make_options: Any) -> None:
    allowed, denied = cli.cwd / "allowed.txt", cli.cwd / "denied.txt"
    cli.sim.set_script(
        [
            {"tool_use": {"name": "Write", "input": {"file_path": str(allowed), "content": "model text"}}},
            {"tool_use": {"name": "Write", "input": {"file_path": str(denied), "content": "nope"}}},
            {"text": "Done."},
        ]
    )
    asked: list[tuple[str, dict[str, Any], str | None]] = []

    async def can_use_tool(name: str, tool_input: dict[str, Any], context: Any) -> Any:
        asked.append((name, tool_input, context.tool_use_id))
        if tool_input["file_path"] == str(allowed):
            return PermissionResultAllow(updated_input={**tool_input, "content": "host text"})
        return PermissionResultDeny(message="no writes to denied.txt")

    messages = await collect("write two files", make_options(can_use_tool=can_use_tool))
    assert [a[0] for a in asked] == ["Write", "Write"] and all(a[2] for a in asked)
    assert allowed.read_text() == "host text" and not denied.exists()
    result = messages[-1]
    assert isinstance(result, ResultMessage) and result.result == "Done."
    assert [d["tool_input"]["file_path"] for d in result.permission_denials] == [str(denied)]
    (denial,) = last_user_content(cli, 2)[:1]
    assert denial["is_error"] is True and tool_result_text(denial) == "no writes to denied.txt"


async def test_hooks_see_the_tool_input_and_decide(cli: Cli, make_options: Any) -> None:
    notes = cli.cwd / "notes.txt"
    notes.write_text("remember\n")
    cli.sim.set_script(
        [
            {"tool_use": {"name": "Bash", "input": {"command": "touch made"}}},
            {"tool_use": {"name": "Read", "input": {"file_path": str(notes)}}},
            {"text": "Done."},
        ]
    )
    seen: list[dict[str, Any]] = []

    async def guard(hook_input: Any, tool_use_id: str | None, context: Any) -> Any:
        seen.append({**hook_input, "id": tool_use_id})
        return {
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": "bash is switched off",
            }
        }

    async def annotate(hook_input: Any, tool_use_id: str | None, context: Any) -> Any:
        return {"hookSpecificOutput": {"hookEventName": "PostToolUse", "additionalContext": "READ-NOTE-42"}}

    hooks = {
        "PreToolUse": [HookMatcher(matcher="Bash", hooks=[guard])],
        "PostToolUse": [HookMatcher(matcher="Read", hooks=[annotate])],
    }
    messages = await collect("go", make_options(hooks=hooks, allowed_tools=["Bash", "Read"]))
    assert isinstance(messages[-1], ResultMessage) and messages[-1].result == "Done."
    assert len(seen) == 1 and seen[0]["hook_event_name"] == "PreToolUse"
    assert seen[0]["tool_name"] == "Bash" and seen[0]["tool_input"] == {"command": "touch made"}
    assert seen[0]["id"] == seen[0]["tool_use_id"]
    assert not (cli.cwd / "made").exists()
    blocked = last_user_content(cli, 1)[0]
    assert blocked["is_error"] is True and "bash is switched off" in tool_result_text(blocked)
    after_read = last_user_content(cli, 2)
    assert "remember" in tool_result_text(after_read[0])
    assert {"type": "text", "text": "READ-NOTE-42"} in [
        {k: v for k, v in b.items() if k != "cache_control"} for b in after_read[1:]
    ]


async def test_sdk_mcp_tool_is_served_by_the_host(cli: Cli, make_options: Any) -> None:
    calls: list[dict[str, Any]] = []

    @tool("add", "Add two numbers", {"a": float, "b": float})
    async def add(args: dict[str, Any]) -> dict[str, Any]:
        calls.append(args)
        return {"content": [{"type": "text", "text": f"sum is {args['a'] + args['b']:g}"}]}

    calc = create_sdk_mcp_server("calc", tools=[add])
    cli.sim.set_script([{"tool_use": {"name": "mcp__calc__add", "input": {"a": 2, "b": 3}}}, {"text": "5."}])
    options = make_options(mcp_servers={"calc": calc}, allowed_tools=["mcp__calc__add"])
    with anyio.fail_after(TIMEOUT_S):
        async with ClaudeSDKClient(options) as client:
            await client.query("add 2 and 3")
            messages = [m async for m in client.receive_response()]
            status = await client.get_mcp_status()
    assert calls == [{"a": 2, "b": 3}]
    assert isinstance(messages[-1], ResultMessage) and messages[-1].result == "5."
    first = cli.sim.message_requests()[0].body
    offered = {t["name"]: t for t in first["tools"]}
    assert offered["mcp__calc__add"]["description"] == "Add two numbers"
    assert set(offered["mcp__calc__add"]["input_schema"]["properties"]) == {"a", "b"}
    result = last_user_content(cli, 1)[0]
    assert result["type"] == "tool_result" and tool_result_text(result) == "sum is 5"
    init = messages[0]
    assert isinstance(init, SystemMessage)
    assert init.data["mcp_servers"] == [{"name": "calc", "status": "connected"}]
    (server,) = status["mcpServers"]
    assert server["name"] == "calc" and server["status"] == "connected"
    assert [t["name"] for t in server["tools"]] == ["add"]


async def test_client_keeps_one_session_and_survives_an_interrupt(cli: Cli, make_options: Any) -> None:
    cli.sim.set_script(
        [
            {"text": "first"},
            {"text": "slow answer", "fault": {"kind": "slow", "delay": 4}},
            {"text": "third"},
        ]
    )
    with anyio.fail_after(TIMEOUT_S):
        async with ClaudeSDKClient(make_options()) as client:
            await client.query("one")
            first = [m async for m in client.receive_response()]
            await client.query("two")
            second: list[Any] = []
            async for message in client.receive_response():
                second.append(message)
                if isinstance(message, SystemMessage) and message.subtype == "init":
                    await anyio.sleep(0.5)
                    await client.interrupt()
            await client.query("three")
            third = [m async for m in client.receive_response()]
    results = [m[-1] for m in (first, second, third)]
    assert all(isinstance(r, ResultMessage) for r in results)
    assert [r.subtype for r in results] == ["success", "error_during_execution", "success"]
    assert results[0].result == "first" and results[1].is_error
    assert len({r.session_id for r in results}) == 1
    # the last request carries the whole conversation, with the interruption noted
    history = json.dumps(cli.sim.message_requests()[-1].body["messages"])
    assert "one" in history and "[Request interrupted by user]" in history and "three" in history


async def test_set_model_changes_the_next_request(cli: Cli, make_options: Any) -> None:
    cli.sim.set_script([{"text": "a"}, {"text": "b"}])
    with anyio.fail_after(TIMEOUT_S):
        async with ClaudeSDKClient(make_options()) as client:
            await client.query("first")
            _ = [m async for m in client.receive_response()]
            await client.set_model("opus")
            await client.set_permission_mode("acceptEdits")
            await client.query("second")
            second = [m async for m in client.receive_response()]
    assert [r.body["model"] for r in cli.sim.message_requests()] == ["claude-sonnet-5-5", "claude-opus-5-5"]
    init = next(m for m in second if isinstance(m, SystemMessage) and m.subtype == "init")
    assert init.data["permissionMode"] == "acceptEdits" and init.data["model"] == "claude-opus-5-5"
    assert [
        b.text
        for m in second
        if isinstance(m, AssistantMessage)
        for b in m.content
        if isinstance(b, TextBlock)
    ] == ["b"]
