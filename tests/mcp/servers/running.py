"""Start ``calc.py`` the ways a test needs it: a stdio config, or an HTTP/SSE server on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CALC = Path(__file__).resolve().parent / "calc.py"
START_TIMEOUT_S = 30.0


def stdio_config(**extra: Any) -> dict[str, Any]:
    """A ``--mcp-config`` entry that runs the calc server over stdio."""
    return {"type": "stdio", "command": sys.executable, "args": [str(CALC)], **extra}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def served(kind: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The calc server over ``http`` (streamable) or ``sse`` on a loopback port: its URL, process."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, str(CALC), kind, str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the calc {kind} server did not start") from None
                time.sleep(0.05)
        path = "/mcp" if kind == "http" else "/sse"
        yield f"http://127.0.0.1:{port}{path}", process
    finally:
        process.kill()
        process.wait()
