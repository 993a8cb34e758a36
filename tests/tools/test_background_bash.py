"""Bash with run_in_background, TaskOutput and TaskStop: incremental output, stopping, no orphans."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import thrifty
from tests.tools.conftest import CallTool
from thrifty.testing import Simulator
from thrifty.tools import bash_background
from thrifty.tools.base import ToolContext

pytestmark = pytest.mark.anyio


@pytest.fixture
async def bg_ctx(ctx: ToolContext) -> AsyncIterator[ToolContext]:
    yield ctx
    await ctx.aclose()


def task_id(result: Any) -> str:
    match = re.match(r"Command running in background with ID: (b[a-z0-9]{8})\. ", str(result.content))
    assert match, result.content
    return match.group(1)


def fields(result: Any) -> dict[str, str]:
    return dict(re.findall(r"<(\w+)>\n?(.*?)\n?</\1>", str(result.content), re.S))


def alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def wait_dead(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        await asyncio.sleep(0.05)
    return False


async def read_pid(path: Path) -> int:
    for _ in range(200):
        if path.exists() and path.read_text().strip():
            return int(path.read_text())
        await asyncio.sleep(0.02)
    raise AssertionError("the command never wrote its pid")


async def test_output_is_read_incrementally_until_it_completes(
    call: CallTool, bg_ctx: ToolContext, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    script = f"echo one; while [ ! -e {gate} ]; do sleep 0.02; done; echo two; echo three"
    started = await call("Bash", {"command": script, "run_in_background": True, "description": "count"})
    assert not started.is_error
    shell_id = task_id(started)
    assert "TaskOutput" in str(started.content) and "TaskStop" in str(started.content)

    for _ in range(100):  # the first line, while it waits
        first = fields(await call("TaskOutput", {"task_id": shell_id, "block": False}))
        if first["output"] != "(no new output)":
            break
        await asyncio.sleep(0.02)
    assert first == {
        "retrieval_status": "not_ready",
        "task_id": shell_id,
        "task_type": "local_bash",
        "status": "running",
        "output": "one",
    }
    again = fields(await call("TaskOutput", {"task_id": shell_id, "block": False}))
    assert again["output"] == "(no new output)"  # only what is new since the last read

    gate.touch()
    done = fields(await call("TaskOutput", {"task_id": shell_id, "timeout": 5000}))
    assert done["retrieval_status"] == "success" and done["status"] == "completed"
    assert done["exit_code"] == "0" and done["output"] == "two\nthree"
    # The whole output is also in the file the start message names, for Read.
    path = re.search(r"written to: (\S+)\. ", str(started.content))
    assert path is not None and Path(path.group(1)).read_text() == "one\ntwo\nthree\n"


async def test_a_failing_command_reports_its_exit_code_and_blocking_times_out(
    call: CallTool, bg_ctx: ToolContext
) -> None:
    failed = task_id(await call("Bash", {"command": "echo oops >&2; exit 3", "run_in_background": True}))
    result = fields(await call("TaskOutput", {"task_id": failed, "timeout": 5000}))
    assert (result["status"], result["exit_code"], result["output"]) == ("failed", "3", "oops")
    slow = task_id(await call("Bash", {"command": "sleep 5", "run_in_background": True}))
    waited = fields(await call("TaskOutput", {"task_id": slow, "block": True, "timeout": 100}))
    assert waited["retrieval_status"] == "timeout" and waited["status"] == "running"


async def test_stop_kills_the_whole_process_group(
    call: CallTool, bg_ctx: ToolContext, tmp_path: Path
) -> None:
    pidfile = tmp_path / "child.pid"
    shell_id = task_id(
        await call("Bash", {"command": f"sleep 60 & echo $! > {pidfile}; wait", "run_in_background": True})
    )
    child = await read_pid(pidfile)
    assert alive(child)
    stopped = await call("TaskStop", {"task_id": shell_id})
    assert not stopped.is_error
    assert json.loads(str(stopped.content)) == {
        "message": f"Successfully stopped task: {shell_id} (sleep 60 & echo $! > {pidfile}; wait)",
        "task_id": shell_id,
        "task_type": "local_bash",
        "command": f"sleep 60 & echo $! > {pidfile}; wait",
    }
    assert await wait_dead(child)
    status = fields(await call("TaskOutput", {"task_id": shell_id, "block": False}))
    assert status["status"] == "killed"
    again = await call("TaskStop", {"shell_id": shell_id})  # the deprecated name still works
    assert again.is_error and again.content == f"Task {shell_id} is not running (status: killed)."


async def test_unknown_ids_and_missing_ids_are_one_line_errors(call: CallTool, bg_ctx: ToolContext) -> None:
    assert (await call("TaskOutput", {"task_id": "nope"})).content == "No task found with ID: nope"
    assert (await call("TaskStop", {"task_id": "nope"})).content == "No task found with ID: nope"
    assert (await call("TaskStop", {})).content == "Missing required parameter: task_id"


async def test_the_timeout_stops_a_background_command(call: CallTool, bg_ctx: ToolContext) -> None:
    shell_id = task_id(await call("Bash", {"command": "sleep 30", "run_in_background": True, "timeout": 200}))
    result = fields(await call("TaskOutput", {"task_id": shell_id, "timeout": 5000}))
    assert result["status"] == "killed" and "timeout of 0.2s" in result["note"]
    foreground = await call("Bash", {"command": "true", "timeout": 600_001})
    assert foreground.is_error and "use run_in_background" in str(foreground.content)
    assert not (
        await call("Bash", {"command": "true", "timeout": 700_000, "run_in_background": True})
    ).is_error


async def test_output_is_capped_on_disk_and_per_read(
    call: CallTool, bg_ctx: ToolContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bash_background, "MAX_OUTPUT_FILE_BYTES", 100_000)
    shell_id = task_id(
        await call("Bash", {"command": "yes abcdefgh | head -c 1000000", "run_in_background": True})
    )
    result = await call("TaskOutput", {"task_id": shell_id, "timeout": 5000})
    shell = bash_background.shells(bg_ctx).get(shell_id)
    assert shell is not None and shell.output_path.stat().st_size == 100_000
    assert shell.protocol.dropped == 900_000
    assert len(str(result.content)) < bash_background.MAX_READ_CHARS + 500
    assert "characters truncated" in str(result.content)


async def test_closing_the_context_kills_every_shell_and_removes_the_files(
    call: CallTool, ctx: ToolContext, tmp_path: Path
) -> None:
    pidfile = tmp_path / "child.pid"
    await call("Bash", {"command": f"sleep 60 & echo $! > {pidfile}; wait", "run_in_background": True})
    child = await read_pid(pidfile)
    registry = bash_background.shells(ctx)
    directory = registry._output_dir()
    await ctx.aclose()
    assert await wait_dead(child)
    assert not directory.exists()


# -- end to end: sessions, permissions ----------------------------------------------------------


def _run(sim: Simulator, cwd: Path, **options: Any) -> thrifty.Result:
    env = {"ANTHROPIC_API_KEY": sim.api_key, "ANTHROPIC_BASE_URL": sim.base_url}
    opts = thrifty.Options(cwd=cwd, env=env, model="claude-sonnet-4-6", **options)
    results = [
        m for m in thrifty.query_sync("run it in the background", opts) if isinstance(m, thrifty.Result)
    ]
    assert len(results) == 1
    return results[0]


def test_a_session_that_ends_kills_its_background_shells(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    command = f"sleep 60 & echo $! > {pidfile}; wait"
    script = [
        {"tool_use": {"name": "Bash", "input": {"command": command, "run_in_background": True}}},
        {
            "tool_use": {
                "name": "Bash",
                "input": {"command": f"while [ ! -s {pidfile} ]; do sleep 0.02; done"},
            }
        },
        {"text": "left it running"},
    ]
    with Simulator(script) as sim:
        result = _run(sim, tmp_path, allowed_tools=["Bash"])
        tools = [t["name"] for t in sim.message_requests()[0].body["tools"]]
        first_result = sim.message_requests()[1].body["messages"][-1]["content"][0]
    assert result.subtype == "success"
    assert {"TaskOutput", "TaskStop"} <= set(tools)
    assert str(first_result["content"]).startswith("Command running in background with ID: b")
    child = int(pidfile.read_text())
    assert asyncio.run(wait_dead(child))  # the session closed: nothing is orphaned


def test_background_commands_go_through_the_bash_permission_checks(tmp_path: Path) -> None:
    marker = tmp_path / "made"
    start = {"tool_use": {"name": "Bash", "input": {"command": f"touch {marker}", "run_in_background": True}}}
    with Simulator([start, {"text": "denied"}]) as sim:
        asked = _run(sim, tmp_path)  # no rule: Bash would have to ask, and headless cannot
        sim.set_script([start, {"text": "denied"}])
        ruled = _run(sim, tmp_path, allowed_tools=["Bash"], disallowed_tools=["Bash(touch:*)"])
        sim.set_script([start, {"text": "denied"}])
        flagged = _run(
            sim, tmp_path, allowed_tools=["Bash"], disallowed_tools=["Bash(run_in_background:true)"]
        )
    for result in (asked, ruled, flagged):
        assert [d["tool_name"] for d in result.permission_denials] == ["Bash"]
    time.sleep(0.2)
    assert not marker.exists()
