"""HTTP/1.1 over asyncio streams, with ``h11`` keeping the protocol: what carries the fast path.

Why not ``httpx2``: a Messages API stream is one POST and an SSE body, and the general client's
layers (anyio backends, pool bookkeeping, request and response models) cost more than the
request itself, ~50 ms of imports at start and over a millisecond per call. ``h11`` is the
protocol engine httpx's own HTTP/1.1 layer uses, so what goes on the wire is kept by the same
code; this module only moves bytes and keeps connections.

Kept from the httpx client it replaces (``WireClient`` before): keep-alive connections reused
per origin, a connect timeout and a per-read timeout (``asyncio.timeout``, no task per read),
redirects followed (303, and 301/302 for a POST, become a bodiless GET; a redirect to another
origin drops the credentials), TLS with the caller's context. Every failure is one of this
module's ``HttpError`` (``timeout`` or ``connection``); nothing of asyncio, ssl or h11 escapes.

Not here, on purpose: proxies (``WireClient`` hands a proxied endpoint to httpx2, which speaks
CONNECT and proxy auth), HTTP/2, compression (no ``accept-encoding`` is sent, so none comes).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Literal
from urllib.parse import urljoin, urlsplit

import h11

MAX_REDIRECTS = 20
READ_SIZE = 65536
#: Idle connections kept per origin; more concurrent requests than this still run, each on
#: its own connection, and the surplus is closed when it is done.
MAX_IDLE_PER_ORIGIN = 100
_Origin = tuple[str, str, int]


class HttpError(Exception):
    """No (complete) answer. ``kind``: ``timeout`` (connect or read) or ``connection``."""

    def __init__(self, kind: Literal["timeout", "connection"], message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Headers(Mapping[str, str]):
    """Response headers, looked up case-insensitively; a repeated header reads as one value
    joined with ``", "`` (as httpx's ``Headers.get`` does)."""

    __slots__ = ("_items",)

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        items: dict[str, str] = {}
        for name, value in raw:
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            items[key] = f"{items[key]}, {text}" if key in items else text
        self._items = items

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()]

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return self._items.get(key.lower(), default)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


class _Connection:
    __slots__ = ("h11", "origin", "reader", "writer")

    def __init__(self, origin: _Origin, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.origin = origin
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(h11.CLIENT)

    def reusable(self) -> bool:
        return self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class Response:
    """One answer: status and headers read, the body still on the wire until iterated."""

    def __init__(self, pool: Pool, conn: _Connection, head: h11.Response, read_timeout: float) -> None:
        self._pool = pool
        self._conn: _Connection | None = conn
        self._timeout = read_timeout
        self.status = head.status_code
        self.headers = Headers(list(head.headers))

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None:
            return
        while True:
            event = await _next_event(conn, self._timeout)
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return
            elif isinstance(event, h11.ConnectionClosed):
                raise HttpError("connection", "the server closed the connection before the answer ended")

    async def aread(self) -> bytes:
        return b"".join([chunk async for chunk in self.aiter_bytes()])

    async def aclose(self) -> None:
        """Back to the pool if the exchange ended cleanly, else closed (an abandoned body)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool.release(conn)


class Pool:
    """Keep-alive connections by origin. One ``Pool`` per client; ``aclose`` closes them all."""

    def __init__(self, *, connect_timeout: float, read_timeout: float, tls: ssl.SSLContext | None) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._tls = tls
        self._idle: dict[_Origin, list[_Connection]] = {}
        self._closed = False

    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None = None
    ) -> Response:
        """Send one request and read the answer's head, following redirects."""
        for _ in range(MAX_REDIRECTS + 1):
            response = await self._exchange(method, url, headers, body)
            location = response.headers.get("location")
            if response.status not in (301, 302, 303, 307, 308) or not location:
                return response
            await response.aread()
            await response.aclose()
            target = urljoin(url, location)
            if _origin(target) != _origin(url):
                headers = {
                    k: v for k, v in headers.items() if k.lower() not in ("authorization", "x-api-key")
                }
            if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                method, body = "GET", None
                headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
            url = target
        raise HttpError("connection", f"more than {MAX_REDIRECTS} redirects")

    async def _exchange(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> Response:
        origin = _origin(url)
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.netloc.rpartition("@")[2]
        fields = [("host", host), *headers.items()]
        if body is not None:
            fields.append(("content-length", str(len(body))))
        conn = await self._acquire(origin)
        try:
            wire = conn.h11.send(h11.Request(method=method, target=target, headers=fields)) or b""
            if body:
                wire += conn.h11.send(h11.Data(data=body)) or b""
            wire += conn.h11.send(h11.EndOfMessage()) or b""
            conn.writer.write(wire)
            async with asyncio.timeout(self.read_timeout):
                await conn.writer.drain()
            while True:
                event = await _next_event(conn, self.read_timeout)
                if isinstance(event, h11.Response):
                    return Response(self, conn, event, self.read_timeout)
                if isinstance(event, h11.ConnectionClosed):
                    raise HttpError("connection", "the server closed the connection without answering")
                # h11.InformationalResponse (100 Continue and the like): wait for the real one.
        except HttpError:
            conn.close()
            raise
        except TimeoutError:
            conn.close()
            raise HttpError("timeout", f"no answer within {self.read_timeout:g}s") from None
        except (OSError, h11.ProtocolError, asyncio.IncompleteReadError) as exc:
            conn.close()
            raise HttpError("connection", _describe(exc)) from exc
        except BaseException:
            conn.close()
            raise

    async def _acquire(self, origin: _Origin) -> _Connection:
        if self._closed:
            raise HttpError("connection", "the client was closed")
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            if not conn.reader.at_eof() and not conn.writer.is_closing():
                return conn
            conn.close()
        scheme, host, port = origin
        try:
            async with asyncio.timeout(self.connect_timeout):
                if scheme == "https":
                    reader, writer = await asyncio.open_connection(
                        host, port, ssl=self._tls or ssl.create_default_context(), server_hostname=host
                    )
                else:
                    reader, writer = await asyncio.open_connection(host, port)
        except TimeoutError:
            raise HttpError(
                "timeout", f"could not connect to {host}:{port} within {self.connect_timeout:g}s"
            ) from None
        except (OSError, ssl.SSLError) as exc:
            # The OS error stays the cause: ``api_errors`` names it (ECONNREFUSED, a TLS failure).
            raise HttpError("connection", f"could not connect to {host}:{port}: {_describe(exc)}") from exc
        return _Connection(origin, reader, writer)

    def release(self, conn: _Connection) -> None:
        if self._closed or not conn.reusable():
            conn.close()
            return
        try:
            conn.h11.start_next_cycle()
        except h11.ProtocolError:
            conn.close()
            return
        idle = self._idle.setdefault(conn.origin, [])
        if len(idle) >= MAX_IDLE_PER_ORIGIN:
            conn.close()
        else:
            idle.append(conn)

    async def aclose(self) -> None:
        self._closed = True
        conns = [conn for idle in self._idle.values() for conn in idle]
        self._idle.clear()
        for conn in conns:
            conn.close()
        for conn in conns:
            with contextlib.suppress(Exception):
                await conn.writer.wait_closed()


async def _next_event(conn: _Connection, timeout: float) -> object:
    """The next protocol event, reading from the socket as ``h11`` needs (each read timed)."""
    try:
        while True:
            event = conn.h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            async with asyncio.timeout(timeout):
                data = await conn.reader.read(READ_SIZE)
            conn.h11.receive_data(data)  # b"" is the end of the stream
    except TimeoutError:
        conn.close()
        raise HttpError("timeout", f"no data for {timeout:g}s") from None
    except (OSError, h11.ProtocolError) as exc:
        conn.close()
        raise HttpError("connection", _describe(exc)) from exc


def _origin(url: str) -> _Origin:
    parts = urlsplit(url)
    scheme = (parts.scheme or "http").lower()
    if scheme not in ("http", "https"):
        raise HttpError("connection", f"unsupported URL scheme {scheme!r}")
    try:
        port = parts.port
    except ValueError:
        raise HttpError("connection", f"bad port in {url!r}") from None
    return scheme, (parts.hostname or ""), port or (443 if scheme == "https" else 80)


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, HttpError) else f"{type(exc).__name__}: {text}"
