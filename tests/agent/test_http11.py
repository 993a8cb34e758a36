"""The fast path's HTTP/1.1 carrier against real loopback servers that misbehave on purpose.

Each server here is a few lines of asyncio speaking raw bytes, so a test can decide exactly what
the wire carries: a redirect, a body cut short, silence, a closed idle connection. The carrier
must reuse what it can, follow what the httpx client followed, and end every failure as an
``HttpError`` of the right kind, which is all the retry loop above it classifies.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from thrifty.agent.wire.client import WireClient
from thrifty.agent.wire.http11 import Headers, HttpError, Pool
from thrifty.agent.wire.proxied import ProxiedPool
from thrifty.core.endings import ApiFailure
from thrifty.testing import Simulator

pytestmark = pytest.mark.anyio

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, dict[str, Any]], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    line, *rest = head.split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in rest if h)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return line, headers, body


def ok(body: bytes = b"hello", extra: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\ncontent-length: {len(body)}\r\n{extra}\r\n".encode() + body


async def serve(handler: Handler) -> tuple[asyncio.Server, str, dict[str, Any]]:
    state: dict[str, Any] = {"connections": 0, "requests": []}

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state["connections"] += 1
        try:
            await handler(reader, writer, state)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", state


def pool(read_timeout: float = 5.0) -> Pool:
    return Pool(connect_timeout=2.0, read_timeout=read_timeout, tls=None)


async def keep_alive(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: dict[str, Any]
) -> None:
    while True:
        line, headers, body = await read_request(reader)
        state["requests"].append((line, headers, body))
        writer.write(ok(b"answer %d" % len(state["requests"])))
        await writer.drain()


async def test_a_connection_is_reused_across_requests() -> None:
    server, base, state = await serve(keep_alive)
    http = pool()
    try:
        for n in (1, 2, 3):
            response = await http.request("POST", base + "/v1/messages", {"x-api-key": "k"}, b"{}")
            assert (response.status, await response.aread()) == (200, b"answer %d" % n)
            await response.aclose()
        assert state["connections"] == 1
        line, headers, body = state["requests"][0]
        assert line == "POST /v1/messages HTTP/1.1"
        assert headers["host"] == base.removeprefix("http://")
        assert headers["content-length"] == "2" and body == b"{}"
        assert "accept-encoding" not in headers  # nothing compressed can come back
    finally:
        await http.aclose()
        server.close()


async def test_an_abandoned_body_closes_its_connection_instead_of_reusing_it() -> None:
    server, base, state = await serve(keep_alive)
    http = pool()
    try:
        response = await http.request("GET", base + "/", {})
        await response.aclose()  # body never read: the connection is in an unknown state
        response = await http.request("GET", base + "/", {})
        assert await response.aread() == b"answer 2"
        await response.aclose()
        assert state["connections"] == 2
    finally:
        await http.aclose()
        server.close()


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    async def one_per_connection(
        r: asyncio.StreamReader, w: asyncio.StreamWriter, state: dict[str, Any]
    ) -> None:
        state["requests"].append(await read_request(r))
        w.write(ok(b"once"))
        await w.drain()
        w.close()

    server, base, state = await serve(one_per_connection)
    http = pool()
    try:
        for _ in range(2):
            response = await http.request("GET", base + "/", {})
            assert await response.aread() == b"once"
            await response.aclose()
            await asyncio.sleep(0.05)  # the close reaches the client's reader
        assert state["connections"] == 2
    finally:
        await http.aclose()
        server.close()


async def test_redirects_are_followed_and_credentials_stay_at_home() -> None:
    other, other_base, other_state = await serve(keep_alive)

    async def redirecting(r: asyncio.StreamReader, w: asyncio.StreamWriter, state: dict[str, Any]) -> None:
        while True:
            line, headers, body = await read_request(r)
            state["requests"].append((line, headers, body))
            if line.startswith("POST /same"):
                w.write(b"HTTP/1.1 307 Temporary Redirect\r\nlocation: /moved\r\ncontent-length: 0\r\n\r\n")
            elif line.startswith("POST /away"):
                there = f"{other_base}/there"
                w.write(f"HTTP/1.1 308 Permanent\r\nlocation: {there}\r\ncontent-length: 0\r\n\r\n".encode())
            elif line.startswith("POST /see-other"):
                w.write(b"HTTP/1.1 303 See Other\r\nlocation: /result\r\ncontent-length: 0\r\n\r\n")
            else:
                w.write(ok(b"landed"))
            await w.drain()

    server, base, state = await serve(redirecting)
    http = pool()
    secret = {"x-api-key": "sk-secret", "authorization": "Bearer t", "content-type": "application/json"}
    try:
        response = await http.request("POST", base + "/same", secret, b"{}")
        assert await response.aread() == b"landed"
        moved = state["requests"][-1]
        assert (
            moved[0] == "POST /moved HTTP/1.1" and moved[1]["x-api-key"] == "sk-secret" and moved[2] == b"{}"
        )

        response = await http.request("POST", base + "/away", secret, b"{}")
        assert await response.aread() == b"answer 1"
        line, headers, body = other_state["requests"][0]
        assert line == "POST /there HTTP/1.1" and body == b"{}"
        assert "x-api-key" not in headers and "authorization" not in headers

        response = await http.request("POST", base + "/see-other", secret, b"{}")
        await response.aread()
        line, headers, body = state["requests"][-1]
        assert line == "GET /result HTTP/1.1" and body == b"" and "content-type" not in headers
    finally:
        await http.aclose()
        server.close()
        other.close()


async def test_a_body_cut_short_is_a_connection_error() -> None:
    async def cut(r: asyncio.StreamReader, w: asyncio.StreamWriter, state: dict[str, Any]) -> None:
        await read_request(r)
        w.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly part")
        await w.drain()

    server, base, _ = await serve(cut)
    http = pool()
    try:
        response = await http.request("GET", base + "/", {})
        with pytest.raises(HttpError) as caught:
            await response.aread()
        assert caught.value.kind == "connection"
    finally:
        await http.aclose()
        server.close()


async def test_silence_is_a_timeout_and_a_refused_port_a_connection_error() -> None:
    async def silent(r: asyncio.StreamReader, w: asyncio.StreamWriter, state: dict[str, Any]) -> None:
        await read_request(r)
        await asyncio.sleep(5)

    server, base, _ = await serve(silent)
    http = pool(read_timeout=0.2)
    try:
        with pytest.raises(HttpError) as caught:
            await http.request("GET", base + "/", {})
        assert caught.value.kind == "timeout"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]  # bound, never listening: refused
            with pytest.raises(HttpError) as refused:
                await http.request("GET", f"http://127.0.0.1:{port}/", {})
        assert refused.value.kind == "connection"
    finally:
        await http.aclose()
        server.close()


async def test_a_stream_that_stalls_times_out_and_a_steady_slow_one_does_not() -> None:
    """The read timeout is per read: a body that keeps coming, however long in all, is fine."""

    async def trickle(r: asyncio.StreamReader, w: asyncio.StreamWriter, state: dict[str, Any]) -> None:
        while True:
            line, _, _ = await read_request(r)
            w.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
            for _ in range(8):
                w.write(b"2\r\nok\r\n")
                await w.drain()
                await asyncio.sleep(0.08)
            if "stall" in line:
                await asyncio.sleep(5)
            w.write(b"0\r\n\r\n")
            await w.drain()

    server, base, _ = await serve(trickle)
    http = pool(read_timeout=0.3)  # shorter than the whole body, longer than any one gap
    try:
        response = await http.request("GET", base + "/steady", {})
        assert await response.aread() == b"ok" * 8
        await response.aclose()
        response = await http.request("GET", base + "/stall", {})
        with pytest.raises(HttpError) as caught:
            await response.aread()
        assert caught.value.kind == "timeout"
        await response.aclose()
    finally:
        await http.aclose()
        server.close()


async def test_a_malformed_answer_is_a_connection_error() -> None:
    async def garbage(r: asyncio.StreamReader, w: asyncio.StreamWriter, state: dict[str, Any]) -> None:
        await read_request(r)
        w.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nabcdeXX")
        await w.drain()
        await asyncio.sleep(1)

    server, base, _ = await serve(garbage)
    http = pool()
    try:
        response = await http.request("GET", base + "/", {})
        with pytest.raises(HttpError) as caught:
            await response.aread()
        assert caught.value.kind == "connection"
        await response.aclose()
    finally:
        await http.aclose()
        server.close()


def test_headers_read_case_insensitively_and_join_repeats() -> None:
    headers = Headers([(b"Request-Id", b"req_1"), (b"set-thing", b"a"), (b"Set-Thing", b"b")])
    assert headers["request-id"] == headers.get("REQUEST-ID") == "req_1"
    assert headers.get("set-thing") == "a, b" and "Set-Thing" in headers and len(headers) == 2
    assert headers.get("missing") is None


async def test_a_proxy_in_the_environment_hands_the_endpoint_to_httpx2(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Through a real forward proxy (a loopback server answering absolute-form requests)."""
    server, proxy, state = await serve(keep_alive)
    monkeypatch.delenv("http_proxy", raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy)  # httpx2 reads the process environment itself
    assert isinstance(WireClient("http://api.invalid", scheme=None, secret=None, environ={})._http, Pool)
    client = WireClient("http://api.invalid", scheme="x-api-key", secret="k")
    assert isinstance(client._http, ProxiedPool)
    try:
        response = await client._http.request(
            "POST", "http://api.invalid/v1/messages", {"x-api-key": "k"}, b"{}"
        )
        assert await response.aread() == b"answer 1"
        await response.aclose()
        assert state["requests"][0][0] == "POST http://api.invalid/v1/messages HTTP/1.1"
    finally:
        await client.close()
        server.close()


async def test_a_dead_endpoint_ends_the_run_as_a_connection_error_after_retries() -> None:
    """Through the whole caller: the loop's retry policy sees the carrier's failures as before."""
    from thrifty.agent.model import FastCaller

    with Simulator([{"text": "unused"}]) as sim:
        base = sim.base_url
    client = WireClient(base, scheme="x-api-key", secret="k", environ={})
    slept: list[float] = []

    async def no_sleep(seconds: float) -> None:
        slept.append(seconds)

    caller = FastCaller(client, session_id="s", max_retries=2, sleep=no_sleep)
    params = {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
    try:
        with pytest.raises(ApiFailure) as caught:
            _ = [item async for item in caller.call(params)]
    finally:
        await client.close()
    assert str(caught.value).startswith("API Error: Connection refused") and len(slept) == 2
