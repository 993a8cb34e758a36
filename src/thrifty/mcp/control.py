"""The MCP control requests (``mcp_status``, ``mcp_reconnect``, ``mcp_toggle``) on a session's
servers, in one place for both front ends.

The CLI answers the control protocol with these, and ``thrifty.Client`` (``get_mcp_status``,
``reconnect_mcp_server``, ``toggle_mcp_server``) calls them too, so a request that fails fails the
same way, with the same one-line message, whether the official SDK sent it or the in-process
client made it. A failure is a ``ValueError``: the control protocol answers it as an error
response, the in-process client raises it as the official client raises its control error.
"""

from __future__ import annotations

from typing import Any

from thrifty.mcp.servers import McpServers, UnknownServer

__all__ = ["mcp_reconnect", "mcp_status", "mcp_toggle"]


def mcp_status(servers: McpServers | None) -> dict[str, Any]:
    """``{"mcpServers": [...]}``, as ``get_mcp_status()`` returns it (no servers: an empty list)."""
    return {"mcpServers": servers.status_entries() if servers is not None else []}


def _configured(servers: McpServers | None, name: object, what: str) -> tuple[McpServers, str]:
    if not isinstance(name, str) or servers is None:
        raise ValueError(f"{what} needs the serverName of a configured MCP server")
    return servers, name


async def mcp_reconnect(servers: McpServers | None, name: object) -> None:
    """Run the server's handshake again; a server that still does not connect is an error."""
    servers, name = _configured(servers, name, "mcp_reconnect")
    try:
        server = await servers.reconnect(name)
    except UnknownServer as exc:
        raise ValueError(str(exc)) from None
    if server.status == "failed":
        raise ValueError(f"MCP server {name!r} failed to reconnect: {server.error}")


async def mcp_toggle(servers: McpServers | None, name: object, enabled: object) -> None:
    """Disable a server (its tools go from the next request) or enable and connect it again."""
    servers, name = _configured(servers, name, "mcp_toggle")
    if not isinstance(enabled, bool):
        raise ValueError("mcp_toggle needs enabled: true or false")
    try:
        await servers.toggle(name, enabled)
    except UnknownServer as exc:
        raise ValueError(str(exc)) from None
