"""Each tool an MCP server lists, as a ``custom_tool`` named ``mcp__<server>__<tool>`` (as in Claude
Code). ``servers.McpServers`` runs the handshakes and builds these.

A tool call goes to the server by ``tools/call``; what comes back becomes a ``ToolResult``. A
JSON-RPC error or an unreachable server is an error result the model can read, never a crash.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from thrifty.mcp.client import McpClient, McpError
from thrifty.mcp.transport import TransportError, TransportTimeout
from thrifty.tools.base import Tool, ToolResult, error
from thrifty.tools.custom import custom_tool

_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")


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


def proxy_tool(
    client: McpClient,
    spec: dict[str, Any],
    *,
    on_lost: Callable[[str], None] | None = None,
    timeout: float | None = None,
) -> Tool:
    """The tool ``spec`` (a ``tools/list`` entry) of ``client``'s server; ``ValueError`` on a bad
    schema. ``on_lost`` hears why, when a call finds the server gone; a call waits ``timeout``
    seconds at most (None: as long as the tool runs)."""
    remote = str(spec["name"])

    async def handler(arguments: dict[str, Any]) -> ToolResult:
        try:
            result = await client.call(
                "tools/call", {"name": remote, "arguments": arguments}, timeout=timeout
            )
        except TransportTimeout as exc:
            return error(f"Error: MCP server {client.server!r}: tool {remote!r} timed out ({exc})")
        except McpError as exc:
            return error(f"MCP error {exc.code}: {exc}" if exc.code is not None else f"MCP error: {exc}")
        except TransportError as exc:
            if on_lost is not None:
                on_lost(str(exc))
            return error(f"Error: MCP server {client.server!r} could not be reached: {exc}")
        return tool_result(result)

    schema = spec.get("inputSchema")
    return custom_tool(
        tool_name(client.server, remote),
        str(spec.get("description") or ""),
        schema if isinstance(schema, dict) else {"type": "object"},
        handler,
    )
