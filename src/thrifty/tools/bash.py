"""Bash: run one shell command and hand its output back.

Each command gets its own process group, so a timeout ends everything it started, not just the
shell; and output is capped while it streams in, so ``yes`` or a noisy build cannot exhaust
memory or the context window.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from typing import Annotated

from pydantic import Field

from thrifty.tools.base import Tool, ToolContext, ToolResult, error
from thrifty.tools.inputs import ToolInput

DEFAULT_TIMEOUT_MS = 120_000
MAX_TIMEOUT_MS = 600_000
#: A background command's limit (its default is the foreground maximum), as in Claude Code.
MAX_BACKGROUND_TIMEOUT_MS = 7_200_000
MAX_OUTPUT_CHARS = 30_000
# Bytes kept from each end of the stream; generous enough for MAX_OUTPUT_CHARS of UTF-8 text.
_KEEP_BYTES = MAX_OUTPUT_CHARS * 2
# How long to keep reading after the shell exits, for output still in flight from its children.
_DRAIN_SECONDS = 0.25


class BashInput(ToolInput):
    command: str = Field(description="The command to execute")
    timeout: Annotated[float, Field(gt=0, le=MAX_BACKGROUND_TIMEOUT_MS)] | None = Field(
        None,
        description=f"Optional timeout in milliseconds (max {MAX_TIMEOUT_MS} for a foreground command; "
        f"a background command may run up to {MAX_BACKGROUND_TIMEOUT_MS}, default {MAX_TIMEOUT_MS})",
    )
    description: str | None = Field(
        None, description="Clear, concise description of what this command does in 5-10 words"
    )
    run_in_background: bool | None = Field(
        None,
        description="Run the command in the background (no `&` needed); TaskOutput reads its new "
        "output, TaskStop stops it.",
    )
    dangerouslyDisableSandbox: bool | None = Field(
        None, description="Accepted for compatibility; has no effect."
    )


class OutputCollector:
    """Keeps the head and the tail of a byte stream and counts what fell out of the middle."""

    def __init__(self, keep: int = _KEEP_BYTES) -> None:
        self.keep = keep
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def feed(self, chunk: bytes) -> None:
        room = self.keep - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        self.tail += chunk
        excess = len(self.tail) - self.keep
        if excess > 0:
            del self.tail[:excess]
            self.dropped += excess

    def text(self, limit: int = MAX_OUTPUT_CHARS) -> str:
        """The output, with the middle cut out when it is longer than ``limit`` characters."""
        half = limit // 2
        if not self.dropped:
            whole = bytes(self.head + self.tail).decode("utf-8", errors="replace")
            if len(whole) <= limit:
                return whole
            head, tail = whole[:half], whole[-half:]
            omitted = len(whole) - 2 * half
        else:
            # The middle never reached memory; count its bytes as characters, near enough.
            head = self.head.decode("utf-8", errors="replace")
            tail = self.tail.decode("utf-8", errors="replace")
            omitted = max(0, len(head) - half) + max(0, len(tail) - half) + self.dropped
            head, tail = head[:half], tail[-half:]
        return f"{head}\n\n... [{omitted} characters truncated] ...\n\n{tail}"


class _ShellProtocol(asyncio.SubprocessProtocol):
    """Feeds output to a collector, and reports the shell's exit apart from its pipe closing.

    asyncio's own ``Process.wait`` waits for the pipes as well, so a background child holding
    stdout open would make a finished command look as if it were still running.
    """

    def __init__(self, collector: OutputCollector) -> None:
        self.collector = collector
        self.exited = asyncio.Event()
        self.output_closed = asyncio.Event()

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self.collector.feed(data)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self.output_closed.set()

    def process_exited(self) -> None:
        self.exited.set()


async def _wait(event: asyncio.Event, timeout: float) -> bool:
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        return False
    return True


async def _await_exit_despite_cancel(exited: asyncio.Event, limit: float = 1.0) -> None:
    """Let the killed shell be reaped before the cancellation goes on.

    Unreaped, it would leave a zombie and a "subprocess is still running" warning if the loop
    closes next. Cancellation may be re-delivered at every await (anyio does so), hence the loop.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not exited.is_set() and loop.time() < deadline:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0.01)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


class BashTool(Tool):
    name = "Bash"
    description = (
        "Executes a bash command and returns its combined stdout and stderr. The working "
        "directory is the project directory; `cd` does not persist between calls, so prefer "
        "absolute paths. Default timeout 2 minutes (max 10, via timeout in ms). Output over "
        f"{MAX_OUTPUT_CHARS} characters is cut in the middle. stdin is closed, so interactive "
        "commands fail; pass flags such as -y. Processes left running when the command ends are "
        "stopped unless run_in_background is set. Prefer Read, Edit, Write, Glob and Grep over cat, "
        "sed, echo, find and grep."
    )
    input_model = BashInput
    #: The paths a command touches come from parsing it (``agent/bash/permissions.py``).
    path_keys = ()
    primary_field = "command"

    async def call(self, params: BashInput, ctx: ToolContext) -> ToolResult:
        if params.run_in_background:
            return await _start_background(params, ctx)
        if params.timeout is not None and params.timeout > MAX_TIMEOUT_MS:
            return error(
                f"InputValidationError: Bash failed due to: timeout: at most {MAX_TIMEOUT_MS} ms for a "
                "foreground command; use run_in_background for a longer one"
            )
        timeout_s = (params.timeout or DEFAULT_TIMEOUT_MS) / 1000
        collector = OutputCollector()
        loop = asyncio.get_running_loop()
        try:
            transport, shell = await loop.subprocess_exec(
                lambda: _ShellProtocol(collector),
                "bash",
                "-c",
                params.command,
                cwd=ctx.cwd,
                env=ctx.env if ctx.env is not None else os.environ.copy(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            return error(f"Could not start bash: {exc}")
        pid = transport.get_pid()
        timed_out = False
        try:
            if not await _wait(shell.exited, timeout_s):
                timed_out = True
                _kill_group(pid)
                await shell.exited.wait()
            # Output still in flight after the shell exits comes from its children; give it a
            # moment, then end whatever of the command is left so nothing outlives the call.
            if not await _wait(shell.output_closed, _DRAIN_SECONDS):
                _kill_group(pid)
                await _wait(shell.output_closed, 1.0)
        except asyncio.CancelledError:
            _kill_group(pid)
            await _await_exit_despite_cancel(shell.exited)
            raise
        finally:
            transport.close()
        output = collector.text().rstrip("\n")
        if timed_out:
            return error(f"{output}\nCommand timed out after {timeout_s:g}s".lstrip("\n"))
        code = transport.get_returncode()
        if code is not None and code < 0:
            return error(f"{output}\nCommand was killed by signal {-code}".lstrip("\n"))
        if code:
            return error(f"{output}\nExit code {code}".lstrip("\n"))
        return ToolResult(output or "(no output)")


async def _start_background(params: BashInput, ctx: ToolContext) -> ToolResult:
    from thrifty.tools.bash_background import shells  # only a background command pays for it

    try:
        shell = await shells(ctx).start(
            params.command,
            cwd=ctx.cwd,
            env=ctx.env,
            timeout_s=(params.timeout or MAX_TIMEOUT_MS) / 1000,
            description=params.description,
        )
    except OSError as exc:
        return error(f"Could not start bash: {exc}")
    return ToolResult(
        f"Command running in background with ID: {shell.id}. Output is being written to: "
        f"{shell.output_path}. Use TaskOutput with this ID to read new output and its status, "
        "or Read on that file path; TaskStop stops it."
    )
