"""Server-sent events, decoded as the anthropic SDK's ``SSEDecoder`` does.

Behaviour mirrored (SDK 2.17 ``_streaming.SSEDecoder``): the byte stream is cut into chunks that
end in a blank line (``\\n\\n``, ``\\r\\r`` or ``\\r\\n\\r\\n``); each line is split on ``\\r``/``\\n``
and decoded as UTF-8; ``data:`` lines join with ``\\n``; one optional space after the colon is
dropped; ``:`` lines are comments; ``id`` (without NUL) persists across events, as the SSE
standard says; an event is dispatched on a blank line when it has any field. A trailing event
that never got its blank line is dropped, as the SDK drops it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import NamedTuple

_ENDS = (b"\r\r", b"\n\n", b"\r\n\r\n")


class ServerSentEvent(NamedTuple):
    event: str | None
    data: str
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    def __init__(self) -> None:
        self._event: str | None = None
        self._data: list[str] = []
        self._last_id: str | None = None
        self._retry: int | None = None

    async def aiter_bytes(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[ServerSentEvent]:
        """Every event in a body that arrives in arbitrary pieces.

        The SDK cuts the stream at each line break that completes a blank line and decodes each
        cut; decoding two cuts together gives the same events, so a piece that ends a cut and
        starts with nothing pending (a server's usual one event, or several, per write) is
        decoded whole, without the line-by-line walk."""
        pending = b""
        for_chunk = self.decode_chunk
        async for chunk in chunks:
            if not pending and chunk.endswith(_ENDS):
                for event in for_chunk(chunk):
                    yield event
                continue
            for piece in chunk.splitlines(keepends=True):
                pending += piece
                if pending.endswith(_ENDS):
                    for event in for_chunk(pending):
                        yield event
                    pending = b""
        if pending:
            for event in for_chunk(pending):
                yield event

    def decode_chunk(self, chunk: bytes) -> list[ServerSentEvent]:
        out = []
        decode = self.decode
        for raw in chunk.splitlines():  # split before decoding: only \r and \n end a line
            if raw.startswith(b"data:"):  # the common line, without the general walk
                value = raw[5:].decode("utf-8")
                self._data.append(value[1:] if value[:1] == " " else value)
                continue
            event = decode(raw.decode("utf-8"))
            if event is not None:
                out.append(event)
        return out

    def decode(self, line: str) -> ServerSentEvent | None:
        """One line; returns the event a blank line completes."""
        if not line:
            if not self._event and not self._data and not self._last_id and self._retry is None:
                return None
            event = ServerSentEvent(self._event, "\n".join(self._data), self._last_id, self._retry)
            self._event, self._data, self._retry = None, [], None
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            if "\0" not in value:
                self._last_id = value
        elif name == "retry":
            with contextlib.suppress(ValueError):
                self._retry = int(value)
        return None
