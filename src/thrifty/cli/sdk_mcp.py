"""The host's in-process MCP servers (``type: sdk``), reached over the stream-json control channel.

The official Agent SDK runs ``create_sdk_mcp_server`` servers in its own process and names them
in ``--mcp-config`` as ``{"type": "sdk", "name": ...}``. The CLI talks JSON-RPC 2.0 to them through
``mcp_message`` control requests: ``ControlTransport`` is that channel as a ``thrifty.mcp``
``Transport``, and the client, the handshake and the ``mcp__<server>__<tool>`` proxy tools come
from ``thrifty.mcp``. stdio, sse and http servers are started by the session itself
(``thrifty.mcp.servers``); ``control_transports`` serves only the ``sdk`` ones.
"""

from __future__ import annotations

from typing import Any

from thrifty.cli.control import ControlChannel, ControlError
from thrifty.mcp.config import McpServer
from thrifty.mcp.servers import TransportFor
from thrifty.mcp.transport import Transport, TransportError

#: The server kinds the CLI can run.
KINDS = frozenset({"sdk"})


class ControlTransport:
    """JSON-RPC to one SDK server, each message carried by an ``mcp_message`` control request."""

    def __init__(self, server_name: str, channel: ControlChannel) -> None:
        self.server_name = server_name
        self.channel = channel

    async def _send(self, message: dict[str, Any], timeout: float | None) -> dict[str, Any]:
        payload = {"subtype": "mcp_message", "server_name": self.server_name, "message": message}
        try:
            answer = await self.channel.request(payload, timeout=timeout)
        except ControlError as exc:
            raise TransportError(str(exc)) from exc
        reply = answer.get("mcp_response")
        return reply if isinstance(reply, dict) else {}

    async def request(self, message: dict[str, Any], *, timeout: float | None) -> dict[str, Any]:
        return await self._send(message, timeout)

    async def notify(self, message: dict[str, Any], *, timeout: float | None) -> None:
        await self._send(message, timeout)

    async def close(self) -> None:
        """Nothing to let go of: the host owns the servers and the channel outlives them."""


def control_transports(channel: ControlChannel) -> TransportFor:
    """``transport_for`` for ``thrifty.mcp.servers.McpServers``: SDK servers over ``channel``."""

    def transport_for(server: McpServer) -> Transport | None:
        return ControlTransport(server.name, channel) if server.kind in KINDS else None

    return transport_for
