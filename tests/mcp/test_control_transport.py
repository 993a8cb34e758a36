"""``ControlTransport``: the CLI's ``mcp_message`` control requests as a ``thrifty.mcp`` transport."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, BinaryIO, cast

import pytest

from thrifty.cli.control import ControlChannel, FrameWriter
from thrifty.cli.sdk_mcp import ControlTransport, control_transports
from thrifty.mcp.servers import McpServers
from thrifty.mcp.transport import Transport, TransportError
from thrifty.tools.base import ToolContext, ToolResult

from .toy import ToyServer

pytestmark = pytest.mark.anyio


class Host:
    """The SDK side of stdout: answers each ``mcp_message`` with what the toy server says."""

    def __init__(self, server: ToyServer) -> None:
        self.server = server
        self.frames: list[dict[str, Any]] = []
        self.channel = ControlChannel(FrameWriter(cast("BinaryIO", self)))
        self.fail_with: str | None = None

    def write(self, data: bytes) -> int:
        frame = json.loads(data)
        self.frames.append(frame)
        request = frame["request"]
        assert frame["type"] == "control_request" and request["subtype"] == "mcp_message"
        if self.fail_with is not None:
            response = {"subtype": "error", "request_id": frame["request_id"], "error": self.fail_with}
        else:
            reply = self.server.handle(json.dumps(request["message"]))
            body = {"mcp_response": json.loads(reply) if reply else {"jsonrpc": "2.0", "result": {}, "id": 0}}
            response = {"subtype": "success", "request_id": frame["request_id"], "response": body}
        asyncio.get_running_loop().call_soon(
            self.channel.resolve, {"type": "control_response", "response": response}
        )
        return len(data)

    def flush(self) -> None:
        pass


async def test_sdk_servers_connect_and_call_over_the_control_channel(tmp_path: Path) -> None:
    host = Host(ToyServer())
    configs = {"toy": {"type": "sdk", "name": "toy"}, "other": {"type": "ws", "url": "ws://x"}}
    servers = McpServers(configs, cwd=tmp_path, environ={}, transport_for=control_transports(host.channel))
    await servers.start()
    tools = {t.name: t for t in servers.tools()}
    assert [s.status for s in servers.servers] == ["connected", "failed"]
    assert {f["request"]["server_name"] for f in host.frames} == {"toy"}
    result = await tools["mcp__toy__echo"].run({"text": "hi"}, ToolContext(cwd=tmp_path))
    assert result == ToolResult([{"type": "text", "text": "echo: hi"}], False)
    assert host.frames[-1]["request"]["message"] == {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "hi"}},
    }
    host.fail_with = "server went away"
    down = await tools["mcp__toy__echo"].run({"text": "hi"}, ToolContext(cwd=tmp_path))
    assert down == ToolResult("Error: MCP server 'toy' could not be reached: server went away", True)


async def test_control_errors_become_transport_errors() -> None:
    host = Host(ToyServer())
    transport: Transport = ControlTransport("toy", host.channel)
    host.channel.close()
    with pytest.raises(TransportError, match=r"^Stream closed$"):
        await transport.request({"jsonrpc": "2.0", "id": 0, "method": "ping"}, timeout=1.0)
    with pytest.raises(TransportError, match=r"^Stream closed$"):
        await transport.notify({"jsonrpc": "2.0", "method": "notifications/initialized"}, timeout=None)
    await transport.close()
