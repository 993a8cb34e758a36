from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from tests.mcp.servers.running import served


@pytest.fixture
def http_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The calc server over streamable HTTP on loopback: (its URL, its process)."""
    with served("http") as found:
        yield found


@pytest.fixture
def sse_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    with served("sse") as found:
        yield found
