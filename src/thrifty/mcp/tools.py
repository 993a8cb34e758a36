"""Each tool an MCP server lists, as a ``custom_tool`` named ``mcp__<server>__<tool>`` (as in Claude
Code), and ``connect_servers``, which runs every handshake at once.

A tool call goes to the server by ``tools/call``; what comes back becomes a ``ToolResult``. A
JSON-RPC error or an unreachable server is an error result the model can read, never a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Callable, Collection
from typing import Any

from thrifty.mcp.client import McpClient, McpError
from thrifty.mcp.config import McpServer
from thrifty.mcp.transport import Transport, TransportError
from thrifty.tools.base import Tool, ToolResult, error
from thrifty.tools.custom import custom_tool

_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")

#: The transport for a server, or ``None`` when thrifty cannot run servers of its kind.
TransportFor = Callable[[McpServer], Transport | None]


def tool_name(server: str, tool: str) -> str:
    return f"mcp__{_UNSAFE.sub('_', server)}__{_UNSAFE.sub('_', tool)}"


def _block(item: Any) -> dict[str, Any] | None:
    """One MCP content item as an Anthropic ``tool_result`` content block."""
    if not isinstance(item, dict):
        return None
    kind = item.get("type")
    if kind == "text":
        text = str(item.get("text") or "")
        return {"type": "text", "text": text} if text else None
    if kind == "image" and item.get("data") and item.get("mimeType"):
        source = {"type": "base64", "media_type": item["mimeType"], "data": item["data"]}
        return {"type": "image", "source": source}
    if kind == "resource":
        found = item.get("resource")
        resource: dict[str, Any] = found if isinstance(found, dict) else {}
        if isinstance(resource.get("text"), str) and resource["text"]:
            return {"type": "text", "text": resource["text"]}
        return {"type": "text", "text": f"[resource: {resource.get('uri', 'unknown')}]"}
    if kind == "resource_link":
        return {"type": "text", "text": f"[resource: {item.get('uri', 'unknown')}]"}
    return {"type": "text", "text": f"[unsupported MCP content type: {kind}]"}


def tool_result(result: dict[str, Any]) -> ToolResult:
    """An MCP ``tools/call`` result (``content``, ``isError``) as the model sees it."""
    blocks = [b for b in (_block(item) for item in result.get("content") or []) if b is not None]
    if not blocks and result.get("structuredContent") is not None:
        blocks = [{"type": "text", "text": json.dumps(result["structuredContent"], ensure_ascii=False)}]
    is_error = result.get("isError") is True
    if not blocks:
        return ToolResult("Tool returned an error with no content." if is_error else "(no content)", is_error)
    return ToolResult(blocks, is_error)


def proxy_tool(client: McpClient, spec: dict[str, Any]) -> Tool:
    """The tool ``spec`` (a ``tools/list`` entry) of ``client``'s server; ``ValueError`` on a bad schema."""
    remote = str(spec["name"])

    async def handler(arguments: dict[str, Any]) -> ToolResult:
        try:
            result = await client.call("tools/call", {"name": remote, "arguments": arguments})
        except McpError as exc:
            return error(f"MCP error {exc.code}: {exc}" if exc.code is not None else f"MCP error: {exc}")
        except TransportError as exc:
            return error(f"Error: MCP server {client.server!r} could not be reached: {exc}")
        return tool_result(result)

    schema = spec.get("inputSchema")
    return custom_tool(
        tool_name(client.server, remote),
        str(spec.get("description") or ""),
        schema if isinstance(schema, dict) else {"type": "object"},
        handler,
    )


def _mark_unsupported(server: McpServer) -> None:
    server.status = "failed"
    server.error = f"MCP servers of type {server.kind!r} are not supported by thrifty yet"


async def _connect_one(server: McpServer, transport: Transport) -> list[Tool]:
    client = McpClient(server.name, transport)
    try:
        server.server_info, specs = await client.connect()
    except (McpError, TransportError) as exc:
        server.status, server.error = "failed", str(exc)
        with contextlib.suppress(TransportError):
            await transport.close()
        return []
    tools: list[Tool] = []
    for spec in specs:
        try:
            tools.append(proxy_tool(client, spec))
        except ValueError as exc:
            server.warnings.append(f"MCP server {server.name!r}: tool {spec.get('name')!r} skipped: {exc}")
            continue
        server.tools.append(spec)
    server.status = "connected"
    return tools


async def connect_servers(servers: list[McpServer], transport_for: TransportFor) -> list[Tool]:
    """Handshake with every server ``transport_for`` can reach, all at once; the tools of those
    that answered. A server it has no transport for is marked failed, as ``unsupported`` does."""
    pending: list[tuple[McpServer, Transport]] = []
    for server in servers:
        transport = transport_for(server)
        if transport is None:
            _mark_unsupported(server)
        else:
            pending.append((server, transport))
    found = await asyncio.gather(*(_connect_one(s, t) for s, t in pending))
    return [tool for tools in found for tool in tools]


def unsupported(servers: list[McpServer], supported: Collection[str]) -> list[McpServer]:
    """Mark the servers whose kind is not in ``supported`` as failed; return them for a warning."""
    out = []
    for server in servers:
        if server.kind not in supported:
            _mark_unsupported(server)
            out.append(server)
    return out
