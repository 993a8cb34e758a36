from __future__ import annotations

import os
import time
from pathlib import Path

import anyio
import pytest

from tests.tools.conftest import CallTool
from thrifty.tools.base import ToolContext
from thrifty.tools.bash import MAX_OUTPUT_CHARS, BashTool, OutputCollector

pytestmark = pytest.mark.anyio


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def wait_until_dead(pid: int, within: float = 3.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        await anyio.sleep(0.05)
    return False


async def test_echo(call: CallTool) -> None:
    result = await call("Bash", {"command": "echo hello"})
    assert not result.is_error
    assert result.content == "hello"


async def test_stdout_and_stderr_are_combined_in_order(call: CallTool) -> None:
    result = await call("Bash", {"command": "echo out1; echo err >&2; echo out2"})
    assert result.content == "out1\nerr\nout2"


async def test_no_output(call: CallTool) -> None:
    result = await call("Bash", {"command": "true"})
    assert not result.is_error
    assert result.content == "(no output)"


async def test_nonzero_exit_is_an_error_with_output(call: CallTool) -> None:
    result = await call("Bash", {"command": "echo partial; exit 3"})
    assert result.is_error
    assert "partial" in str(result.content)
    assert "Exit code 3" in str(result.content)


async def test_nonzero_exit_without_output(call: CallTool) -> None:
    result = await call("Bash", {"command": "exit 1"})
    assert result.is_error
    assert result.content == "Exit code 1"


async def test_death_by_signal_is_reported(call: CallTool) -> None:
    result = await call("Bash", {"command": "kill -9 $$"})
    assert result.is_error
    assert "signal 9" in str(result.content)


async def test_runs_in_ctx_cwd(call: CallTool, tmp_path: Path) -> None:
    (tmp_path / "marker.txt").write_text("here")
    result = await call("Bash", {"command": "pwd; cat marker.txt"})
    assert result.content == f"{tmp_path}\nhere"


async def test_uses_ctx_env_when_set(tmp_path: Path) -> None:
    ctx = ToolContext(cwd=tmp_path, env={"PATH": os.environ["PATH"], "THRIFTY_PROBE": "from-ctx"})
    os.environ["THRIFTY_OUTSIDE"] = "leak"
    try:
        result = await BashTool().run({"command": 'echo "$THRIFTY_PROBE:${THRIFTY_OUTSIDE:-unset}"'}, ctx)
    finally:
        del os.environ["THRIFTY_OUTSIDE"]
    assert result.content == "from-ctx:unset"


async def test_inherits_process_env_by_default(call: CallTool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THRIFTY_PROBE", "inherited")
    assert (await call("Bash", {"command": "echo $THRIFTY_PROBE"})).content == "inherited"


async def test_stdin_is_closed(call: CallTool) -> None:
    started = time.monotonic()
    result = await call("Bash", {"command": "cat; read line || echo eof", "timeout": 5000})
    assert result.content == "eof"
    assert time.monotonic() - started < 4


async def test_timeout_kills_the_command(call: CallTool) -> None:
    started = time.monotonic()
    result = await call("Bash", {"command": "echo started; sleep 10", "timeout": 500})
    assert time.monotonic() - started < 5
    assert result.is_error
    assert "Command timed out after 0.5s" in str(result.content)
    assert "started" in str(result.content)


async def test_timeout_kills_the_whole_process_group(call: CallTool, tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    result = await call("Bash", {"command": f"sleep 30 & echo $! > {pidfile}; wait", "timeout": 500})
    assert result.is_error
    assert "timed out" in str(result.content)
    assert await wait_until_dead(int(pidfile.read_text()))


async def test_background_children_do_not_hold_up_the_call(call: CallTool) -> None:
    started = time.monotonic()
    result = await call("Bash", {"command": "sleep 30 & echo $!", "timeout": 10_000})
    assert time.monotonic() - started < 5
    assert not result.is_error
    assert await wait_until_dead(int(str(result.content)))


async def test_long_output_keeps_head_and_tail(call: CallTool) -> None:
    result = await call("Bash", {"command": "seq 1 100000"})
    text = str(result.content)
    assert not result.is_error
    assert len(text) <= MAX_OUTPUT_CHARS + 100
    assert text.startswith("1\n2\n3\n")
    assert text.endswith("99999\n100000")
    assert "characters truncated" in text


async def test_huge_output_is_capped_while_streaming(call: CallTool) -> None:
    result = await call("Bash", {"command": "yes abcdefgh | head -c 20000000; echo; echo END"})
    text = str(result.content)
    assert len(text) <= MAX_OUTPUT_CHARS + 100
    assert text.startswith("abcdefgh\n")
    assert text.endswith("END")
    assert "characters truncated" in text


async def test_optional_fields_are_accepted(call: CallTool) -> None:
    result = await call(
        "Bash",
        {
            "command": "echo ok",
            "description": "Say ok",
            "run_in_background": False,
            "dangerouslyDisableSandbox": True,
            "timeout": 1000,
        },
    )
    assert result.content == "ok"


@pytest.mark.parametrize("timeout", [600_001, 0, -5])
async def test_timeout_out_of_range_is_a_validation_error(call: CallTool, timeout: int) -> None:
    result = await call("Bash", {"command": "true", "timeout": timeout})
    assert result.is_error
    assert "InputValidationError" in str(result.content)


async def test_missing_cwd_is_an_error_result(tmp_path: Path) -> None:
    ctx = ToolContext(cwd=tmp_path / "gone")
    result = await BashTool().run({"command": "true"}, ctx)
    assert result.is_error
    assert "Could not start bash" in str(result.content)


def test_collector_keeps_everything_when_small() -> None:
    c = OutputCollector(keep=10)
    for piece in (b"abc", b"def", b"ghi"):
        c.feed(piece)
    assert c.text() == "abcdefghi"
    assert c.dropped == 0


def test_collector_drops_the_middle() -> None:
    c = OutputCollector(keep=4)
    c.feed(b"0123456789")
    c.feed(b"abcdef")
    assert bytes(c.head) == b"0123"
    assert bytes(c.tail) == b"cdef"
    assert c.dropped == 8
    text = c.text(limit=6)
    assert text.startswith("012\n")
    assert text.endswith("\ndef")
    assert "[10 characters truncated]" in text


def test_collector_cuts_long_text_it_kept_whole() -> None:
    c = OutputCollector(keep=100)
    c.feed("é".encode() * 30)
    text = c.text(limit=10)
    assert text.startswith("ééééé\n")
    assert text.endswith("\nééééé")
    assert "[20 characters truncated]" in text


async def test_cancelling_the_call_kills_the_process_group(call: CallTool, tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    with anyio.move_on_after(0.5):
        await call("Bash", {"command": f"sleep 30 & echo $! > {pidfile}; wait"})
    assert await wait_until_dead(int(pidfile.read_text()))
