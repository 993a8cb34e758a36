"""Background shells: Bash with ``run_in_background``, read with TaskOutput, ended with TaskStop.

Each session keeps its own registry (on its ``ToolContext``). A background command runs in its own
process group, like a foreground one, and its combined output goes to a file (so Read can show it
too, as in Claude Code) up to a cap. TaskOutput hands back only what was written since the last
read, with the status; TaskStop kills the whole group. When the session closes, every shell it
started is killed, and a process that exits without closing its sessions kills them at exit, so
nothing is orphaned.

Each shell's start and end are also Claude Code's ``system/task_started``, ``task_updated`` and
``task_notification`` frames (``TaskEvent``): the registry notes them as they happen and the
loop takes them with ``drain`` after each tool call, so a session that never starts a shell does
no work for them.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal

from thrifty.core.events import TaskEvent

if TYPE_CHECKING:
    from thrifty.tools.base import ToolContext

#: Output kept on disk per shell; what comes after is counted and dropped.
MAX_OUTPUT_FILE_BYTES = 16 * 1024 * 1024
#: Characters one TaskOutput hands back; a longer stretch of new output is cut in the middle.
MAX_READ_CHARS = 30_000
DEFAULT_TIMEOUT_MS = 600_000
MAX_TIMEOUT_MS = 7_200_000

Status = Literal["running", "completed", "failed", "killed"]
_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


class _Protocol(asyncio.SubprocessProtocol):
    """Appends the output to the shell's file (flushed, so a Read sees it at once), up to the cap."""

    def __init__(self, sink: IO[bytes]) -> None:
        self.sink = sink
        self.written = 0
        self.dropped = 0
        self.exited = asyncio.Event()
        self.output_closed = asyncio.Event()
        #: When the shell exited (``time.time()``), for the ``task_*`` frames.
        self.exited_at: float | None = None

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        room = MAX_OUTPUT_FILE_BYTES - self.written
        if room < len(data):
            self.dropped += len(data) - max(room, 0)
            data = data[: max(room, 0)]
        if data and not self.sink.closed:
            self.sink.write(data)
            self.sink.flush()
            self.written += len(data)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self.output_closed.set()

    def process_exited(self) -> None:
        self.exited_at = time.time()
        self.exited.set()


@dataclass(eq=False)
class BackgroundShell:
    id: str
    command: str
    description: str | None
    output_path: Path
    pid: int
    transport: asyncio.SubprocessTransport
    protocol: _Protocol
    timeout_s: float
    read_offset: int = 0
    stopped: bool = False
    timed_out: bool = False
    #: The Bash call that started it, once ``drain`` has announced it (``task_started``).
    tool_use_id: str | None = None
    started_at: float = field(default_factory=time.time)
    #: Whether its ``task_notification`` went out.
    notified: bool = False
    _timer: asyncio.TimerHandle | None = field(default=None, repr=False)

    @property
    def exit_code(self) -> int | None:
        return self.transport.get_returncode() if self.protocol.exited.is_set() else None

    @property
    def status(self) -> Status:
        if not self.protocol.exited.is_set():
            return "running"
        if self.stopped or self.timed_out:
            return "killed"
        return "completed" if self.exit_code == 0 else "failed"

    def kill(self) -> None:
        _kill_group(self.pid)

    def read_new(self) -> str:
        """The output written since the last read (cut in the middle when long), and move past it."""
        try:
            with self.output_path.open("rb") as handle:
                handle.seek(self.read_offset)
                data = handle.read()
        except OSError:
            data = b""
        self.read_offset += len(data)
        text = data.decode("utf-8", errors="replace")
        if len(text) > MAX_READ_CHARS:
            half = MAX_READ_CHARS // 2
            text = f"{text[:half]}\n\n... [{len(text) - 2 * half} characters truncated] ...\n\n{text[-half:]}"
        return text


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


#: Every live shell of this process, for the exit handler (sessions should close them first).
_LIVE: weakref.WeakSet[BackgroundShell] = weakref.WeakSet()


@atexit.register
def _kill_leftovers() -> None:
    for shell in list(_LIVE):
        if shell.transport.get_returncode() is None:
            shell.kill()


def _new_id() -> str:
    return "b" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))


class BackgroundShells:
    """One session's background shells, by id."""

    def __init__(self) -> None:
        self.shells: dict[str, BackgroundShell] = {}
        self._dir: Path | None = None
        self._sinks: list[IO[bytes]] = []
        self._reapers: set[asyncio.Task[None]] = set()

    def _output_dir(self) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="thrifty-tasks-"))
        return self._dir

    async def start(
        self,
        command: str,
        *,
        cwd: Path,
        env: dict[str, str] | None,
        timeout_s: float,
        description: str | None,
    ) -> BackgroundShell:
        shell_id = _new_id()
        while shell_id in self.shells:
            shell_id = _new_id()
        path = self._output_dir() / f"{shell_id}.output"
        sink = path.open("wb")
        self._sinks.append(sink)
        loop = asyncio.get_running_loop()
        try:
            transport, protocol = await loop.subprocess_exec(
                lambda: _Protocol(sink),
                "bash",
                "-c",
                command,
                cwd=cwd,
                env=env if env is not None else os.environ.copy(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError:
            sink.close()
            raise
        shell = BackgroundShell(
            id=shell_id,
            command=command,
            description=description,
            output_path=path,
            pid=transport.get_pid(),
            transport=transport,
            protocol=protocol,
            timeout_s=timeout_s,
        )
        shell._timer = loop.call_later(timeout_s, self._time_out, shell)
        self.shells[shell_id] = shell
        _LIVE.add(shell)
        self._reapers.add(loop.create_task(self._reap(shell)))
        return shell

    def _time_out(self, shell: BackgroundShell) -> None:
        if not shell.protocol.exited.is_set():
            shell.timed_out = True
            shell.kill()

    async def _reap(self, shell: BackgroundShell) -> None:
        """When the shell exits, give its children's last output a moment, then end what is left."""
        await shell.protocol.exited.wait()
        if shell._timer is not None:
            shell._timer.cancel()
        try:
            await asyncio.wait_for(shell.protocol.output_closed.wait(), 0.25)
        except TimeoutError:
            shell.kill()
        shell.transport.close()

    def drain(self, session_id: str, call_id: str | None) -> list[TaskEvent]:
        """The ``task_*`` events since the last drain: ``task_started`` for each shell started
        since (by the call ``call_id``, the tool call that just ran), then ``task_updated`` and
        ``task_notification`` for each that has ended since; Claude Code's shapes and wording."""
        out: list[TaskEvent] = []
        for shell in self.shells.values():
            if shell.tool_use_id is None:
                shell.tool_use_id = call_id or ""
                fields = {
                    "tool_use_id": shell.tool_use_id,
                    "description": shell.description or shell.command,
                    "is_backgrounded": True,
                    "task_type": "local_bash",
                }
                out.append(TaskEvent(session_id, "task_started", shell.id, fields))
            if shell.notified or shell.protocol.exited_at is None:
                continue
            shell.notified = True
            out.extend(_ended(session_id, shell, shell.protocol.exited_at))
        return out

    def get(self, shell_id: str) -> BackgroundShell | None:
        return self.shells.get(shell_id)

    async def wait(self, shell: BackgroundShell, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the shell to exit; whether it has."""
        try:
            await asyncio.wait_for(shell.protocol.exited.wait(), timeout_s)
        except TimeoutError:
            return False
        with contextlib.suppress(TimeoutError):  # its last output, so a read right after sees it
            await asyncio.wait_for(shell.protocol.output_closed.wait(), 0.3)
        return True

    async def stop(self, shell: BackgroundShell) -> None:
        shell.stopped = True
        shell.kill()
        await self.wait(shell, 2.0)

    async def close(self) -> None:
        """Kill every shell still running, reap them, and remove the output files."""
        for shell in self.shells.values():
            if shell._timer is not None:
                shell._timer.cancel()
            if not shell.protocol.exited.is_set():
                shell.stopped = True
            if not shell.protocol.output_closed.is_set():  # the shell or a child of it is still there
                shell.kill()
        for shell in self.shells.values():
            await self.wait(shell, 2.0)
            shell.transport.close()
        await asyncio.gather(*self._reapers, return_exceptions=True)
        for sink in self._sinks:
            sink.close()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)


def _ended(session_id: str, shell: BackgroundShell, ended_at: float) -> list[TaskEvent]:
    """``task_updated`` (the raw status: ``killed``) and ``task_notification`` (``stopped``)."""
    status = shell.status
    label = shell.description or shell.command
    if status == "killed":
        notified, summary = "stopped", label
    elif status == "completed":
        notified, summary = "completed", f'Background command "{label}" completed (exit code 0)'
    else:
        notified = "failed"
        summary = f'Background command "{label}" failed with exit code {shell.exit_code}'
    patch = {"status": status, "end_time": int(ended_at * 1000)}
    fields = {
        "tool_use_id": shell.tool_use_id,
        "status": notified,
        "output_file": str(shell.output_path),
        "summary": summary,
        "duration_ms": int((ended_at - shell.started_at) * 1000),
    }
    return [
        TaskEvent(session_id, "task_updated", shell.id, {"patch": patch}),
        TaskEvent(session_id, "task_notification", shell.id, fields),
    ]


def shells(ctx: ToolContext) -> BackgroundShells:
    """The session's registry, made on first use."""
    if ctx.background is None:
        ctx.background = BackgroundShells()
    registry: BackgroundShells = ctx.background
    return registry
