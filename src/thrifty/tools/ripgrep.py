"""Running ripgrep for Grep and Glob: finding the binary, and one bounded, cancellable run.

Claude Code's search tools run ``rg``, so what they skip is what ripgrep skips: ``.gitignore``
(only inside a git repository), ``.ignore``, ``.rgignore``, ``.git/info/exclude``, binary files.
Reimplementing those rules in Python was both slower and wrong in the cases that matter (a
``.venv`` flooding the results), so the rules are left to ripgrep and thrifty only shapes output.

The binary comes from the ``ripgrep`` wheel, a runtime dependency, found through the
distribution's file list so it works from a venv that is not activated and from a ``--user``
install; ``rg`` on PATH is the fallback for installs that removed the wheel.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib.metadata
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

#: Version-control metadata: never what the model is looking for, and often huge (Claude Code's list).
VCS_DIRS = (".git", ".svn", ".hg", ".bzr", ".jj", ".sl")
#: Arguments every run shares. ``--no-config`` keeps a user's RIPGREP_CONFIG_PATH (``--json``,
#: ``--heading``, colours) from changing the output we parse; ``--null`` ends each path with NUL,
#: so a path holding ``:`` or a newline still parses; ``--hidden`` searches dotfiles, as Claude
#: Code does, with the VCS directories excluded instead.
BASE_ARGS = ("--no-config", "--null", "--hidden", *(arg for d in VCS_DIRS for arg in ("--glob", f"!{d}")))
#: Most ripgrep output read per call (Claude Code's buffer size); past it rg is stopped.
MAX_OUTPUT_BYTES = 20_000_000
_MAX_STDERR_BYTES = 64_000
_CHUNK = 1 << 16

MISSING = (
    "ripgrep (rg) was not found, and Grep and Glob need it: "
    "run `pip install ripgrep` in thrifty's environment, or put rg on PATH."
)


@dataclass(frozen=True)
class RgOutput:
    stdout: bytes
    stderr: str
    returncode: int
    #: True when rg was stopped at ``MAX_OUTPUT_BYTES``: the output is a part of the answer.
    truncated: bool


@functools.cache
def rg_binary() -> str | None:
    """The ``rg`` to run, or None when neither the wheel nor PATH has one; looked up once."""
    return _from_distribution() or shutil.which("rg")


def _from_distribution() -> str | None:
    try:
        dist = importlib.metadata.distribution("ripgrep")
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in dist.files or ():
        if file.name in ("rg", "rg.exe"):
            path = Path(str(dist.locate_file(file))).resolve()
            if path.is_file() and os.access(path, os.X_OK):
                return str(path)
    return None


async def run_rg(
    args: Sequence[str], cwd: Path, env: Mapping[str, str] | None, limit: int = MAX_OUTPUT_BYTES
) -> RgOutput | str:
    """Run ``rg`` with ``BASE_ARGS`` first; a string is the one-line error to show instead.

    rg gets its own process group, so a cancelled tool call ends it and anything it started
    (``--pre`` helpers), rather than leaving a search running after nobody is waiting for it.
    """
    binary = rg_binary()
    if binary is None:
        return MISSING
    try:
        proc = await asyncio.create_subprocess_exec(
            binary,
            *BASE_ARGS,
            *args,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        return f"Could not run ripgrep ({binary}): {exc}"
    assert proc.stdout is not None and proc.stderr is not None
    stderr_task = asyncio.ensure_future(_drain(proc.stderr, _MAX_STDERR_BYTES))
    try:
        stdout, truncated = await _read_up_to(proc.stdout, limit)
        if truncated:
            _kill(proc)
        stderr = await stderr_task
        returncode = await proc.wait()
    except BaseException:
        _kill(proc)
        stderr_task.cancel()
        await _reap(proc)
        raise
    return RgOutput(stdout, stderr.decode("utf-8", errors="replace"), returncode, truncated)


async def _read_up_to(stream: asyncio.StreamReader, limit: int) -> tuple[bytes, bool]:
    data = bytearray()
    while chunk := await stream.read(_CHUNK):
        data += chunk
        if len(data) > limit:
            return bytes(data[:limit]), True
    return bytes(data), False


async def _drain(stream: asyncio.StreamReader, keep: int) -> bytes:
    """Read to the end, keeping the start: a full stderr pipe would stall rg mid-search."""
    data = bytearray()
    while chunk := await stream.read(_CHUNK):
        data += chunk[: max(0, keep - len(data))]
    return bytes(data)


def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows has no process groups to signal
            proc.kill()


async def _reap(proc: asyncio.subprocess.Process, limit: float = 1.0) -> None:
    """Wait for the killed rg to exit, so no zombie is left, even if cancelled again meanwhile."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while proc.returncode is None and loop.time() < deadline:
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(asyncio.shield(proc.wait()), max(0.0, deadline - loop.time()))


_PATH_MESSAGE = re.compile(r"(/|[A-Za-z]:[\\/]|\\\\)")


def refusal(output: RgOutput) -> str | None:
    """Why rg refused to search (bad regex, glob or type) on one line, or None if it searched.

    rg exits 2 both for a refusal and for a search that met an unreadable file; the latter's
    messages name an absolute path (we pass only absolute paths) and are not worth failing for.
    """
    if output.returncode != 2 or output.truncated:
        return None
    lines = [line.removeprefix("rg: ").strip() for line in output.stderr.splitlines()]
    causes = [line for line in lines if line and not _PATH_MESSAGE.match(line)]
    if not causes:
        return None
    if causes[0].startswith("regex parse error"):
        detail = next((line for line in causes if line.startswith("error:")), "")
        return f"regex parse error: {detail.removeprefix('error:').strip()}".rstrip(": ")
    return causes[0]


def env_flag(env: Mapping[str, str] | None, name: str, default: bool) -> bool:
    """A boolean environment setting read the way Claude Code reads its ``CLAUDE_CODE_*`` ones."""
    value = (env if env is not None else os.environ).get(name, "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    return default
