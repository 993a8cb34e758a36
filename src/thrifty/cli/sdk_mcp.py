"""MCP servers from ``--mcp-config``; the ``type: sdk`` ones are served by the host over the control protocol.

The official Agent SDK runs ``create_sdk_mcp_server`` servers in its own process and names them
in ``--mcp-config`` as ``{"type": "sdk", "name": ...}``. The CLI talks JSON-RPC 2.0 to them through
``mcp_message`` control requests, so this is a small MCP client over an already framed channel:
``initialize``, ``notifications/initialized``, ``tools/list``, then ``tools/call`` per use. Each
listed tool becomes a ``custom_tool`` named ``mcp__<server>__<tool>``, as in Claude Code.

Other transports (stdio, http, sse) are not supported yet: they are reported as ``failed``.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thrifty import __version__
from thrifty.cli.control import ControlChannel, ControlError
from thrifty.tools.base import Tool, ToolResult, error
from thrifty.tools.custom import custom_tool

PROTOCOL_VERSION = "2025-11-25"
#: The handshake waits this long for each answer; a tool call waits as long as the tool runs.
HANDSHAKE_TIMEOUT_S = 60.0
MAX_TOOL_PAGES = 50
_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")


class McpConfigError(ValueError):
    """``--mcp-config`` is neither a JSON object nor a readable JSON file."""


def parse_mcp_config(values: list[str]) -> dict[str, dict[str, Any]]:
    """Merge every ``--mcp-config`` value (inline JSON or a file path) into ``{name: config}``."""
    servers: dict[str, dict[str, Any]] = {}
    for value in values:
        text = value
        if not value.lstrip().startswith("{"):
            try:
                text = Path(value).expanduser().read_text("utf-8")
            except OSError as exc:
                raise McpConfigError(f"--mcp-config: cannot read {value}: {exc.strerror}") from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise McpConfigError(f"--mcp-config is not valid JSON ({exc.msg})") from exc
        block = data.get("mcpServers") if isinstance(data, dict) else None
        if not isinstance(block, dict):
            raise McpConfigError('--mcp-config must be a JSON object with "mcpServers": {name: config}')
        for name, config in block.items():
            if not isinstance(config, dict):
                raise McpConfigError(f"--mcp-config: server {name!r} must be an object")
            servers[str(name)] = config
    return servers


def server_type(config: dict[str, Any]) -> str:
    kind = config.get("type")
    if isinstance(kind, str):
        return kind
    return "http" if "url" in config else "stdio"


def tool_name(server: str, tool: str) -> str:
    return f"mcp__{_UNSAFE.sub('_', server)}__{_UNSAFE.sub('_', tool)}"


class McpError(Exception):
    def __init__(self, code: Any, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class McpServer:
    """One configured server and what its handshake found (``mcp_status``, ``system/init``)."""

    name: str
    config: dict[str, Any]
    status: str = "pending"
    error: str | None = None
    server_info: dict[str, Any] | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    #: Problems worth a line on stderr (a tool whose schema could not be used).
    warnings: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return server_type(self.config)

    def init_entry(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status}

    def status_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": self.name, "status": self.status}
        if self.server_info is not None:
            entry["serverInfo"] = self.server_info
        if self.error is not None:
            entry["error"] = self.error
        entry["config"] = self.config
        entry["scope"] = "dynamic"
        if self.status == "connected":
            entry["tools"] = [
                {k: t[k] for k in ("name", "description", "annotations") if k in t} for t in self.tools
            ]
        return entry


class SdkMcpClient:
    """JSON-RPC to one SDK server, each message carried by an ``mcp_message`` control request."""

    def __init__(self, server: str, channel: ControlChannel) -> None:
        self.server = server
        self.channel = channel
        self._next_id = 0

    async def _send(self, message: dict[str, Any], timeout: float | None) -> dict[str, Any]:
        payload = {"subtype": "mcp_message", "server_name": self.server, "message": message}
        answer = await self.channel.request(payload, timeout=timeout)
        reply = answer.get("mcp_response")
        return reply if isinstance(reply, dict) else {}

    async def call(
        self, method: str, params: dict[str, Any], *, timeout: float | None = None
    ) -> dict[str, Any]:
        request_id = self._next_id
        self._next_id += 1
        message = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        reply = await self._send(message, timeout)
        problem = reply.get("error")
        if problem is not None:
            if isinstance(problem, dict):
                raise McpError(problem.get("code"), str(problem.get("message") or "unknown error"))
            raise McpError(None, str(problem))
        result = reply.get("result")
        return result if isinstance(result, dict) else {}

    async def notify(self, method: str, *, timeout: float | None = None) -> None:
        await self._send({"jsonrpc": "2.0", "method": method}, timeout)

    async def connect(self) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """The handshake: server info and the full tool list."""
        hello = await self.call(
            "initialize",
            {
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "thrifty", "version": __version__},
            },
            timeout=HANDSHAKE_TIMEOUT_S,
        )
        await self.notify("notifications/initialized", timeout=HANDSHAKE_TIMEOUT_S)
        info = hello.get("serverInfo")
        tools: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(MAX_TOOL_PAGES):
            page = await self.call(
                "tools/list", {"cursor": cursor} if cursor else {}, timeout=HANDSHAKE_TIMEOUT_S
            )
            tools.extend(t for t in page.get("tools") or [] if isinstance(t, dict) and t.get("name"))
            cursor = page.get("nextCursor") if isinstance(page.get("nextCursor"), str) else None
            if not cursor:
                break
        return (info if isinstance(info, dict) else None), tools


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


def _proxy_tool(client: SdkMcpClient, spec: dict[str, Any]) -> Tool:
    remote = str(spec["name"])

    async def handler(arguments: dict[str, Any]) -> ToolResult:
        try:
            result = await client.call("tools/call", {"name": remote, "arguments": arguments})
        except McpError as exc:
            return error(f"MCP error {exc.code}: {exc}" if exc.code is not None else f"MCP error: {exc}")
        except ControlError as exc:
            return error(f"Error: MCP server {client.server!r} could not be reached: {exc}")
        return tool_result(result)

    schema = spec.get("inputSchema")
    return custom_tool(
        tool_name(client.server, remote),
        str(spec.get("description") or ""),
        schema if isinstance(schema, dict) else {"type": "object"},
        handler,
    )


async def _connect_one(server: McpServer, channel: ControlChannel) -> list[Tool]:
    client = SdkMcpClient(server.name, channel)
    try:
        server.server_info, specs = await client.connect()
    except (McpError, ControlError) as exc:
        server.status, server.error = "failed", str(exc)
        return []
    tools: list[Tool] = []
    for spec in specs:
        try:
            tools.append(_proxy_tool(client, spec))
        except ValueError as exc:
            server.warnings.append(f"MCP server {server.name!r}: tool {spec.get('name')!r} skipped: {exc}")
            continue
        server.tools.append(spec)
    server.status = "connected"
    return tools


async def connect_servers(servers: list[McpServer], channel: ControlChannel) -> list[Tool]:
    """Handshake with every ``sdk`` server at once; the tools of those that answered."""
    sdk = [s for s in servers if s.kind == "sdk"]
    found = await asyncio.gather(*(_connect_one(s, channel) for s in sdk))
    return [tool for tools in found for tool in tools]


def unsupported(servers: list[McpServer]) -> list[McpServer]:
    """Mark the servers thrifty cannot run yet as failed; return them for a warning."""
    out = []
    for server in servers:
        if server.kind != "sdk":
            server.status = "failed"
            server.error = f"MCP servers of type {server.kind!r} are not supported by thrifty yet"
            out.append(server)
    return out
