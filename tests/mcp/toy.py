"""A tiny MCP server in-process, and a ``Transport`` that speaks JSON-RPC 2.0 to it.

Each message crosses as JSON text, as on a wire: the server parses it, answers by the protocol
(``initialize``, ``notifications/initialized``, paged ``tools/list``, ``tools/call``, and error
replies for what it does not know), and the transport parses the reply and checks its id.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from thrifty.mcp.transport import TransportError

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

ToolFn = Callable[[dict[str, Any]], dict[str, Any]]


def _echo(args: dict[str, Any]) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": f"echo: {args.get('text', '')}"}]}


def _picture(args: dict[str, Any]) -> dict[str, Any]:
    return {
        "content": [
            {"type": "text", "text": "a dot"},
            {"type": "image", "data": PNG, "mimeType": "image/png"},
        ]
    }


def _fail(args: dict[str, Any]) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": "disk full"}], "isError": True}


def _explode(args: dict[str, Any]) -> dict[str, Any]:
    raise KeyError("boom")


TOOLS: dict[str, tuple[dict[str, Any], ToolFn]] = {
    "echo": (
        {
            "name": "echo",
            "description": "Says it back",
            "inputSchema": {
                "type": "object",
                "properties": {"text": {"type": "string"}},
                "required": ["text"],
            },
            "annotations": {"readOnlyHint": True},
        },
        _echo,
    ),
    "picture": ({"name": "picture", "description": "A picture", "inputSchema": {"type": "object"}}, _picture),
    "fail": ({"name": "fail", "description": "Always fails", "inputSchema": {"type": "object"}}, _fail),
    "explode": ({"name": "explode", "description": "Crashes", "inputSchema": {"type": "object"}}, _explode),
}


@dataclass
class ToyServer:
    """The server side of the protocol, one JSON text message at a time."""

    name: str = "toy"
    page_size: int = 2
    tools: dict[str, tuple[dict[str, Any], ToolFn]] = field(default_factory=lambda: dict(TOOLS))
    #: Every method received, in order (requests and notifications).
    seen: list[str] = field(default_factory=list)
    initialized: bool = False
    client_info: dict[str, Any] | None = None

    def handle(self, text: str) -> str | None:
        """One message in; the reply text, or ``None`` for a notification."""
        message = json.loads(text)
        assert message.get("jsonrpc") == "2.0", message
        method = message["method"]
        self.seen.append(method)
        if "id" not in message:
            if method == "notifications/initialized":
                self.initialized = True
            return None
        request_id = message["id"]
        try:
            result = self._dispatch(method, message.get("params") or {})
        except _RpcError as exc:
            reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "error": exc.body}
        else:
            reply = {"jsonrpc": "2.0", "id": request_id, "result": result}
        return json.dumps(reply)

    def _dispatch(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "initialize":
            self.client_info = params["clientInfo"]
            return {
                "protocolVersion": params["protocolVersion"],
                "capabilities": {"tools": {}},
                "serverInfo": {"name": self.name, "version": "1.2.3"},
            }
        if not self.initialized:
            raise _RpcError(-32002, "server not initialized")
        if method == "tools/list":
            start = int(params.get("cursor") or 0)
            specs = [spec for spec, _ in self.tools.values()]
            page: dict[str, Any] = {"tools": specs[start : start + self.page_size]}
            if start + self.page_size < len(specs):
                page["nextCursor"] = str(start + self.page_size)
            return page
        if method == "tools/call":
            found = self.tools.get(params["name"])
            if found is None:
                raise _RpcError(-32602, f"Unknown tool: {params['name']}")
            try:
                return found[1](params.get("arguments") or {})
            except Exception as exc:  # a crashing tool is an internal error, as the SDKs answer it
                raise _RpcError(-32603, f"Internal error: {exc!r}") from exc
        raise _RpcError(-32601, f"Method not found: {method}")


class _RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.body = {"code": code, "message": message}


@dataclass
class ToyTransport:
    """A ``Transport`` to a ``ToyServer``: JSON text both ways; ``down`` makes it unreachable."""

    server: ToyServer
    down: str | None = None
    closed: bool = False
    timeouts: list[float | None] = field(default_factory=list)

    def _send(self, message: dict[str, Any], timeout: float | None) -> str | None:
        self.timeouts.append(timeout)
        if self.down is not None:
            raise TransportError(self.down)
        return self.server.handle(json.dumps(message))

    async def request(self, message: dict[str, Any], *, timeout: float | None) -> dict[str, Any]:
        text = self._send(message, timeout)
        assert text is not None, f"no reply to {message}"
        reply: dict[str, Any] = json.loads(text)
        assert reply["id"] == message["id"]
        return reply

    async def notify(self, message: dict[str, Any], *, timeout: float | None) -> None:
        assert "id" not in message
        assert self._send(message, timeout) is None

    async def close(self) -> None:
        self.closed = True
