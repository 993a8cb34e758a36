"""A small MCP client: JSON-RPC 2.0 requests over any ``Transport``.

``initialize``, ``notifications/initialized`` and a paged ``tools/list`` make the handshake;
``tools/call`` follows per use. A JSON-RPC error reply raises ``McpError``; a server that cannot
be reached raises the transport's ``TransportError``.
"""

from __future__ import annotations

from typing import Any

from thrifty import __version__
from thrifty.mcp.transport import Transport

PROTOCOL_VERSION = "2025-11-25"
#: The handshake waits this long for each answer; a tool call waits as long as the tool runs.
HANDSHAKE_TIMEOUT_S = 60.0
MAX_TOOL_PAGES = 50


class McpError(Exception):
    """The server answered with a JSON-RPC error; ``code`` is its code (``None`` if it had none)."""

    def __init__(self, code: Any, message: str) -> None:
        super().__init__(message)
        self.code = code


class McpClient:
    """JSON-RPC to one server, each message carried by ``transport``."""

    def __init__(self, server: str, transport: Transport) -> None:
        self.server = server
        self.transport = transport
        self._next_id = 0

    async def call(
        self, method: str, params: dict[str, Any], *, timeout: float | None = None
    ) -> dict[str, Any]:
        request_id = self._next_id
        self._next_id += 1
        message = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        reply = await self.transport.request(message, timeout=timeout)
        problem = reply.get("error")
        if problem is not None:
            if isinstance(problem, dict):
                raise McpError(problem.get("code"), str(problem.get("message") or "unknown error"))
            raise McpError(None, str(problem))
        result = reply.get("result")
        return result if isinstance(result, dict) else {}

    async def notify(self, method: str, *, timeout: float | None = None) -> None:
        await self.transport.notify({"jsonrpc": "2.0", "method": method}, timeout=timeout)

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
