"""``McpClient`` and the proxy tools over a real (if tiny) JSON-RPC server: handshake, paging,
content conversion, JSON-RPC errors, unreachable servers, and servers of a kind with no transport."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from thrifty import __version__
from thrifty.mcp.client import HANDSHAKE_TIMEOUT_S, PROTOCOL_VERSION, McpClient, McpError
from thrifty.mcp.config import McpServer
from thrifty.mcp.servers import McpServers, TransportFor
from thrifty.mcp.tools import proxy_tool
from thrifty.mcp.transport import Transport, TransportError
from thrifty.tools.base import Tool, ToolContext, ToolResult

from .toy import PNG, ToyServer, ToyTransport

pytestmark = pytest.mark.anyio


async def run(tool: Tool, arguments: dict[str, Any], tmp_path: Path) -> ToolResult:
    return await tool.run(arguments, ToolContext(cwd=tmp_path))


async def connect_servers(configs: dict[str, dict[str, Any]], transport_for: TransportFor) -> McpServers:
    servers = McpServers(configs, cwd=Path.cwd(), environ={}, transport_for=transport_for)
    await servers.start()
    return servers


async def connected(server: ToyServer | None = None) -> tuple[McpServer, dict[str, Tool], ToyTransport]:
    transport = ToyTransport(server or ToyServer())
    servers = await connect_servers({"toy": {"type": "sdk", "name": "toy"}}, lambda _server: transport)
    return servers.get("toy"), {t.name: t for t in servers.tools()}, transport


def test_the_toy_transport_is_a_transport() -> None:
    transport: Transport = ToyTransport(ToyServer())
    assert transport is not None


async def test_the_handshake_initializes_then_pages_through_the_tools() -> None:
    server = ToyServer(page_size=3)
    server.tools["a"] = ({"name": "a", "inputSchema": {"type": "object"}}, lambda args: {})
    transport = ToyTransport(server)
    info, tools = await McpClient("toy", transport).connect()
    assert info == {"name": "toy", "version": "1.2.3"}
    assert [t["name"] for t in tools] == ["echo", "picture", "fail", "explode", "a"]
    assert server.seen == ["initialize", "notifications/initialized", "tools/list", "tools/list"]
    assert server.client_info == {"name": "thrifty", "version": __version__}
    assert transport.timeouts == [HANDSHAKE_TIMEOUT_S] * 4


async def test_request_ids_count_up_and_results_come_back() -> None:
    server = ToyServer()
    client = McpClient("toy", ToyTransport(server))
    hello = await client.call("initialize", {"protocolVersion": PROTOCOL_VERSION, "clientInfo": {}})
    assert hello["protocolVersion"] == PROTOCOL_VERSION
    with pytest.raises(McpError) as caught:
        await client.call("tools/list", {})
    assert caught.value.code == -32002 and str(caught.value) == "server not initialized"
    await client.notify("notifications/initialized")
    assert (await client.call("tools/list", {}))["nextCursor"] == "2"
    assert client._next_id == 3


async def test_connect_servers_records_status_and_proxy_tools() -> None:
    record, tools, _ = await connected()
    assert sorted(tools) == ["mcp__toy__echo", "mcp__toy__explode", "mcp__toy__fail", "mcp__toy__picture"]
    assert record.status == "connected" and record.error is None and record.warnings == []
    assert record.init_entry() == {"name": "toy", "status": "connected"}
    entry = record.status_entry()
    assert entry["serverInfo"] == {"name": "toy", "version": "1.2.3"}
    assert entry["scope"] == "dynamic" and entry["config"] == {"type": "sdk", "name": "toy"}
    assert entry["tools"][0] == {
        "name": "echo",
        "description": "Says it back",
        "annotations": {"readOnlyHint": True},
    }
    assert tools["mcp__toy__echo"].input_schema()["required"] == ["text"]
    assert tools["mcp__toy__echo"].description == "Says it back"


async def test_tool_calls_turn_text_image_and_error_content_into_results(tmp_path: Path) -> None:
    _, tools, _ = await connected()
    echo = await run(tools["mcp__toy__echo"], {"text": "hi"}, tmp_path)
    assert echo == ToolResult([{"type": "text", "text": "echo: hi"}], False)
    picture = await run(tools["mcp__toy__picture"], {}, tmp_path)
    assert picture.is_error is False
    assert picture.content == [
        {"type": "text", "text": "a dot"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
    ]
    fail = await run(tools["mcp__toy__fail"], {}, tmp_path)
    assert fail == ToolResult([{"type": "text", "text": "disk full"}], True)
    invalid = await run(tools["mcp__toy__echo"], {}, tmp_path)
    assert invalid.is_error and "'text' is a required property" in str(invalid.content)


async def test_a_json_rpc_error_reply_is_an_mcp_error_result(tmp_path: Path) -> None:
    server = ToyServer()
    _, tools, _ = await connected(server)
    crash = await run(tools["mcp__toy__explode"], {}, tmp_path)
    assert crash == ToolResult("MCP error -32603: Internal error: KeyError('boom')", True)
    del server.tools["echo"]
    gone = await run(tools["mcp__toy__echo"], {"text": "x"}, tmp_path)
    assert gone == ToolResult("MCP error -32602: Unknown tool: echo", True)


async def test_an_unreachable_server_is_an_error_result(tmp_path: Path) -> None:
    _, tools, transport = await connected()
    transport.down = "connection refused"
    result = await run(tools["mcp__toy__echo"], {"text": "x"}, tmp_path)
    assert result == ToolResult("Error: MCP server 'toy' could not be reached: connection refused", True)


async def test_a_failed_handshake_marks_the_server_failed_and_closes_it() -> None:
    transport = ToyTransport(ToyServer(), down="Stream closed")
    servers = await connect_servers({"toy": {"type": "sdk"}}, lambda _server: transport)
    record = servers.get("toy")
    assert servers.tools() == []
    assert record.status == "failed" and record.error == "Stream closed" and transport.closed
    assert record.status_entry() == {
        "name": "toy",
        "status": "failed",
        "error": "Stream closed",
        "config": {"type": "sdk"},
        "scope": "dynamic",
        "transport": "sdk",
    }
    assert servers.problems() == ["MCP server 'toy' failed to connect: Stream closed"]


async def test_a_tool_with_a_bad_schema_is_skipped_with_a_warning() -> None:
    server = ToyServer()
    server.tools["bad"] = ({"name": "bad", "inputSchema": {"type": "nonsense"}}, lambda args: {})
    record, tools, _ = await connected(server)
    assert "mcp__toy__bad" not in tools and record.status == "connected"
    assert [t["name"] for t in record.tools] == ["echo", "picture", "fail", "explode"]
    (warning,) = record.warnings
    assert warning.startswith("MCP server 'toy': tool 'bad' skipped: ")


async def test_servers_without_a_transport_are_failed_and_the_rest_connect() -> None:
    transport = ToyTransport(ToyServer())
    configs = {"toy": {"type": "sdk"}, "sock": {"type": "ws", "url": "ws://x"}, "host": {"type": "sdk"}}
    servers = await connect_servers(configs, lambda s: transport if s.name == "toy" else None)
    assert {t.name for t in servers.tools()} >= {"mcp__toy__echo"}
    assert [s.status for s in servers.servers] == ["connected", "failed", "failed"]
    assert servers.get("sock").error == "MCP servers of type 'ws' are not supported by thrifty"
    assert servers.get("host").error == (
        "SDK MCP servers are served by the Agent SDK host (--input-format stream-json)"
    )
    assert servers.init_entries()[1] == {"name": "sock", "status": "failed"}


async def test_tool_names_are_made_safe(tmp_path: Path) -> None:
    server = ToyServer()
    client = McpClient("my server.v2", ToyTransport(server))
    await client.connect()
    tool = proxy_tool(client, {"name": "do/it", "inputSchema": "not a dict"})
    assert tool.name == "mcp__my_server_v2__do_it"
    assert tool.input_schema() == {"type": "object"}
    assert await run(tool, {}, tmp_path) == ToolResult("MCP error -32602: Unknown tool: do/it", True)


async def test_transport_errors_propagate_from_the_client() -> None:
    client = McpClient("toy", ToyTransport(ToyServer(), down="gone"))
    with pytest.raises(TransportError, match="gone"):
        await client.connect()
