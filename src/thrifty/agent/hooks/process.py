"""Running one hook command to completion, whatever the command does.

A hook is user code: it may hang, ignore its stdin, or leave background children holding its
output pipes. The command leads its own process group so a timeout can kill everything it
started, and a straggler that outlives the hook cannot stall the agent for the whole timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DRAIN_GRACE_S = 2.0
"""How long output pipes may stay open after the hook exits (or is killed) before the group dies."""


_POLL_S = 0.05


@dataclass(frozen=True)
class ProcessRun:
    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool
    started_at: float
    finished_at: float


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL the process group; this works after the leader exited too, reaping stragglers."""
    if not hasattr(os, "killpg"):  # pragma: no cover - Windows
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _kill_tree(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    _kill_group(proc)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


def _text(task: asyncio.Future[Any]) -> str:
    if not task.done() or task.cancelled() or task.exception() is not None:
        return ""
    raw = task.result()
    return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else ""


async def run_shell(
    command: str, *, stdin: bytes, cwd: Path, env: Mapping[str, str], timeout: float, bash: str | None
) -> ProcessRun:
    """Run ``command`` under ``bash -c`` (or the system shell) and collect its output.

    Raises ``OSError`` only when the shell cannot be started at all. Cancelling the caller kills
    the command's process group before the cancellation propagates.
    """
    options: dict[str, Any] = {
        "stdin": asyncio.subprocess.PIPE,
        "stdout": asyncio.subprocess.PIPE,
        "stderr": asyncio.subprocess.PIPE,
        "cwd": cwd,
        "env": dict(env),
        "start_new_session": os.name == "posix",
    }
    started = time.monotonic()
    if bash is not None:
        proc = await asyncio.create_subprocess_exec(bash, "-c", command, **options)
    else:  # pragma: no cover - no bash on PATH
        proc = await asyncio.create_subprocess_shell(command, **options)

    async def feed() -> None:
        assert proc.stdin is not None
        # A hook that never reads stdin closes the pipe on exit; that is not an error.
        try:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                proc.stdin.write(stdin)
                await proc.stdin.drain()
        finally:
            proc.stdin.close()

    assert proc.stdout is not None and proc.stderr is not None
    exited = asyncio.ensure_future(proc.wait())
    io: list[asyncio.Future[Any]] = [
        asyncio.ensure_future(feed()),
        asyncio.ensure_future(proc.stdout.read()),
        asyncio.ensure_future(proc.stderr.read()),
    ]
    try:
        deadline = started + timeout
        # Before 3.12, wait() also waits for the pipes to close, so a background child holding
        # them would hide the hook's exit; returncode is set as soon as the hook itself exits.
        while not exited.done() and proc.returncode is None and time.monotonic() < deadline:
            await asyncio.wait([exited], timeout=min(_POLL_S, max(0.0, deadline - time.monotonic())))
        timed_out = not exited.done() and proc.returncode is None
        if timed_out:
            _kill_tree(proc)
            grace = DRAIN_GRACE_S
        else:
            grace = max(0.0, min(DRAIN_GRACE_S, started + timeout - time.monotonic()))
        _, pending = await asyncio.wait(io, timeout=grace)
        if pending:
            _kill_group(proc)
            _, pending = await asyncio.wait(pending, timeout=DRAIN_GRACE_S)
            for straggler in pending:
                straggler.cancel()
        if not exited.done():
            await asyncio.wait([exited], timeout=DRAIN_GRACE_S)
    except BaseException:
        _kill_tree(proc)
        for task in io:
            task.cancel()
        # Reap the killed hook before giving up the loop, so no zombie outlives the session.
        with contextlib.suppress(BaseException):
            await asyncio.wait([exited], timeout=DRAIN_GRACE_S)
        exited.cancel()
        raise
    return ProcessRun(
        exit_code=None if timed_out else proc.returncode,
        stdout=_text(io[1]),
        stderr=_text(io[2]),
        timed_out=timed_out,
        started_at=started,
        finished_at=time.monotonic(),
    )
