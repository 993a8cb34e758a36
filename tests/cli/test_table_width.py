"""How wide ``thrifty usage`` tables are: the terminal's width on a terminal (a real pseudo-
terminal here, with its window size set), every column at full width into a file or pipe, and
at most 80 columns with ``--compact``. A session id is never cut, so it pastes into ``--resume``.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.usage.rows import make_row
from thrifty.billing.ledger import open_ledger

SESSION = "0b7e51d2-9c1f-4f4e-8a53-2f0c6f3f1d2a"
LONG_PROJECT = "/home/someone/projects/a-rather-long-project-name/with/a/deep/path"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    ledger = tmp_path / "ledger.sqlite3"
    start = datetime(2025, 3, 1, 9, tzinfo=UTC)
    rows = [
        make_row(
            at=start + timedelta(minutes=n),
            session=SESSION,
            project=LONG_PROJECT,
            model=model,
            inp=123_456,
            out=7_890,
            cw5=45_678,
            cr=901_234,
        )
        for n, model in enumerate(["claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5"])
    ]
    db = open_ledger(str(ledger))
    try:
        db.append_many(rows)
    finally:
        db.close()
    (tmp_path / "home").mkdir()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("THRIFTY_", "CLAUDE_", "COLUMNS"))}
    return {**base, "HOME": str(tmp_path / "home"), "THRIFTY_LEDGER": str(ledger), "TZ": "UTC"}


def piped(env: dict[str, str], *args: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-m", "thrifty", "usage", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def on_terminal(env: dict[str, str], columns: int, *args: str) -> list[str]:
    """``thrifty usage ARGS`` with stdout on a pseudo-terminal ``columns`` wide."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "thrifty", "usage", *args],
        env={**env, "NO_COLOR": "1", "TERM": "xterm"},
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=subprocess.PIPE,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return ANSI.sub("", b"".join(chunks).decode()).splitlines()


def widest(lines: list[str]) -> int:
    return max(len(line) for line in lines)


def test_a_pipe_gets_every_column_at_full_width(env: dict[str, str]) -> None:
    lines = piped(env, "session")
    text = "\n".join(lines)
    for header in ("Models", "Cache", "Project", "Calls", "Cost"):
        assert header in text
    assert any(SESSION in line and LONG_PROJECT in line for line in lines)
    assert widest(lines) > 80
    assert "hidden" not in text


def test_a_pipe_ignores_a_stale_columns_value(env: dict[str, str]) -> None:
    """A script's COLUMNS=80 was exactly what squeezed saved reports before."""
    assert piped({**env, "COLUMNS": "80"}, "session") == piped(env, "session")


@pytest.mark.parametrize("columns", [80, 100])
def test_a_terminal_gets_its_own_width(env: dict[str, str], columns: int) -> None:
    lines = on_terminal(env, columns, "session")
    assert widest(lines) <= columns
    assert any(SESSION in line for line in lines)  # the id is never folded


def test_a_wide_terminal_shows_the_columns_a_narrow_one_hides(env: dict[str, str]) -> None:
    narrow = "\n".join(on_terminal(env, 80, "daily"))
    wide = on_terminal(env, 200, "daily")
    assert "Cache" in "\n".join(wide) and "hidden" not in "\n".join(wide)
    assert "Cache" not in narrow and "hidden" in narrow


def test_compact_is_the_narrow_form_anywhere(env: dict[str, str]) -> None:
    lines = piped(env, "session", "--compact")
    assert widest(lines) <= 80
    assert any(SESSION in line for line in lines)
    assert any("hidden" in line for line in lines)
    assert widest(on_terminal(env, 200, "daily", "--compact")) <= 80
