"""``system/task_*`` frames around a subagent and a background Bash command, in API runs.

Claude Code 2.1.337 tells a stream-json reader when a task starts, makes progress, changes state
and ends (``task_started``, ``task_progress``, ``task_updated``, ``task_notification``), and the
official SDK turns them into its ``Task*Message`` classes; tools that track what an agent is
doing read those. thrifty builds the same frames from its one event stream (``TaskEvent``), so
they must appear in stream-json in Claude Code's order relative to the tool call and its result,
parse in the official SDK, come out of ``thrifty.query``, and stay out of ``text`` and ``json``.
The side-by-side tests hold the sequence of subtypes and statuses to the real ``claude``'s.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import thrifty
from tests.sdk.feature_scripts import delegating
from tests.sdk.test_side_by_side_features import environ
from thrifty.testing import Simulator
from thrifty.tools import bash_background
from thrifty.tools.base import ToolContext
from thrifty.tools.registry import BUILTIN_TOOLS

MODEL = "claude-sonnet-5-5"
AGENTS = {"helper": {"description": "Helps", "prompt": "You help.", "tools": ["Bash"]}}
#: The subagent runs one command, then reports.
SUBAGENT = delegating(
    [{"tool_use": {"name": "Bash", "input": {"command": "echo one"}}}, {"text": "sub done"}]
)
AGENT_ARGS = ["-p", "hi", "--agents", json.dumps(AGENTS), "--allowedTools", "Bash"]
TASK_SUBTYPES = ("task_started", "task_progress", "task_updated", "task_notification")
USAGE_KEYS = {"total_tokens", "tool_uses", "duration_ms"}


def stopping_a_background_command(request: Any) -> dict[str, Any]:
    """Start ``sleep 30`` in the background, stop it with TaskStop, then answer."""
    messages = json.dumps(request.body["messages"])
    if "Successfully stopped task" in messages:
        return {"text": "stopped it"}
    started = re.search(r"running in background with ID: (\w+)", messages)
    if started:
        return {"tool_use": {"name": "TaskStop", "input": {"task_id": started.group(1)}}}
    return {"tool_use": {"name": "Bash", "input": {"command": "sleep 30", "run_in_background": True}}}


STOP_ARGS = ["-p", "go", "--allowedTools", "Bash,TaskStop"]


def thrifty_cli(tmp_path: Path, script: Any, args: list[str], fmt: str, *extra: str) -> str:
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir(parents=True)
    home.mkdir()
    with Simulator(script) as sim:
        done = subprocess.run(
            [sys.executable, "-m", "thrifty", *args, "--output-format", fmt, "--model", MODEL, *extra],
            cwd=project,
            env=environ(sim, home),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    return done.stdout


def stream(tmp_path: Path, script: Any, args: list[str]) -> list[dict[str, Any]]:
    out = thrifty_cli(tmp_path, script, args, "stream-json", "--verbose")
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def is_task(frame: dict[str, Any]) -> bool:
    return frame.get("type") == "system" and frame.get("subtype") in TASK_SUBTYPES


def position(frames: list[dict[str, Any]], test: Any) -> int:
    (found,) = [i for i, f in enumerate(frames) if test(f)]
    return found


def tool_use(frame: dict[str, Any], name: str) -> bool:
    return frame.get("type") == "assistant" and any(
        b.get("type") == "tool_use" and b.get("name") == name for b in frame["message"]["content"]
    )


def tool_result_for(frame: dict[str, Any], call_id: str) -> bool:
    content = frame.get("message", {}).get("content") if frame.get("type") == "user" else None
    return isinstance(content, list) and any(b.get("tool_use_id") == call_id for b in content)


def call_id_of(frames: list[dict[str, Any]], name: str) -> str:
    (frame,) = [f for f in frames if tool_use(f, name) and f.get("parent_tool_use_id") is None]
    return str(frame["message"]["content"][0]["id"])


def sequence(frames: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """Each task frame's subtype and status (a notification's, or the task_updated patch's)."""
    return [(f["subtype"], f.get("status") or f.get("patch", {}).get("status")) for f in frames if is_task(f)]


# -- thrifty -p ----------------------------------------------------------------------------------


def test_a_subagent_is_framed_by_task_frames_in_stream_json(tmp_path: Path) -> None:
    frames = stream(tmp_path, SUBAGENT, AGENT_ARGS)
    call = call_id_of(frames, "Agent")
    tasks = [f for f in frames if is_task(f)]
    assert sequence(frames) == [
        ("task_started", None),
        ("task_progress", None),
        ("task_updated", "completed"),
        ("task_notification", "completed"),
    ]
    started, progress, updated, notification = tasks
    assert len({t["task_id"] for t in tasks}) == 1
    for frame in (started, progress, notification):
        assert frame["tool_use_id"] == call
    for frame in tasks:
        assert frame["session_id"] == frames[0]["session_id"] and frame["uuid"]
    assert (started["description"], started["task_type"], started["subagent_type"]) == (
        "do it",
        "local_agent",
        "helper",
    )
    assert started["prompt"] == "SUBTASK please" and started["is_backgrounded"] is False
    assert (progress["last_tool_name"], progress["description"]) == ("Bash", "Running echo one")
    assert set(progress["usage"]) == USAGE_KEYS and progress["usage"]["tool_uses"] == 1
    assert updated["patch"]["status"] == "completed" and isinstance(updated["patch"]["end_time"], int)
    assert notification["summary"] == "sub done"
    assert set(notification["usage"]) == USAGE_KEYS and notification["usage"]["tool_uses"] == 1
    assert notification["usage"]["total_tokens"] > 0
    # The sidechain transcript is the task's output, as Claude Code links it.
    assert Path(notification["output_file"]).name == f"agent-{started['task_id']}.jsonl"
    assert Path(notification["output_file"]).exists()
    # Order: the Agent call, started, progress before the subagent's own call, the end, then the
    # parent's tool result.
    order = [
        position(frames, lambda f: tool_use(f, "Agent")),
        position(frames, lambda f: f is started),
        position(frames, lambda f: f is progress),
        position(frames, lambda f: tool_use(f, "Bash")),
        position(frames, lambda f: f is updated),
        position(frames, lambda f: f is notification),
        position(frames, lambda f: tool_result_for(f, call)),
    ]
    assert order == sorted(order)
    # The report the parent's model read counts the same way.
    report = json.dumps(frames[order[-1]])
    assert f"agentId: {started['task_id']}" in report and "tool_uses: 1" in report


def test_a_failing_subagent_ends_in_a_failed_notification(tmp_path: Path) -> None:
    agents = {"helper": {**AGENTS["helper"], "maxTurns": 1}}
    args = ["-p", "hi", "--agents", json.dumps(agents), "--allowedTools", "Bash"]
    frames = stream(tmp_path, SUBAGENT, args)
    assert [s for s in sequence(frames) if s[0] != "task_progress"] == [
        ("task_started", None),
        ("task_updated", "failed"),
        ("task_notification", "failed"),
    ]
    (notification,) = [f for f in frames if f.get("subtype") == "task_notification"]
    assert "maximum number of turns" in notification["summary"]


def test_task_frames_stay_out_of_text_and_json(tmp_path: Path) -> None:
    assert thrifty_cli(tmp_path / "text", SUBAGENT, AGENT_ARGS, "text") == "parent done\n"
    result = json.loads(thrifty_cli(tmp_path / "json", SUBAGENT, AGENT_ARGS, "json"))
    assert result["type"] == "result" and result["result"] == "parent done"
    # claude's verbose json array has every message but no task frames: the same here.
    everything = json.loads(thrifty_cli(tmp_path / "verbose", SUBAGENT, AGENT_ARGS, "json", "--verbose"))
    assert not [f for f in everything if is_task(f)]
    assert any(f.get("parent_tool_use_id") for f in everything)  # the subagent's messages are there


def test_a_background_command_stopped_with_task_stop(tmp_path: Path) -> None:
    frames = stream(tmp_path, stopping_a_background_command, STOP_ARGS)
    assert sequence(frames) == [
        ("task_started", None),
        ("task_updated", "killed"),
        ("task_notification", "stopped"),
    ]
    started, updated, notification = [f for f in frames if is_task(f)]
    bash, stop = call_id_of(frames, "Bash"), call_id_of(frames, "TaskStop")
    assert started["tool_use_id"] == notification["tool_use_id"] == bash
    assert (started["task_type"], started["description"], started["is_backgrounded"]) == (
        "local_bash",
        "sleep 30",
        True,
    )
    assert (
        notification["summary"],
        notification["output_file"].endswith(f"{started['task_id']}.output"),
    ) == (
        "sleep 30",
        True,
    )
    assert isinstance(notification["duration_ms"], int)
    order = [
        position(frames, lambda f: tool_use(f, "Bash")),
        position(frames, lambda f: f is started),
        position(frames, lambda f: tool_result_for(f, bash)),
        position(frames, lambda f: tool_use(f, "TaskStop")),
        position(frames, lambda f: f is updated),
        position(frames, lambda f: f is notification),
        position(frames, lambda f: tool_result_for(f, stop)),
    ]
    assert order == sorted(order)


# -- the registry's events, without a loop ---------------------------------------------------------


@pytest.mark.anyio
async def test_background_shells_report_their_start_and_end_once(tmp_path: Path) -> None:
    ctx = ToolContext(cwd=tmp_path)
    try:
        ran = await BUILTIN_TOOLS["Bash"].run(
            {"command": "exit 3", "run_in_background": True, "description": "fails soon"}, ctx
        )
        task_id = re.findall(r"ID: (\w+)\.", str(ran.content))[0]
        registry = bash_background.shells(ctx)
        shell = registry.get(task_id)
        assert shell is not None
        await registry.wait(shell, 10)
        events = registry.drain("sid", "toolu_1")
        assert [(e.subtype, e.status) for e in events] == [
            ("task_started", None),
            ("task_updated", "failed"),
            ("task_notification", "failed"),
        ]
        notification = events[-1].to_frame()
        assert notification["summary"] == 'Background command "fails soon" failed with exit code 3'
        assert notification["tool_use_id"] == "toolu_1" and notification["session_id"] == "sid"
        assert registry.drain("sid", "toolu_2") == []  # each is told once
    finally:
        await ctx.aclose()


# -- the SDKs ----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_official_sdk_reads_them_as_its_task_messages(tmp_path: Path) -> None:
    sdk = pytest.importorskip("claude_agent_sdk")
    import anyio

    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir()
    home.mkdir()
    cli = tmp_path / "thrifty-cli"
    cli.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m thrifty "$@"\n')
    cli.chmod(0o755)
    with Simulator(SUBAGENT) as sim, anyio.fail_after(120):
        options = sdk.ClaudeAgentOptions(
            cli_path=str(cli),
            cwd=str(project),
            env=environ(sim, home),
            model=MODEL,
            agents={"helper": sdk.AgentDefinition(description="Helps", prompt="You help.", tools=["Bash"])},
            allowed_tools=["Bash"],
        )
        async with sdk.ClaudeSDKClient(options) as client:
            await client.query("hi")
            messages = [m async for m in client.receive_response()]
    kinds = (
        sdk.TaskStartedMessage,
        sdk.TaskProgressMessage,
        sdk.TaskUpdatedMessage,
        sdk.TaskNotificationMessage,
    )
    tasks = [m for m in messages if isinstance(m, kinds)]
    assert [type(m) for m in tasks] == list(kinds)
    started, progress, updated, notification = tasks
    assert started.task_type == "local_agent" and started.description == "do it"
    assert started.tool_use_id is not None and notification.tool_use_id == started.tool_use_id
    assert progress.last_tool_name == "Bash" and progress.usage["tool_uses"] == 1
    assert updated.status == "completed" and updated.task_id == started.task_id
    assert notification.status == "completed" and notification.summary == "sub done"
    assert notification.usage is not None and notification.usage["tool_uses"] == 1


@pytest.mark.anyio
async def test_thrifty_query_yields_task_events(tmp_path: Path) -> None:
    with Simulator(SUBAGENT) as sim:
        env = {"ANTHROPIC_API_KEY": sim.api_key, "ANTHROPIC_BASE_URL": sim.base_url, "HOME": str(tmp_path)}
        options = thrifty.Options(
            cwd=tmp_path, env=env, model=MODEL, persist_session=False, agents=AGENTS, allowed_tools=["Bash"]
        )
        messages = [m async for m in thrifty.query("hi", options)]
    tasks = [m for m in messages if isinstance(m, thrifty.TaskEvent)]
    assert [(t.subtype, t.status) for t in tasks] == [
        ("task_started", None),
        ("task_progress", None),
        ("task_updated", "completed"),
        ("task_notification", "completed"),
    ]
    (call,) = [m for m in messages if isinstance(m, thrifty.AssistantMessage) and m.parent_tool_use_id is None
               and m.content[0].get("name") == "Agent"]  # fmt: skip
    assert tasks[0].tool_use_id == tasks[-1].tool_use_id == call.content[0]["id"]
    assert tasks[-1].usage is not None and tasks[-1].usage["tool_uses"] == 1
    # Without persistence there is no transcript, so no output file to point at.
    assert tasks[-1].data["output_file"] == ""
    assert isinstance(messages[-1], thrifty.Result) and messages[-1].result == "parent done"


# -- side by side with the real claude ----------------------------------------------------------------


def test_a_subagent_side_by_side_with_claude(tmp_path: Path) -> None:
    """The same subtypes and statuses in the same order. claude's frames carry more keys of its
    own (``run_id``, ``written_at``), and its turn limit ends a subagent ``completed`` where
    thrifty's ends it ``failed`` (docs/agents.md)."""
    sbs = pytest.importorskip("tests.sdk.test_side_by_side_features")
    ours, theirs = sbs.side_by_side(tmp_path, SUBAGENT, AGENT_ARGS, "stream-json")
    assert sequence(ours.frames) == sequence(theirs.frames)
    for side in (ours, theirs):
        started, progress, _, notification = [f for f in side.frames if is_task(f)]
        assert started["tool_use_id"] == progress["tool_use_id"] == notification["tool_use_id"]
        assert set(notification["usage"]) == set(progress["usage"]) == USAGE_KEYS
    key_sets = [{f["subtype"]: set(f) for f in side.frames if is_task(f)} for side in (ours, theirs)]
    ours_keys, theirs_keys = key_sets
    for subtype, keys in ours_keys.items():
        assert keys <= theirs_keys[subtype], (subtype, keys - theirs_keys[subtype])


def test_a_stopped_background_command_side_by_side_with_claude(tmp_path: Path) -> None:
    sbs = pytest.importorskip("tests.sdk.test_side_by_side_features")
    ours, theirs = sbs.side_by_side(tmp_path, stopping_a_background_command, STOP_ARGS, "stream-json")
    assert sequence(ours.frames) == sequence(theirs.frames)
    key_sets = [{f["subtype"]: set(f) for f in side.frames if is_task(f)} for side in (ours, theirs)]
    ours_keys, theirs_keys = key_sets
    for subtype, keys in ours_keys.items():
        assert keys <= theirs_keys[subtype], (subtype, keys - theirs_keys[subtype])
