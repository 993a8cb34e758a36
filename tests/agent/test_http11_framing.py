"""The fast path's answer parser reads every byte stream as ``h11`` reads it.

``wire.framing`` replaced ``h11`` on the hot path; ``h11`` (installed with httpx) stays the
reference here. Each answer below is fed to both, whole and cut at every offset (and into
random small pieces), and both must agree on the status, the headers, the body, whether the
connection can be reused, and on which answers are malformed.
"""

from __future__ import annotations

import random

import h11
import pytest

from thrifty.agent.wire.framing import BadResponse, Framing, read_head
from thrifty.agent.wire.http11 import Headers

SSE = (
    b"event: message_start\ndata: {}\n\n"
    b'event: content_block_delta\r\ndata: {"x": 1}\r\n\r\n'
    b"event: message_stop\ndata: {}\n\n"
)


def chunked(*parts: bytes, ext: bytes = b"", trailer: bytes = b"") -> bytes:
    body = b"".join(b"%x%s\r\n%s\r\n" % (len(p), ext, p) for p in parts)
    return body + b"0\r\n" + trailer + b"\r\n"


ANSWERS: dict[str, tuple[str, bytes]] = {
    "length": ("POST", b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nrequest-id: req_1\r\n\r\nhello"),
    "length zero": ("POST", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    "chunked sse": (
        "POST",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\ncontent-type: text/event-stream\r\n\r\n"
        + chunked(SSE[:30], SSE[30:31], SSE[31:]),
    ),
    "chunk extensions and trailers": (
        "POST",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n"
        + chunked(b"abc", b"defgh", ext=b";name=val", trailer=b"x-trailer: 1\r\n"),
    ),
    "chunk size with trailing space": (
        "GET",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3  \r\nabc\r\n0\r\n\r\n",
    ),
    "bare newlines and folded header": (
        "GET",
        b"HTTP/1.1 200 OK\ncontent-length: 2\nx-long: one\n  two\nx-rep: a\nX-Rep: b\n\nok",
    ),
    "no reason phrase": ("GET", b"HTTP/1.1 204\r\n\r\n"),
    "head has no body": ("HEAD", b"HTTP/1.1 200 OK\r\ncontent-length: 40\r\n\r\n"),
    "not modified": ("GET", b"HTTP/1.1 304 Not Modified\r\ncontent-length: 9\r\n\r\n"),
    "connection close": (
        "GET",
        b"HTTP/1.1 200 OK\r\nconnection: Keep-Alive, Close\r\ncontent-length: 2\r\n\r\nok",
    ),
    "http 1.0 to close": ("GET", b"HTTP/1.0 200 OK\r\n\r\nall of it until the end"),
    "no framing to close": ("GET", b"HTTP/1.1 200 OK\r\nx: y\r\n\r\nrest of the stream"),
    "repeated equal lengths": (
        "GET",
        b"HTTP/1.1 200 OK\r\ncontent-length: 3, 3\r\ncontent-length: 3\r\n\r\nabc",
    ),
    "error status": (
        "POST",
        b'HTTP/1.1 529 Overloaded\r\ncontent-length: 13\r\nretry-after: 2\r\n\r\n{"error": {}}',
    ),
    # Malformed: both must refuse.
    "conflicting lengths": ("GET", b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\nabcd"),
    "gzip coding": ("GET", b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\nxx"),
    "bad status line": ("GET", b"HTTP/1.1 20 OK\r\n\r\n"),
    "space before colon": ("GET", b"HTTP/1.1 200 OK\r\ncontent-length : 2\r\n\r\nok"),
    "chunk without crlf": (
        "GET",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabcXY0\r\n\r\n",
    ),
    "bad chunk size": ("GET", b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"),
    "leading blank line": ("GET", b"\r\nHTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"),
    "fold at start": ("GET", b"HTTP/1.1 200 OK\r\n x: y\r\n\r\n"),
}

Outcome = tuple[int, dict[str, str], bytes, bool] | str


def by_h11(method: str, pieces: list[bytes]) -> Outcome:
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method=method, target="/", headers=[("host", "x")]))
    conn.send(h11.EndOfMessage())
    feed = iter(pieces)
    ended = False  # the peer closed: h11 is told with b""
    head: h11.Response | None = None
    body = b""
    try:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                piece = next(feed, None)
                ended = piece is None
                conn.receive_data(b"" if piece is None else piece)
                continue
            if isinstance(event, h11.Response):
                head = event
            elif isinstance(event, h11.Data):
                body += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                return "cut"
    except h11.RemoteProtocolError:
        return "cut" if ended and head is not None else "malformed"
    assert head is not None
    reusable = conn.our_state is h11.DONE and conn.their_state is h11.DONE and not ended
    return head.status_code, dict(Headers(list(head.headers))), body, reusable


def by_framing(method: str, pieces: list[bytes]) -> Outcome:
    buffer = bytearray()
    feed = iter(pieces)
    eof = False
    body = b""
    try:
        while (head := read_head(buffer)) is None:
            piece = next(feed, None)
            if piece is None:
                return "cut"
            buffer += piece
        framing = Framing(head, method)
        while True:
            body += framing.take(buffer, eof)
            if framing.done:
                break
            if eof:
                return "cut"
            piece = next(feed, None)
            if piece is None:
                eof = True
            else:
                buffer += piece
    except BadResponse:
        return "malformed"
    return head.status, dict(Headers(head.headers)), body, framing.reusable and not buffer


@pytest.mark.parametrize("name", list(ANSWERS))
def test_every_cut_reads_as_h11_reads_it(name: str) -> None:
    method, raw = ANSWERS[name]
    whole = by_h11(method, [raw])
    assert by_framing(method, [raw]) == whole
    for cut in range(1, len(raw)):
        pieces = [raw[:cut], raw[cut:]]
        assert by_framing(method, pieces) == by_h11(method, pieces), (name, cut)
    rng = random.Random(name)
    for _ in range(20):
        pieces, at = [], 0
        while at < len(raw):
            step = rng.randint(1, 7)
            pieces.append(raw[at : at + step])
            at += step
        assert by_framing(method, pieces) == by_h11(method, pieces), (name, pieces)


def test_the_cases_cover_both_outcomes() -> None:
    """The table keeps answers both parsers read and answers both refuse."""
    outcomes = {name: by_h11(method, [raw]) for name, (method, raw) in ANSWERS.items()}
    assert outcomes["chunked sse"] == (
        200,
        {"transfer-encoding": "chunked", "content-type": "text/event-stream"},
        SSE,
        True,
    )
    assert outcomes["http 1.0 to close"][3] is False  # type: ignore[index]
    assert outcomes["connection close"][3] is False  # type: ignore[index]
    assert sum(outcome == "malformed" for outcome in outcomes.values()) >= 7


def test_a_body_cut_short_is_cut_for_both() -> None:
    raw = ANSWERS["length"][1][:-2]
    assert by_framing("GET", [raw]) == by_h11("GET", [raw]) == "cut"
    raw = ANSWERS["chunked sse"][1][:-7]
    assert by_framing("GET", [raw]) == by_h11("GET", [raw]) == "cut"
