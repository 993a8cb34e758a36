"""Recorded streams, through the SDK and through the fast path: the same events, the same message.

Fixtures (``fixtures/streams``): real API streams recorded by the Vercel AI SDK (plain tool_use,
extended thinking with a signature and CRLF framing, web search with a server tool, a result
block and citations), the wire spec's tool_use example and the docs' basic text example. Each is
served by a loopback HTTP server that writes the recorded bytes in chunks of a given size (whole,
1 byte, 7 bytes), to ``ModelCaller`` over the official client and to ``FastCaller`` on its own
carrier, with partial messages on; and once more to ``FastCaller`` through the proxy carrier
(httpx2, given an ``httpx2.MockTransport`` for the network). The SDK's own accumulator is the
reference for the snapshot.
"""

from __future__ import annotations

import asyncio
import json
import re
import warnings
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import pytest

from thrifty.agent.caller import Completed
from thrifty.agent.model import FastCaller, ModelCaller
from thrifty.agent.wire.accumulate import MessageAccumulator
from thrifty.agent.wire.client import WireClient
from thrifty.agent.wire.sse import SSEDecoder
from thrifty.core.events import ApiUsage, StreamEvent

STREAMS = sorted((Path(__file__).parent / "fixtures" / "streams").glob("*.sse"))
BASE = "http://recorded.invalid"
HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nrequest-id: req_recorded\r\n"
PARAMS: dict[str, Any] = {"model": "m", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}


class Replay(httpx2.AsyncByteStream):
    def __init__(self, body: bytes, size: int) -> None:
        self.body, self.size = body, size

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.body), self.size):
            yield self.body[start : start + self.size]


def transport(body: bytes, size: int) -> httpx2.MockTransport:
    def answer(request: httpx2.Request) -> httpx2.Response:
        headers = {"content-type": "text/event-stream", "request-id": "req_recorded"}
        return httpx2.Response(200, headers=headers, stream=Replay(body, size))

    return httpx2.MockTransport(answer)


def no_sleep(_seconds: float) -> Awaitable[None]:
    async def done() -> None:
        return None

    return done()


async def serve_recorded(body: bytes, size: int) -> asyncio.Server:
    """A loopback server answering every request with ``body``, in HTTP chunks of ``size`` bytes."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
                writer.write(HEAD + b"transfer-encoding: chunked\r\n\r\n")
                for start in range(0, len(body), size):
                    piece = body[start : start + size]
                    writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    return await asyncio.start_server(answer, "127.0.0.1", 0)


async def through(body: bytes, *, fast: bool, size: int, proxied: bool = False) -> list[Any]:
    client: Any
    server = await serve_recorded(body, size)
    base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    if fast:
        if proxied:
            client = WireClient(BASE, scheme="x-api-key", secret="sk-test", transport=transport(body, size))
        else:
            client = WireClient(base, scheme="x-api-key", secret="sk-test", environ={})
        caller: ModelCaller = FastCaller(client, session_id="s", include_partial=True, sleep=no_sleep)
    else:
        client = anthropic.AsyncAnthropic(api_key="sk-test", base_url=base, max_retries=0)
        caller = ModelCaller(client, session_id="s", include_partial=True, sleep=no_sleep)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydantic's serializer warnings on unknown blocks
            return [item async for item in caller.call(PARAMS)]
    finally:
        await client.close()
        server.close()
        await server.wait_closed()


def comparable(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if isinstance(item, StreamEvent):
            out.append(("event", json.dumps(item.event)))  # key order included
        elif isinstance(item, ApiUsage):
            out.append(("usage", item.request_id, item.message_id, item.raw_usage, item.complete))
        elif isinstance(item, Completed):
            out.append(("completed", json.dumps(item.message), item.request_id))
        else:
            out.append(repr(item))
    return out


def sdk_reference(body: bytes) -> dict[str, Any]:
    """The snapshot the SDK's own decoder and accumulator make of ``body``."""
    from anthropic._models import construct_type_unchecked
    from anthropic._streaming import SSEDecoder as SdkDecoder
    from anthropic.lib.streaming._messages import accumulate_event
    from anthropic.types import RawMessageStreamEvent

    snapshot: Any = None
    buffers: dict[int, bytes] = {}
    for sse in SdkDecoder().iter_bytes(iter([body])):
        if sse.event in (None, "ping") or not sse.data:
            continue
        event: Any = construct_type_unchecked(type_=RawMessageStreamEvent, value=sse.json())  # type: ignore[arg-type]
        snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=buffers)
    return dict(snapshot.model_dump(mode="json", exclude_none=True))


@pytest.mark.anyio
@pytest.mark.parametrize("size", [1 << 20, 1, 7])
@pytest.mark.parametrize("path", STREAMS, ids=lambda p: p.stem)
async def test_a_recorded_stream_comes_out_the_same(path: Path, size: int) -> None:
    body = path.read_bytes()
    sdk = comparable(await through(body, fast=False, size=size))
    fast = comparable(await through(body, fast=True, size=size))
    assert fast == sdk
    assert sdk[-1][0] == "completed"


@pytest.mark.anyio
@pytest.mark.parametrize("path", STREAMS, ids=lambda p: p.stem)
async def test_the_proxy_carrier_yields_the_same(path: Path) -> None:
    body = path.read_bytes()
    sdk = comparable(await through(body, fast=False, size=7))
    assert comparable(await through(body, fast=True, size=7, proxied=True)) == sdk


@pytest.mark.parametrize("path", STREAMS, ids=lambda p: p.stem)
def test_the_accumulator_matches_the_sdk_accumulator(path: Path) -> None:
    body = path.read_bytes()
    accumulator = MessageAccumulator()
    for sse in SSEDecoder().decode_chunk(body):
        if sse.event in (None, "ping") or not sse.data:
            continue
        accumulator.feed(json.loads(sse.data))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = sdk_reference(body)
    assert json.dumps(accumulator.snapshot()) == json.dumps(reference)


def test_the_decoder_matches_the_sdk_decoder() -> None:
    from anthropic._streaming import SSEDecoder as SdkDecoder

    odd = (
        b": comment\r\nevent: a\r\ndata: 1\r\ndata:2\r\nid: x\r\nretry: 5\r\n\r\n"
        b"event:b\rdata: {}\r\r"
        b"data: no name\n\nid: y\n\nevent: c\ndata:  padded \n\nevent: unterminated\ndata: z"
    )
    for body in [odd, *(p.read_bytes() for p in STREAMS)]:
        # Event-aligned pieces too: the decoder takes those whole (a server's usual write).
        aligned = [piece for piece in re.split(rb"(?<=\n\n|\r\r)", body) if piece]
        pairs = [b"".join(aligned[i : i + 2]) for i in range(0, len(aligned), 2)]
        for chunks_or_size in (1, 3, len(body), aligned, pairs):
            if isinstance(chunks_or_size, list):
                chunks = chunks_or_size
            else:
                size = chunks_or_size
                chunks = [body[i : i + size] for i in range(0, len(body), size)]
            theirs = [(e.event, e.data, e.id, e.retry) for e in SdkDecoder().iter_bytes(iter(chunks))]

            async def ours(chunks: list[bytes] = chunks) -> list[Any]:
                async def source() -> AsyncIterator[bytes]:
                    for chunk in chunks:
                        yield chunk

                return [tuple(e) async for e in SSEDecoder().aiter_bytes(source())]

            import asyncio

            assert asyncio.run(ours()) == theirs


@pytest.mark.parametrize("cut", [3, 9, 14])
def test_a_tool_input_cut_short_parses_as_the_sdk_parses_it(cut: int) -> None:
    """A stream that stops inside a tool's JSON: the partial input is the SDK's partial parse."""
    body = (Path(__file__).parent / "fixtures" / "streams" / "real-web-search-trimmed.sse").read_bytes()
    events = [e for e in SSEDecoder().decode_chunk(body) if e.event not in (None, "ping") and e.data]
    fragments = b"".join(f"event: {e.event}\ndata: {e.data}\n\n".encode() for e in events[:4])
    partial = json.loads(events[4].data)
    partial["delta"]["partial_json"] = partial["delta"]["partial_json"][:cut]
    body = fragments + f"event: content_block_delta\ndata: {json.dumps(partial)}\n\n".encode()
    accumulator = MessageAccumulator()
    for sse in SSEDecoder().decode_chunk(body):
        accumulator.feed(json.loads(sse.data))
    assert json.dumps(accumulator.snapshot()) == json.dumps(sdk_reference(body))
