"""A session's MCP servers (``--mcp-config``, SDK ``mcp_servers``, and those ``config.discover``
finds), started together, their tools, their status, reconnect and toggle, and close.

``McpServers`` is what a session holds. ``start`` runs every handshake at once; a server that
fails is ``failed`` with a one-line error and the others go on. Its tools are the
``mcp__<server>__<tool>`` proxy tools of the servers that are ``connected``; ``reconnect`` and
``toggle`` change that list, and ``on_change`` tells the session so the next request offers the
new list. A tool call to a server that has gone marks it ``failed`` and answers the model with an
error result.

Config values may use ``${VAR}`` and ``${VAR:-default}`` (``command``, ``args``, ``env``,
``url``, ``headers``), as in Claude Code; a variable that is unset and has no default fails
that server, naming the variable and never a value.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thrifty.mcp import external
from thrifty.mcp.client import McpClient, McpError
from thrifty.mcp.config import McpServer, MissingVariable, expand
from thrifty.mcp.tools import proxy_tool
from thrifty.mcp.transport import Transport, TransportError
from thrifty.tools.base import Tool

log = logging.getLogger("thrifty.mcp")

#: A transport for a server kind the caller serves itself (the CLI's ``sdk`` servers), or None.
TransportFor = Callable[[McpServer], Transport | None]
#: Claude Code's variables, in milliseconds: how long a server may take to start (its whole
#: handshake; unset: each step may take ``client.HANDSHAKE_TIMEOUT_S``), and one tool call.
STARTUP_TIMEOUT_ENV = "MCP_TIMEOUT"
TOOL_TIMEOUT_ENV = "MCP_TOOL_TIMEOUT"


def _seconds(environ: Mapping[str, str], name: str) -> float | None:
    """``name`` (milliseconds) in seconds; None when unset or not a number above 0."""
    try:
        value = float(environ.get(name, "")) / 1000
    except ValueError:
        return None
    return value if value > 0 else None


class UnknownServer(LookupError):
    """No configured server has that name."""


@dataclass
class _Live:
    """A server's connection while it has one."""

    client: McpClient
    tools: list[Tool] = field(default_factory=list)


class McpServers:
    """The servers of one session (see the module docstring)."""

    def __init__(
        self,
        configs: Mapping[str, Mapping[str, Any]],
        *,
        cwd: Path,
        environ: Mapping[str, str],
        transport_for: TransportFor | None = None,
        discovered: Mapping[str, tuple[str, Mapping[str, Any]]] | None = None,
    ) -> None:
        """``configs`` (scope ``dynamic``) win over ``discovered`` ones of the same name
        (``config.discover``: name -> (scope, config))."""
        self.cwd = cwd
        self.environ = environ
        self.transport_for = transport_for
        self.servers: list[McpServer] = [
            *(
                McpServer(str(n), dict(c), scope=scope)
                for n, (scope, c) in (discovered or {}).items()
                if n not in configs
            ),
            *(McpServer(str(n), dict(c)) for n, c in configs.items()),
        ]
        self._live: dict[str, _Live] = {}
        self._tool_timeout = _seconds(environ, TOOL_TIMEOUT_ENV)
        self._started = False
        self._start_lock = asyncio.Lock()
        #: Called after the tool list changed (reconnect, toggle, a server lost).
        self.on_change: Callable[[], None] | None = None

    def __bool__(self) -> bool:
        return bool(self.servers)

    def get(self, name: str) -> McpServer:
        for server in self.servers:
            if server.name == name:
                return server
        raise UnknownServer(f"MCP server {name!r} not found")

    # -- connecting -----------------------------------------------------------------------

    def _transport(self, server: McpServer) -> Transport:
        """Raises ``TransportError`` (a one-line reason) when the server cannot be started."""
        kind = server.kind
        if kind in external.KINDS:
            try:
                config = expand(server.config, self.environ)
            except MissingVariable as exc:
                raise TransportError(str(exc)) from None
            start = external.opener(config, kind, cwd=self.cwd, environ=self.environ)
            return external.StreamTransport(server.name, start)
        transport = self.transport_for(server) if self.transport_for is not None else None
        if transport is None and kind == "sdk":
            raise TransportError(
                "SDK MCP servers are served by the Agent SDK host (--input-format stream-json)"
            )
        if transport is None:
            raise TransportError(f"MCP servers of type {kind!r} are not supported by thrifty")
        return transport

    async def _connect(self, server: McpServer) -> None:
        server.status, server.error, server.server_info = "pending", None, None
        server.tools, server.warnings = [], []
        try:
            transport = self._transport(server)
        except TransportError as exc:
            server.status, server.error = "failed", str(exc)
            return
        client = McpClient(server.name, transport)
        startup = _seconds(self.environ, STARTUP_TIMEOUT_ENV)
        try:
            async with asyncio.timeout(startup):
                server.server_info, specs = await client.connect()
        except TimeoutError:
            server.status, server.error = (
                "failed",
                f"did not start within {startup:g}s ({STARTUP_TIMEOUT_ENV})",
            )
            with contextlib.suppress(TransportError):
                await transport.close()
            return
        except (McpError, TransportError) as exc:
            server.status, server.error = "failed", str(exc) or type(exc).__name__
            with contextlib.suppress(TransportError):
                await transport.close()
            return
        live = _Live(client)
        for spec in specs:
            try:
                lost = self._lost(server.name, client)
                live.tools.append(proxy_tool(client, spec, on_lost=lost, timeout=self._tool_timeout))
            except ValueError as exc:
                server.warnings.append(
                    f"MCP server {server.name!r}: tool {spec.get('name')!r} skipped: {exc}"
                )
                continue
            server.tools.append(spec)
        self._live[server.name] = live
        server.status = "connected"

    def _lost(self, name: str, client: McpClient) -> Callable[[str], None]:
        def lost(reason: str) -> None:
            live = self._live.get(name)
            if live is None or live.client is not client:
                return
            server = self.get(name)
            server.status, server.error = "failed", reason
            log.debug("MCP server %r lost: %s", name, reason)

        return lost

    async def start(self) -> None:
        """Connect every server that is not disabled, all at once (only the first call does)."""
        async with self._start_lock:
            if self._started:
                return
            self._started = True
            await asyncio.gather(*(self._connect(s) for s in self.servers if s.status != "disabled"))

    async def _disconnect(self, name: str) -> None:
        live = self._live.pop(name, None)
        if live is not None:
            with contextlib.suppress(TransportError):
                await live.client.transport.close()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    async def reconnect(self, name: str) -> McpServer:
        """Close the server's connection (if any) and run its handshake again."""
        server = self.get(name)
        if server.status == "disabled":
            raise ValueError(f"MCP server {name!r} is disabled")
        await self._disconnect(name)
        await self._connect(server)
        self._changed()
        return server

    async def toggle(self, name: str, enabled: bool) -> McpServer:
        """Disable a server (its tools go, its connection closes) or enable and connect it."""
        server = self.get(name)
        if not enabled:
            await self._disconnect(name)
            # No serverInfo either: Claude Code shows a disabled server as never having connected.
            server.status, server.error, server.tools, server.server_info = "disabled", None, [], None
        elif server.status == "disabled" or name not in self._live:
            await self._connect(server)
        self._changed()
        return server

    async def close(self) -> None:
        names = list(self._live)
        await asyncio.gather(*(self._disconnect(n) for n in names), return_exceptions=True)

    # -- what the session shows -------------------------------------------------------------

    def tools(self) -> list[Tool]:
        """The proxy tools of every connected server, in config order."""
        return [
            tool
            for server in self.servers
            if server.name in self._live and server.status != "disabled"
            for tool in self._live[server.name].tools
        ]

    def init_entries(self) -> list[dict[str, Any]]:
        return [s.init_entry() for s in self.servers]

    def status_entries(self) -> list[dict[str, Any]]:
        return [s.status_entry() for s in self.servers]

    def problems(self) -> list[str]:
        """One line per server that failed to start, and per tool that was skipped."""
        lines = [
            f"MCP server {s.name!r} failed to connect: {s.error}"
            for s in self.servers
            if s.status == "failed"
        ]
        return lines + [w for s in self.servers for w in s.warnings]
