"""Transports to external MCP servers (stdio, SSE, streamable HTTP), carried by the ``mcp`` package.

The ``mcp`` package (the optional extra ``thrifty[mcp]``) owns the wire: it spawns a stdio server
and frames its lines, or speaks SSE / streamable HTTP, and hands over a pair of message streams.
``StreamTransport`` puts those streams behind thrifty's ``Transport``, so the handshake and tool
calls stay ``McpClient``'s, one client for every kind of server.

The ``mcp`` transports are anyio context managers that must be entered and left by one task, so
each server gets a task of its own that opens the transport, reads every message the server
sends (answers go to the request that waits for them), and closes the transport when asked to
or when the server goes away. A server that dies fails every waiting request with
``TransportError`` (an error tool result, never a crashed run), and every later one at once.

``mcp`` is imported only when a server of one of these kinds is started: ``thrifty -p`` with no
MCP configuration never loads it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from thrifty.mcp.transport import TransportError, TransportTimeout

log = logging.getLogger("thrifty.mcp")

#: The server kinds this module reaches; ``stdio`` is also a config with a ``command`` and no type.
KINDS = frozenset({"stdio", "sse", "http"})
INSTALL_HINT = "the 'mcp' package is not installed; pip install 'thrifty[mcp]'"
#: How long a closing server may take (stdio: stdin closed, then SIGTERM, then SIGKILL).
CLOSE_TIMEOUT_S = 10.0
_METHOD_NOT_FOUND = -32601

Streams = tuple[Any, Any]
Opener = Callable[[], AbstractAsyncContextManager[Streams]]


class MissingPackage(TransportError):
    """The ``mcp`` package is not installed."""


def _require_package() -> None:
    try:
        import mcp.client  # noqa: F401  (about to be used: the server is starting)
    except ImportError:
        raise MissingPackage(INSTALL_HINT) from None


def opener(config: Mapping[str, Any], kind: str, *, cwd: Path, environ: Mapping[str, str]) -> Opener:
    """How to open the ``mcp`` transport for one server's (already expanded) config.

    Raises ``MissingPackage`` without the ``mcp`` package and ``TransportError`` for a config that
    names no command or URL.
    """
    _require_package()
    if kind == "stdio":
        command = config.get("command")
        if not isinstance(command, str) or not command:
            raise TransportError("a stdio server needs a 'command'")
        args = [str(a) for a in config.get("args") or []]
        extra = config.get("env") or {}
        env = {**environ, **{str(k): str(v) for k, v in extra.items()}}
        return lambda: _stdio(command, args, env, cwd)
    url = config.get("url")
    if not isinstance(url, str) or not url:
        raise TransportError(f"an {kind} server needs a 'url'")
    headers = {str(k): str(v) for k, v in (config.get("headers") or {}).items()}
    if kind == "sse":
        return lambda: _sse(url, headers)
    return lambda: _http(url, headers)


@contextlib.asynccontextmanager
async def _stdio(command: str, args: list[str], env: dict[str, str], cwd: Path) -> AsyncIterator[Streams]:
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=command, args=args, env=env, cwd=cwd)
    # The server's stderr is its log; it is not thrifty's output (stream-json owns stdout, and
    # stderr is for thrifty's own one-line messages).
    with open(os.devnull, "w") as errlog:
        async with stdio_client(params, errlog=errlog) as streams:
            yield streams


@contextlib.asynccontextmanager
async def _sse(url: str, headers: dict[str, str]) -> AsyncIterator[Streams]:
    from mcp.client.sse import sse_client

    async with sse_client(url, headers=headers or None) as streams:
        yield streams


@contextlib.asynccontextmanager
async def _http(url: str, headers: dict[str, str]) -> AsyncIterator[Streams]:
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    async with (
        create_mcp_http_client(headers=headers or None) as client,
        streamable_http_client(url, http_client=client) as streams,
    ):
        yield streams


_QUERY = re.compile(r"(https?://[^\s'\"?#]+)[?#][^\s'\"]*")


def _describe(exc: BaseException) -> str:
    """One line for a failure, from the innermost exception of a group; a URL's query (where a
    token may travel) is left out."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = _QUERY.sub(r"\1?...", text)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class StreamTransport:
    """``Transport`` over the message streams of an ``mcp`` client transport."""

    def __init__(self, server: str, open_streams: Opener) -> None:
        self.server = server
        self._open = open_streams
        self._write: Any = None
        self._task: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None
        self._stop = asyncio.Event()
        self._pending: dict[Any, asyncio.Future[dict[str, Any]]] = {}
        #: Why the server cannot be reached any more (None while it can).
        self._gone: str | None = None
        self._version: str | None = None
        self._lock = asyncio.Lock()

    async def _start(self) -> None:
        if self._task is None:
            self._ready = asyncio.get_running_loop().create_future()
            self._task = asyncio.create_task(self._run(), name=f"mcp server {self.server}")
        assert self._ready is not None
        # Waiting never cancels the start itself (another request may be waiting for it too).
        await asyncio.wait({self._ready})
        self._ready.result()

    async def _run(self) -> None:
        import anyio

        assert self._ready is not None
        try:
            async with self._open() as (read, write):
                self._write = write
                self._ready.set_result(None)
                async with anyio.create_task_group() as group:
                    group.start_soon(self._read, read)
                    await self._stop.wait()
                    group.cancel_scope.cancel()
        except Exception as exc:
            self._fail(_describe(exc))
        finally:
            self._fail("connection closed")

    def _fail(self, reason: str) -> None:
        if self._gone is None:
            self._gone = reason
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(TransportError(self._gone))
        for future in self._pending.values():
            if not future.done():
                future.set_exception(TransportError(self._gone))
        self._pending.clear()
        self._stop.set()

    async def _read(self, read: Any) -> None:
        try:
            async for item in read:
                if isinstance(item, Exception):
                    log.debug("MCP server %r sent a message that could not be read: %s", self.server, item)
                    continue
                message = item.message.model_dump(by_alias=True, mode="json", exclude_unset=True)
                await self._receive(message)
        finally:
            self._fail("the server closed the connection")

    async def _receive(self, message: dict[str, Any]) -> None:
        if "method" in message:
            if "id" in message:  # a request from the server: none is supported but ping
                if message["method"] == "ping":
                    answer: dict[str, Any] = {"jsonrpc": "2.0", "id": message["id"], "result": {}}
                else:
                    problem = {"code": _METHOD_NOT_FOUND, "message": f"Method not found: {message['method']}"}
                    answer = {"jsonrpc": "2.0", "id": message["id"], "error": problem}
                with contextlib.suppress(Exception):
                    await self._send(answer)
            else:
                log.debug("MCP server %r: notification %s", self.server, message["method"])
            return
        future = self._pending.pop(message.get("id"), None)
        if future is not None and not future.done():
            future.set_result(message)

    async def _send(self, message: dict[str, Any]) -> None:
        import mcp_types
        from mcp.shared.message import ClientMessageMetadata, SessionMessage

        parsed = mcp_types.jsonrpc_message_adapter.validate_python(message)
        headers = {"mcp-protocol-version": self._version} if self._version else None
        metadata = ClientMessageMetadata(headers=headers) if headers else None
        await self._write.send(SessionMessage(parsed, metadata=metadata))

    async def _deliver(self, message: dict[str, Any]) -> None:
        await self._start()
        if self._gone is not None:
            raise TransportError(self._gone)
        try:
            async with self._lock:
                await self._send(message)
        except TransportError:
            raise
        except Exception as exc:
            raise TransportError(self._gone or _describe(exc)) from exc

    async def request(self, message: dict[str, Any], *, timeout: float | None) -> dict[str, Any]:
        try:
            async with asyncio.timeout(timeout):
                await self._start()
                future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
                self._pending[message["id"]] = future
                try:
                    await self._deliver(message)
                    reply = await future
                finally:
                    self._pending.pop(message["id"], None)
                    if future.done() and not future.cancelled():
                        future.exception()  # retrieved: a failure is raised once, above
        except TimeoutError:
            raise TransportTimeout(f"no answer within {timeout:g}s") from None
        if message.get("method") == "initialize":
            result = reply.get("result")
            version = result.get("protocolVersion") if isinstance(result, dict) else None
            self._version = version if isinstance(version, str) else None
        return reply

    async def notify(self, message: dict[str, Any], *, timeout: float | None) -> None:
        try:
            async with asyncio.timeout(timeout):
                await self._deliver(message)
        except TimeoutError:
            raise TransportTimeout(f"no answer within {timeout:g}s") from None

    async def close(self) -> None:
        task = self._task
        self._stop.set()
        if task is None or task.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), CLOSE_TIMEOUT_S)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
