"""HTTP/1.1 over an asyncio protocol: what carries the fast path.

Why not ``httpx2``: a Messages API stream is one POST and an SSE body, and the general client's
layers (anyio backends, pool bookkeeping, request and response models) cost more than the
request itself, ~50 ms of imports at start and over a millisecond per call. Why not ``h11``
either (it carried this path before): its per-event state machine, header validation and stream
reader cost about a seventh of a turn (2.5 ms to 2.15 ms when this replaced it). The exchange
this path makes is narrow (a request we compose, an answer framed by ``content-length`` or
chunked encoding), so the bytes are read here, by ``framing.Framing``, and the framing rules are
RFC 9112's; ``tests/agent/test_http11_framing.py``
holds the parser to ``h11``'s reading of the same bytes, cut at every point.

Kept from the httpx client this replaced: keep-alive connections reused per origin, a connect
timeout and a per-read timeout (one watchdog timer per connection, re-armed only when it
fires), redirects followed (303, and 301/302 for a POST, become a bodiless GET; a redirect to
another origin drops the credentials), TLS with the caller's context. Every failure is one of
this module's ``HttpError`` (``timeout`` or ``connection``); nothing of asyncio or ssl escapes.

Not here, on purpose: proxies (``WireClient`` hands a proxied endpoint to httpx2, which speaks
CONNECT and proxy auth), HTTP/2, compression (no ``accept-encoding`` is sent, so none comes).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Literal
from urllib.parse import urljoin, urlsplit

from thrifty.agent.wire.framing import BadResponse, Framing, Head, read_head

MAX_REDIRECTS = 20
#: Idle connections kept per origin; more concurrent requests than this still run, each on
#: its own connection, and the surplus is closed when it is done.
MAX_IDLE_PER_ORIGIN = 100
#: Reading pauses while this much of an answer waits unread, and resumes below a quarter of it.
_BUFFER_HIGH = 4 * 1024 * 1024
_Origin = tuple[str, str, int]
#: What must not appear in a request's header names or values (a header could smuggle another).
_UNSAFE = re.compile(r"[\r\n\0]")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


class HttpError(Exception):
    """No (complete) answer. ``kind``: ``timeout`` (connect or read) or ``connection``."""

    def __init__(self, kind: Literal["timeout", "connection"], message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Headers(Mapping[str, str]):
    """Response headers, looked up case-insensitively; a repeated header reads as one value
    joined with ``", "`` (as httpx's ``Headers.get`` does)."""

    __slots__ = ("_items",)

    def __init__(self, raw: list[tuple[bytes, bytes]] | dict[str, str]) -> None:
        if isinstance(raw, dict):  # already lower-cased and joined (``framing.read_head``)
            self._items = raw
            return
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


class _Connection(asyncio.Protocol):
    """One socket: what arrived (``buffer``), whether the peer is gone, and one read waiter.

    The read timeout is a watchdog: ``wait`` arms one timer if none is armed, and when it fires
    it fails the waiter only if that wait has been idle the whole time, else re-arms for the
    rest. A streamed answer's many reads so cost no timer each (``asyncio.timeout`` did)."""

    def __init__(self, origin: _Origin, loop: asyncio.AbstractEventLoop) -> None:
        self.origin = origin
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.failure: BaseException | None = None
        self.reusable = False
        self._waiter: asyncio.Future[None] | None = None
        self._idle_since = 0.0
        self._timeout = 0.0
        self._watch: asyncio.TimerHandle | None = None
        self._paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > _BUFFER_HIGH and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> None:
        self.eof = True
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.failure = exc
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self, timeout: float) -> None:
        """Until more bytes arrive or the peer goes; ``TimeoutError`` after ``timeout`` idle."""
        if self._paused and len(self.buffer) < _BUFFER_HIGH // 4 and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        waiter = self.loop.create_future()
        self._waiter = waiter
        self._idle_since = self.loop.time()
        self._timeout = timeout
        if self._watch is None:
            self._watch = self.loop.call_at(self._idle_since + timeout, self._check)
        await waiter

    def _check(self) -> None:
        self._watch = None
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        due = self._idle_since + self._timeout
        if self.loop.time() >= due - 0.001:
            self._waiter = None
            waiter.set_exception(TimeoutError())
        else:
            self._watch = self.loop.call_at(due, self._check)

    def send(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            raise self.broken("the connection was closed before the request was sent")
        self.transport.write(data)

    def broken(self, message: str) -> HttpError:
        """The peer went away: the OS error that ended the socket, if any, is the cause
        (``api_errors`` names it: ECONNRESET reads "Connection dropped")."""
        error = HttpError(
            "connection", message if self.failure is None else f"{message}: {_describe(self.failure)}"
        )
        error.__cause__ = self.failure
        return error

    def alive(self) -> bool:
        return not self.eof and self.transport is not None and not self.transport.is_closing()

    def close(self) -> None:
        self.reusable = False
        self.quiet()
        if self.transport is not None:
            with contextlib.suppress(Exception):
                self.transport.close()

    def quiet(self) -> None:
        """Between exchanges: no timer left to fire for a connection that waits in the pool."""
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None


class Response:
    """One answer: status and headers read, the body still on the wire until iterated."""

    def __init__(self, pool: Pool, conn: _Connection, head: Head, method: str, read_timeout: float) -> None:
        self._pool = pool
        self._conn: _Connection | None = conn
        self._timeout = read_timeout
        self.status = head.status
        self.headers = Headers(head.headers)
        self._framing = Framing(head, method)

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None:
            return
        framing = self._framing
        try:
            while True:
                data = framing.take(conn.buffer, conn.eof)
                if data:
                    yield data
                if framing.done:
                    conn.reusable = framing.reusable and not conn.buffer
                    return
                if conn.eof:
                    raise conn.broken("the server closed the connection before the answer ended")
                await conn.wait(self._timeout)
        except TimeoutError:
            conn.close()
            raise HttpError("timeout", f"no data for {self._timeout:g}s") from None
        except BadResponse as exc:
            conn.close()
            raise HttpError("connection", f"a malformed answer: {exc}") from None

    async def aread(self) -> bytes:
        return b"".join([chunk async for chunk in self.aiter_bytes()])

    async def aclose(self) -> None:
        """Back to the pool if the exchange ended cleanly, else closed (an abandoned body)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool.release(conn)


def _request_head(
    method: str, target: str, host: str, headers: Mapping[str, str], length: int | None
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"host: {host}"]
    for name, value in headers.items():
        if not _TOKEN.fullmatch(name) or _UNSAFE.search(value):
            raise HttpError("connection", f"a request header that cannot be sent: {name!r}")
        lines.append(f"{name}: {value}")
    if length is not None:
        lines.append(f"content-length: {length}")
    lines.append("\r\n")
    try:
        return "\r\n".join(lines).encode("ascii")
    except UnicodeEncodeError:
        raise HttpError("connection", "a request header that is not ASCII") from None


class Pool:
    """Keep-alive connections by origin. One ``Pool`` per client; ``aclose`` closes them all."""

    def __init__(self, *, connect_timeout: float, read_timeout: float, tls: ssl.SSLContext | None) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._tls = tls
        self._idle: dict[_Origin, list[_Connection]] = {}
        self._open: set[_Connection] = set()
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
        wire = _request_head(method, target, host, headers, None if body is None else len(body))
        conn = await self._acquire(origin)
        try:
            conn.send(wire + body if body else wire)
            while True:
                head = read_head(conn.buffer)
                if head is None:
                    if conn.eof:
                        raise conn.broken("the server closed the connection without answering")
                    await conn.wait(self.read_timeout)
                    continue
                if head.status >= 200:
                    return Response(self, conn, head, method, self.read_timeout)
                if head.status == 101:
                    raise HttpError("connection", "the server switched protocols")
                # 100 Continue and the like: wait for the real answer.
        except HttpError:
            self._forget(conn)
            raise
        except TimeoutError:
            self._forget(conn)
            raise HttpError("timeout", f"no answer within {self.read_timeout:g}s") from None
        except BadResponse as exc:
            self._forget(conn)
            raise HttpError("connection", f"a malformed answer: {exc}") from None
        except BaseException:
            self._forget(conn)
            raise

    async def _acquire(self, origin: _Origin) -> _Connection:
        if self._closed:
            raise HttpError("connection", "the client was closed")
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            if conn.alive() and not conn.buffer:
                return conn
            self._forget(conn)
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                if scheme == "https":
                    _, conn = await loop.create_connection(
                        lambda: _Connection(origin, loop),
                        host,
                        port,
                        ssl=self._tls or ssl.create_default_context(),
                        server_hostname=host,
                    )
                else:
                    _, conn = await loop.create_connection(lambda: _Connection(origin, loop), host, port)
        except TimeoutError:
            raise HttpError(
                "timeout", f"could not connect to {host}:{port} within {self.connect_timeout:g}s"
            ) from None
        except (OSError, ssl.SSLError) as exc:
            # The OS error stays the cause: ``api_errors`` names it (ECONNREFUSED, a TLS failure).
            raise HttpError("connection", f"could not connect to {host}:{port}: {_describe(exc)}") from exc
        self._open.add(conn)
        return conn

    def _forget(self, conn: _Connection) -> None:
        conn.close()
        self._open.discard(conn)

    def release(self, conn: _Connection) -> None:
        if self._closed or not conn.reusable or not conn.alive():
            self._forget(conn)
            return
        conn.reusable = False
        conn.quiet()
        idle = self._idle.setdefault(conn.origin, [])
        if len(idle) >= MAX_IDLE_PER_ORIGIN:
            self._forget(conn)
        else:
            idle.append(conn)

    async def aclose(self) -> None:
        self._closed = True
        conns = list(self._open)
        self._idle.clear()
        self._open.clear()
        for conn in conns:
            conn.close()
        # Let the transports finish closing on this loop, not on a later one.
        await asyncio.sleep(0)


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
