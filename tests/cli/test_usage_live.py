"""``thrifty usage blocks --live`` in a real terminal: a subprocess on a pseudo-terminal, a ledger
the test writes to while the view runs, and Ctrl-C (SIGINT) to end it.

No timings are asserted: the test waits (with a generous limit) for what must appear.
"""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.cli.test_usage_cli import Usage, make_row
from thrifty.billing.ledger import open_ledger

FRAME = "Ctrl-C to quit"
SHOW_CURSOR = "\x1b[?25h"


class Terminal:
    """A process whose stdin, stdout and stderr are a pseudo-terminal the test reads."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave)
        os.close(slave)
        self.output = ""

    def read_until(self, done: Callable[[str], bool], limit: float = 60.0) -> str:
        deadline = time.monotonic() + limit
        while not done(self.output):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out; output so far:\n{self.output[-3000:]}")
            ready, _, _ = select.select([self.master], [], [], min(left, 0.5))
            if ready and not self._read():
                break  # the other side closed
        return self.output

    def _read(self) -> bool:
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the process exited and the terminal closed
            return False
        self.output += chunk.decode("utf-8", errors="replace")
        return bool(chunk)

    def finish(self, limit: float = 30.0) -> int:
        """Wait for the exit while still reading the terminal: a view that has filled the pty's
        buffer blocks on its next write (its last frame, the cursor it restores) until read."""
        deadline = time.monotonic() + limit
        while self.proc.poll() is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(self.proc.args, limit, output=self.output[-3000:])
            ready, _, _ = select.select([self.master], [], [], min(left, 0.1))
            if ready:
                self._read()
        while self._read():
            pass
        return self.proc.returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


@pytest.fixture
def usage(tmp_path: Path) -> Usage:
    return Usage(tmp_path)


@pytest.fixture
def terminal(usage: Usage) -> Iterator[Callable[..., Terminal]]:
    opened: list[Terminal] = []

    def start(*args: str) -> Terminal:
        env = {**usage.base_env, "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "50"}
        term = Terminal([sys.executable, "-m", "thrifty", "usage", "blocks", *args], usage.project, env)
        opened.append(term)
        return term

    yield start
    for term in opened:
        term.close()


def frames_after(output: str, marker: str) -> int:
    return output[output.index(marker) :].count(FRAME) if marker in output else 0


def test_live_view_shows_a_new_call_and_ends_cleanly_on_ctrl_c(
    usage: Usage, terminal: Callable[..., Terminal]
) -> None:
    now = datetime.now(UTC)
    p = str(usage.project.resolve())
    usage.fill([make_row(1, (now - timedelta(minutes=40)).isoformat(), "api", "s", p, "claude-sonnet-4-5",
                         "1.25", 1000, 100)])  # fmt: skip
    term = terminal("--live", "--refresh", "0.2", "--timezone", "UTC")
    term.read_until(lambda out: "$1.25" in out and out.count(FRAME) >= 2)
    assert "Active api block" in term.output and "Time " in term.output

    ledger = open_ledger(str(usage.ledger))
    try:
        ledger.append(
            make_row(2, datetime.now(UTC).isoformat(), "api", "s", p, "claude-sonnet-4-5", "2.50", 10, 10)
        )
    finally:
        ledger.close()
    # The new call's cost is in the block's total on the refreshes that follow, not only one.
    term.read_until(lambda out: frames_after(out, "$3.75") >= 2)

    term.proc.send_signal(signal.SIGINT)
    assert term.finish() == 0
    assert "Traceback" not in term.output and "KeyboardInterrupt" not in term.output
    assert SHOW_CURSOR in term.output[-200:]  # rich's Live gave the cursor back on the way out


def test_live_view_without_an_active_block_waits_for_one(
    usage: Usage, terminal: Callable[..., Terminal]
) -> None:
    term = terminal("--live", "--refresh", "0.2")
    term.read_until(lambda out: out.count("No usage recorded yet; the next call starts a block.") >= 2)
    term.proc.send_signal(signal.SIGINT)
    assert term.finish() == 0 and "Traceback" not in term.output


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["blocks", "--live"], "--live needs a terminal to redraw in; to print the active block once"),
        (["blocks", "--live", "--json"], "--live redraws a terminal; for JSON use"),
        (["blocks", "--live", "--since", "7d"], "--live shows the active block only; --since does not apply"),
        (
            ["blocks", "--live", "--refresh", "0"],
            "--refresh: '0' is not a number of seconds from 0.1 to 3600",
        ),
        (["blocks", "--live", "--refresh", "soon"], "--refresh: 'soon' is not a number of seconds"),
        (["blocks", "--refresh", "5"], "--refresh goes with --live"),
        (["daily", "--live"], "--live goes with the blocks view"),
    ],
)
def test_live_refusals_are_one_line(usage: Usage, args: list[str], needle: str) -> None:
    run = usage(*args)  # stdout is a pipe here, not a terminal
    assert (run.code, run.stdout) == (1, "")
    (line,) = run.stderr.strip().splitlines()
    assert needle in line and "Traceback" not in run.stderr
