"""Reading an HTTP/1.1 answer off a byte buffer: its head, then its body's framing.

The rules are RFC 9112's, read as ``h11`` (0.16) reads them, since ``h11`` carried this path
before and httpx's HTTP/1.1 still uses it: the head ends at the first blank line (``\\n\\r?\\n``),
lines may end in ``\\n`` alone, a folded header line (leading space or tab) joins the one before
it with a space; header names are tokens and values have no NUL or stray whitespace; repeated
``content-length`` values must agree; ``transfer-encoding`` may only be ``chunked`` and wins
over ``content-length``; 1xx, 204 and 304 answers and answers to HEAD have no body; without
either header the body runs to the end of the connection. A chunk's size line and the end of
its data must be ``\\r\\n``; extensions are dropped, trailers are read and dropped. The
connection is kept for another request unless the answer says ``connection: close``, is older
than HTTP/1.1, or ran to the end of the connection. ``tests/agent/test_http11_framing.py``
checks all this against ``h11`` on the same bytes, cut at every offset.

These functions are fed from a ``bytearray`` that the socket appends to; each takes what it
can use and leaves the rest, so a caller only waits for more when a function says it must.
"""

from __future__ import annotations

import re
from typing import NamedTuple

#: A head larger than this is refused (h11's default limit is 16 KiB).
MAX_HEAD = 65536
_HEAD_END = re.compile(rb"\n\r?\n")
_STATUS = re.compile(rb"HTTP/([0-9]\.[0-9]) ([0-9]{3})(?: (?:[ \t]|[^\x00\s])*)?")
_FIELD = re.compile(rb"([-!#$%&'*+.^_`|~0-9a-zA-Z]+):[ \t]*((?:[^\x00\s]+(?:[ \t]+[^\x00\s]+)*)?)[ \t]*")
_FOLD = re.compile(rb"[ \t]+")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,20})(?:;.*)?[ \t]*")
_DIGITS = re.compile(rb"[0-9]{1,20}")

_LENGTH, _CHUNKED, _TO_CLOSE = 0, 1, 2
_SIZE, _DATA, _DATA_END, _TRAILER, _DONE = range(5)


class BadResponse(Exception):
    """The bytes are not an HTTP/1.1 answer this client can read."""


class Head(NamedTuple):
    status: int
    version: bytes
    #: lower-cased names; a repeated header joined with ", " (``content-length`` kept once)
    headers: dict[str, str]


def _lines(block: bytes) -> list[bytes]:
    lines = [line[:-1] if line.endswith(b"\r") else line for line in block.split(b"\n")]
    folded: list[bytes] = []
    for line in lines:
        fold = _FOLD.match(line) if line[:1] in (b" ", b"\t") else None
        if fold is None:
            folded.append(line)
        elif not folded:
            raise BadResponse("a continuation line before any header")
        else:
            folded[-1] += b" " + line[fold.end() :]
    return folded


def _fields(lines: list[bytes]) -> dict[str, str]:
    headers: dict[str, str] = {}
    length: bytes | None = None
    for line in lines:
        match = _FIELD.fullmatch(line)
        if match is None:
            raise BadResponse(f"an illegal header line: {line[:80]!r}")
        raw_name, value = match.groups()
        name = raw_name.decode("ascii").lower()
        if name == "content-length":
            values = {part.strip() for part in value.split(b",")}
            if len(values) != 1 or not _DIGITS.fullmatch(next(iter(values))):
                raise BadResponse("a bad content-length")
            single = values.pop()
            if length is not None and length != single:
                raise BadResponse("conflicting content-length headers")
            length = single
            headers[name] = single.decode("ascii")
            continue
        if name == "transfer-encoding":
            if name in headers:
                raise BadResponse("more than one transfer-encoding header")
            value = value.lower()
            if value != b"chunked":
                raise BadResponse("a transfer-encoding other than chunked")
        text = value.decode("latin-1")
        headers[name] = f"{headers[name]}, {text}" if name in headers else text
    return headers


def read_head(buffer: bytearray) -> Head | None:
    """The answer's head, taken off the front of ``buffer``; None until all of it is there."""
    if buffer[:1] == b"\n" or buffer[:2] == b"\r\n":
        raise BadResponse("no status line")
    end = _HEAD_END.search(buffer)
    if end is None:
        if len(buffer) > MAX_HEAD:
            raise BadResponse(f"a head over {MAX_HEAD} bytes")
        return None
    if end.end() > MAX_HEAD:
        raise BadResponse(f"a head over {MAX_HEAD} bytes")
    block = bytes(buffer[: end.start()])
    del buffer[: end.end()]
    status_line, _, rest = block.partition(b"\n")
    status = _STATUS.fullmatch(status_line.removesuffix(b"\r"))
    if status is None:
        raise BadResponse(f"a bad status line: {status_line[:80]!r}")
    headers = _fields(_lines(rest)) if rest else {}
    return Head(int(status.group(2)), status.group(1), headers)


class Framing:
    """Where one answer's body ends: ``take`` hands over the body bytes the buffer holds."""

    __slots__ = ("_left", "_mode", "_state", "done", "reusable")

    def __init__(self, head: Head, method: str) -> None:
        headers = head.headers
        tokens = {token.strip().lower() for token in headers.get("connection", "").split(",")}
        keep = head.version >= b"1.1" and "close" not in tokens
        self._state = _SIZE
        self._left = 0
        self.done = False
        if method == "HEAD" or head.status in (204, 304) or head.status < 200:
            self._mode, self.done = _LENGTH, True
        elif "transfer-encoding" in headers:
            self._mode = _CHUNKED
        elif "content-length" in headers:
            self._mode, self._left = _LENGTH, int(headers["content-length"])
            self.done = self._left == 0
        else:
            self._mode, keep = _TO_CLOSE, False
        self.reusable = keep

    def take(self, buffer: bytearray, eof: bool) -> bytes:
        """The body bytes at the front of ``buffer`` (removed from it); sets ``done`` at the end."""
        if self.done or (not buffer and not eof):
            return b""
        if self._mode == _LENGTH:
            data = bytes(buffer[: self._left])
            del buffer[: len(data)]
            self._left -= len(data)
            self.done = self._left == 0
            return data
        if self._mode == _TO_CLOSE:
            data = bytes(buffer)
            buffer.clear()
            self.done = eof
            return data
        return self._chunks(buffer)

    def _chunks(self, buffer: bytearray) -> bytes:
        out: list[bytes] = []
        pos, size = 0, len(buffer)
        state = self._state
        while pos < size:
            if state == _DATA:
                take = min(self._left, size - pos)
                out.append(bytes(buffer[pos : pos + take]))
                pos += take
                self._left -= take
                if self._left:
                    break
                state = _DATA_END
            elif state == _DATA_END:
                crlf = buffer[pos : pos + 2]
                if crlf != b"\r\n"[: len(crlf)]:
                    raise BadResponse("a chunk not followed by CRLF")
                if len(crlf) < 2:
                    break
                pos += 2
                state = _SIZE
            elif state == _SIZE:
                end = buffer.find(b"\r\n", pos)
                if end < 0:
                    if size - pos > MAX_HEAD:
                        raise BadResponse("a chunk size line too long")
                    break
                match = _CHUNK_SIZE.fullmatch(buffer, pos, end)
                if match is None:
                    raise BadResponse(f"an illegal chunk header: {bytes(buffer[pos:end])[:40]!r}")
                pos = end + 2
                self._left = int(match.group(1), 16)
                state = _DATA if self._left else _TRAILER
            else:  # _TRAILER: header lines up to a blank one, read and dropped
                if buffer[pos : pos + 1] == b"\n" or buffer[pos : pos + 2] == b"\r\n":
                    pos += 1 if buffer[pos : pos + 1] == b"\n" else 2
                    state = _DONE
                    break
                end_match = _HEAD_END.search(buffer, pos)
                if end_match is None:
                    if size - pos > MAX_HEAD:
                        raise BadResponse("trailers over the head limit")
                    break
                _fields(_lines(bytes(buffer[pos : end_match.start()])))
                pos = end_match.end()
                state = _DONE
                break
        del buffer[:pos]
        self._state = state
        self.done = state == _DONE
        return b"".join(out) if len(out) != 1 else out[0]
