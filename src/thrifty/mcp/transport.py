"""The channel that carries JSON-RPC messages to one MCP server.

``McpClient`` speaks the protocol (ids, handshake, error replies) and knows nothing of how the
bytes travel; a ``Transport`` knows only that. This is where the transports plug in: the CLI's
control channel (``thrifty.cli.sdk_mcp.ControlTransport``: the host's in-process SDK servers,
carried by ``mcp_message`` control requests) today, and stdio, SSE and streamable-HTTP servers
later. A transport that cannot reach its server raises ``TransportError``; the client turns that
into an error tool result, or a ``failed`` status during the handshake.
"""

from __future__ import annotations

from typing import Any, Protocol


class TransportError(Exception):
    """The server could not be reached (gone, timed out, refused); ``str()`` says why."""


class TransportTimeout(TransportError):
    """The server is there but sent no answer in time."""


class Transport(Protocol):
    """A JSON-RPC 2.0 message channel to one server."""

    async def request(self, message: dict[str, Any], *, timeout: float | None) -> dict[str, Any]:
        """Send a request (it has an ``id``) and return the server's reply object.

        The reply is the JSON-RPC response as received (``result`` or ``error``); ``{}`` when the
        server sent none. Raises ``TransportError`` when the server cannot be reached in time.
        """
        ...

    async def notify(self, message: dict[str, Any], *, timeout: float | None) -> None:
        """Send a notification (no ``id``, no reply). Raises ``TransportError`` as ``request``."""
        ...

    async def close(self) -> None:
        """Let go of the server (end its process, close its connection); idempotent."""
        ...
