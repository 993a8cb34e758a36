"""``thrifty.Client`` offers what the official ``ClaudeSDKClient`` does over the control protocol,
in process: MCP status, reconnect and toggle, context usage with the session's compaction
figures; and ``query`` yields ``thrifty.CompactBoundary`` when a run is summarised."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import thrifty
from tests.agent.test_compact import reading_script, small_window
from tests.mcp.servers.running import stdio_config
from tests.sdk.conftest import MakeOptions
from thrifty.testing import Simulator

pytestmark = pytest.mark.anyio


def tool_names(sim: Simulator) -> list[str]:
    return [str(t["name"]) for t in sim.message_requests()[-1].body.get("tools", [])]


async def turn(client: thrifty.Client, prompt: str) -> thrifty.Result:
    await client.query(prompt)
    messages = [m async for m in client.receive_response()]
    result = messages[-1]
    assert isinstance(result, thrifty.Result)
    return result


async def test_mcp_status_toggle_and_reconnect_in_process(sim: Simulator, options: MakeOptions) -> None:
    sim.set_script([{"text": "one"}, {"text": "two"}])
    opts = options(mcp_servers={"calc": stdio_config()}, allowed_tools=["mcp__calc__add"])
    async with thrifty.Client(opts) as client:
        (calc,) = (await client.get_mcp_status())["mcpServers"]
        assert (calc["name"], calc["status"], calc["scope"], calc["transport"]) == (
            "calc",
            "connected",
            "dynamic",
            "stdio",
        )
        assert calc["serverInfo"]["name"] == "calc" and "add" in [t["name"] for t in calc["tools"]]

        await client.toggle_mcp_server("calc", False)
        (calc,) = (await client.get_mcp_status())["mcpServers"]
        assert calc["status"] == "disabled" and "tools" not in calc
        await turn(client, "without calc")
        assert not [n for n in tool_names(sim) if n.startswith("mcp__calc__")]
        with pytest.raises(ValueError, match="MCP server 'calc' is disabled"):
            await client.reconnect_mcp_server("calc")

        await client.toggle_mcp_server("calc", True)
        await client.reconnect_mcp_server("calc")
        assert (await client.get_mcp_status())["mcpServers"][0]["status"] == "connected"
        await turn(client, "with calc")
        assert "mcp__calc__add" in tool_names(sim)

        with pytest.raises(ValueError, match="MCP server 'nosuch' not found"):
            await client.reconnect_mcp_server("nosuch")
        with pytest.raises(ValueError, match="MCP server 'nosuch' not found"):
            await client.toggle_mcp_server("nosuch", True)


async def test_mcp_methods_without_servers_and_before_connecting(
    sim: Simulator, options: MakeOptions
) -> None:
    async with thrifty.Client(options()) as client:
        assert await client.get_mcp_status() == {"mcpServers": []}
        with pytest.raises(ValueError, match="needs the serverName of a configured MCP server"):
            await client.toggle_mcp_server("calc", False)
    with pytest.raises(thrifty.NotConnectedError):
        await thrifty.Client(options()).get_mcp_status()
    with pytest.raises(thrifty.NotConnectedError):
        await thrifty.Client(options()).get_context_usage()


def buffer_of(usage: dict[str, Any]) -> dict[str, Any]:
    (buffer,) = [c for c in usage["categories"] if c["kind"] == "buffer"]
    return dict(buffer)


async def test_context_usage_says_when_this_session_compacts(sim: Simulator, options: MakeOptions) -> None:
    sim.set_script([{"text": "hi"}])
    async with thrifty.Client(options()) as client:
        await turn(client, "hello")
        usage = await client.get_context_usage()
    # Claude Code's default: 1,000,000 less min(max_tokens, 20,000) less 13,000.
    assert usage["isAutoCompactEnabled"] is True and usage["autoCompactThreshold"] == 967_000
    assert usage["autocompactSource"] == "model-default"
    assert buffer_of(usage) == {
        "id": "autocompact_buffer",
        "name": "Autocompact buffer",
        "tokens": 33_000,
        "color": "inactive",
        "kind": "buffer",
    }
    (free,) = [c for c in usage["categories"] if c["kind"] == "free"]
    assert free["tokens"] == usage["maxTokens"] - usage["totalTokens"] - 33_000
    assert usage["apiUsage"] is not None and usage["apiUsage"]["output_tokens"] > 0


@pytest.mark.parametrize(
    ("extra", "variables", "enabled", "window", "source"),
    [
        ({"auto_compact": False}, {}, False, 1_000_000, "auto"),
        ({}, {"DISABLE_AUTO_COMPACT": "1"}, False, 1_000_000, "auto"),
        ({}, {"CLAUDE_CODE_AUTO_COMPACT_WINDOW": "200000"}, True, 200_000, "env"),
    ],
)
async def test_context_usage_follows_the_compaction_settings(
    sim: Simulator,
    project: Path,
    extra: dict[str, Any],
    variables: dict[str, str],
    enabled: bool,
    window: int,
    source: str,
) -> None:
    env = {"ANTHROPIC_API_KEY": sim.api_key, "ANTHROPIC_BASE_URL": sim.base_url, **variables}
    async with thrifty.Client(thrifty.Options(cwd=project, env=env, **extra)) as client:
        usage = await client.get_context_usage()
    assert usage["isAutoCompactEnabled"] is enabled and usage["autocompactSource"] == source
    assert usage["maxTokens"] == usage["rawMaxTokens"] == window
    if enabled:
        assert usage["autoCompactThreshold"] == window - 33_000
        assert buffer_of(usage)["tokens"] == 33_000
    else:
        assert "autoCompactThreshold" not in usage
        assert (buffer_of(usage)["id"], buffer_of(usage)["tokens"]) == ("compact_buffer", 3_000)
    assert sim.message_requests() == []  # asking costs no request


async def test_query_yields_the_compact_boundary(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("lorem ipsum dolor sit amet\n" * 1_200)
    with Simulator(reading_script(str(big)), catalog=small_window(28_000)) as sim:
        env = {"ANTHROPIC_API_KEY": sim.api_key, "ANTHROPIC_BASE_URL": sim.base_url, "HOME": str(tmp_path)}
        opts = thrifty.Options(
            cwd=tmp_path,
            env=env,
            model="sonnet",
            tools=["Read"],
            allowed_tools=["Read"],
            persist_session=False,
        )
        messages = [m async for m in thrifty.query("read big.txt", opts)]
    boundaries = [m for m in messages if isinstance(m, thrifty.CompactBoundary)]
    assert [b.trigger for b in boundaries] == ["auto"]
    assert boundaries[0].pre_tokens > (boundaries[0].post_tokens or 0)
    assert boundaries[0].to_frame()["subtype"] == "compact_boundary"
    result = messages[-1]
    assert isinstance(result, thrifty.Result) and result.subtype == "success"
    assert messages.index(boundaries[0]) < len(messages) - 1
