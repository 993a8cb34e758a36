"""stdin as NDJSON lines for ``--input-format stream-json``: read without blocking the event loop,
framed on ``\\n``, with a cap on the length of one line."""

from __future__ import annotations

import asyncio
import os
import stat
import threading
from collections.abc import AsyncIterator
from typing import BinaryIO

#: The longest stdin line accepted (a prompt with images can be large).
LINE_LIMIT = 16 * 1024 * 1024
CHUNK = 64 * 1024


class LineFramer:
    """Split stdin bytes into lines; a line over ``limit`` comes out once as ``None``."""

    def __init__(self, limit: int = LINE_LIMIT) -> None:
        self.limit = limit
        self._buf = bytearray()
        self._skipping = False

    def push(self, chunk: bytes) -> list[bytes | None]:
        out: list[bytes | None] = []
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            piece = chunk[start:end]
            start = end + 1
            if self._skipping:  # the end of a line already reported as too long
                self._skipping = False
            elif len(self._buf) + len(piece) > self.limit:
                out.append(None)
                self._buf.clear()
            else:
                self._buf += piece
                out.append(bytes(self._buf))
                self._buf.clear()
        rest = chunk[start:]
        if not self._skipping:
            if len(self._buf) + len(rest) > self.limit:
                out.append(None)
                self._buf.clear()
                self._skipping = True
            else:
                self._buf += rest
        return out

    def flush(self) -> bytes:
        data, skipping = bytes(self._buf), self._skipping
        self._buf.clear()
        self._skipping = False
        return b"" if skipping else data


async def read_chunks(stdin: BinaryIO) -> AsyncIterator[bytes]:
    """stdin without blocking the loop. A pipe or socket goes through the loop's own reader;
    anything else (a terminal, a regular file, /dev/null) is read by a daemon thread, so a
    terminal is never switched to non-blocking mode and an exit never waits on a pending read."""
    fd = stdin.fileno()
    mode = os.fstat(fd).st_mode
    loop = asyncio.get_running_loop()
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        reader = asyncio.StreamReader(limit=LINE_LIMIT)
        transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
        try:
            while chunk := await reader.read(CHUNK):
                yield chunk
        finally:
            transport.close()
        return
    chunks: asyncio.Queue[bytes] = asyncio.Queue()

    def pump() -> None:
        while True:
            try:
                data = os.read(fd, CHUNK)
            except OSError:
                data = b""
            try:
                loop.call_soon_threadsafe(chunks.put_nowait, data)
            except RuntimeError:  # the loop is gone: the process is exiting
                return
            if not data:
                return

    threading.Thread(target=pump, name="thrifty-stdin", daemon=True).start()
    while chunk := await chunks.get():
        yield chunk
