from __future__ import annotations

import asyncio
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import thrifty
from thrifty.agent.hooks.matchers import matches, rule_matches
from thrifty.agent.hooks.output import MAX_OUTPUT_CHARS
from thrifty.agent.hooks.runner import HookCallbackFn, HookOutcome, HookRunner
from thrifty.testing import Simulator

pytestmark = pytest.mark.anyio

PY = shlex.quote(sys.executable)


def group(*commands: str, matcher: str | None = None, timeout: float | None = None) -> dict[str, Any]:
    hooks: list[dict[str, Any]] = []
    for command in commands:
        handler: dict[str, Any] = {"type": "command", "command": command}
        if timeout is not None:
            handler["timeout"] = timeout
        hooks.append(handler)
    entry: dict[str, Any] = {"hooks": hooks}
    if matcher is not None:
        entry["matcher"] = matcher
    return entry


def runner(tmp_path: Path, config: dict[str, Any], **kwargs: Any) -> HookRunner:
    return HookRunner(
        config,
        cwd=tmp_path,
        session_id="sess-1",
        transcript_path=str(tmp_path / "sess-1.jsonl"),
        **kwargs,
    )


def json_out(tmp_path: Path, name: str, data: dict[str, Any]) -> str:
    """A hook command that prints ``data`` as JSON; written to a file so quoting stays simple."""
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(data))
    return f"cat {shlex.quote(str(path))}"


async def bash_tool(r: HookRunner, command: str = "ls") -> HookOutcome:
    return await r.pre_tool_use("Bash", {"command": command}, "toolu_1")


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def wait_dead(pid: int, within: float = 3.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        await asyncio.sleep(0.05)
    return False


# -- matchers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("matcher", "value", "expected"),
    [
        (None, "Bash", True),
        ("", "Bash", True),
        ("*", "Bash", True),
        ("Bash", "Bash", True),
        ("Bash", "BashOutput", False),  # plain names are exact, not prefixes
        ("Edit|Write", "Write", True),
        ("Edit|Write", "Read", False),
        ("Edit, Write", "Write", True),
        ("Edit | MultiEdit", "MultiEdit", True),
        ("mcp__.*", "mcp__github__search", True),
        ("mcp__.*", "Bash", False),
        ("^Bas", "Bash", True),
        ("ash$", "Bash", True),  # unanchored search
        ("Web.*", "WebFetch", True),
        ("[unclosed", "Bash", False),
        ("Anything", None, True),  # events without a match field run every group
    ],
)
async def test_matcher_semantics(matcher: str | None, value: str | None, expected: bool) -> None:
    assert matches(matcher, value) is expected


async def test_matchers_select_handlers_by_tool_name(tmp_path: Path) -> None:
    config = {
        "PreToolUse": [
            group("echo exact", matcher="Bash"),
            group("echo list", matcher="Edit|Write"),
            group("echo regex", matcher="^B.*h$"),
            group("echo all"),
            group("echo star", matcher="*"),
        ]
    }
    r = runner(tmp_path, config)
    bash = await bash_tool(r)
    assert [res.command for res in bash.results] == ["echo exact", "echo regex", "echo all", "echo star"]
    write = await r.pre_tool_use("Write", {"file_path": "/x", "content": ""}, "toolu_2")
    assert [res.command for res in write.results] == ["echo list", "echo all", "echo star"]


async def test_session_start_matches_on_source_and_plain_stdout_is_context(tmp_path: Path) -> None:
    config = {
        "SessionStart": [group("echo fresh", matcher="startup"), group("echo resumed", matcher="resume")]
    }
    r = runner(tmp_path, config)
    outcome = await r.session_start("startup")
    assert outcome.additional_context == ["fresh"]


# -- input ----------------------------------------------------------------------------------------


async def test_input_json_env_and_cwd(tmp_path: Path) -> None:
    script = (
        f"cat > {tmp_path}/in.json; pwd > {tmp_path}/pwd.txt; "
        f'printf %s "$CLAUDE_PROJECT_DIR|$EXTRA_VAR" > {tmp_path}/env.txt'
    )
    config = {event: [group(script)] for event in ("PreToolUse", "PostToolUse", "UserPromptSubmit", "Stop")}
    r = runner(tmp_path, config, permission_mode="acceptEdits", env={"EXTRA_VAR": "yes"})

    def stdin() -> dict[str, Any]:
        data: dict[str, Any] = json.loads((tmp_path / "in.json").read_text())
        return data

    common = {
        "session_id": "sess-1",
        "transcript_path": str(tmp_path / "sess-1.jsonl"),
        "cwd": str(tmp_path),
        "permission_mode": "acceptEdits",
    }
    await r.pre_tool_use("Bash", {"command": "echo hi"}, "toolu_9")
    assert stdin() == {
        **common,
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "echo hi"},
        "tool_use_id": "toolu_9",
    }
    assert (tmp_path / "pwd.txt").read_text().strip() == str(tmp_path.resolve())
    assert (tmp_path / "env.txt").read_text() == f"{tmp_path}|yes"

    await r.post_tool_use("Bash", {"command": "echo hi"}, "toolu_9", {"stdout": "hi"}, duration_ms=12)
    data = stdin()
    assert data["hook_event_name"] == "PostToolUse"
    assert data["tool_response"] == {"stdout": "hi"}
    assert data["duration_ms"] == 12

    await r.user_prompt_submit("fix the bug")
    assert stdin() == {**common, "hook_event_name": "UserPromptSubmit", "prompt": "fix the bug"}

    await r.stop(True, "All done.")
    assert stdin() == {
        **common,
        "hook_event_name": "Stop",
        "stop_hook_active": True,
        "last_assistant_message": "All done.",
    }


# -- exit codes -----------------------------------------------------------------------------------


async def test_exit_0_json_output_is_parsed(tmp_path: Path) -> None:
    out = {
        "systemMessage": "checked",
        "suppressOutput": True,
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "allow",
            "permissionDecisionReason": "safe",
            "additionalContext": "ran in CI",
        },
    }
    path = tmp_path / "out.json"
    path.write_text("\n  " + json.dumps(out))  # leading whitespace before the brace is fine
    r = runner(tmp_path, {"PreToolUse": [group(f"cat {path}")]})
    outcome = await bash_tool(r)
    assert outcome.permission_decision == "allow"
    assert outcome.permission_reason == "safe"
    assert outcome.additional_context == ["ran in CI"]
    assert outcome.system_messages == ["checked"]
    assert outcome.suppress_output is True
    assert not outcome.blocked and not outcome.denied
    assert outcome.results[0].exit_code == 0
    assert outcome.results[0].output == out


async def test_invalid_json_is_a_non_blocking_error(tmp_path: Path) -> None:
    r = runner(tmp_path, {"PreToolUse": [group("echo '{not json'")]})
    outcome = await bash_tool(r)
    assert not outcome.blocked
    assert outcome.permission_decision is None
    assert len(outcome.errors) == 1 and "invalid JSON" in outcome.errors[0]


async def test_plain_stdout_is_context_only_for_prompt_and_session_events(tmp_path: Path) -> None:
    config = {
        "UserPromptSubmit": [group("echo 'today is Tuesday'")],
        "PreToolUse": [group("echo 'just a log line'")],
    }
    r = runner(tmp_path, config)
    assert (await r.user_prompt_submit("hi")).additional_context == ["today is Tuesday"]
    assert (await bash_tool(r)).additional_context == []


async def test_exit_2_blocks_pre_tool_use_with_formatted_reason(tmp_path: Path) -> None:
    command = "echo 'rm is not allowed' >&2; exit 2"
    r = runner(tmp_path, {"PreToolUse": [group(command)]})
    outcome = await bash_tool(r, "rm -rf /")
    assert outcome.blocked and outcome.denied
    assert outcome.block_reason == f"PreToolUse:Bash hook error: [{command}]: rm is not allowed"
    assert outcome.denial_message == outcome.block_reason
    assert outcome.results[0].exit_code == 2
    assert outcome.errors == []


async def test_json_cannot_override_exit_2(tmp_path: Path) -> None:
    allow = json.dumps({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "allow"}})
    command = f"echo {shlex.quote(allow)}; echo denied >&2; exit 2"
    r = runner(tmp_path, {"PreToolUse": [group(command)]})
    outcome = await bash_tool(r)
    assert outcome.blocked
    assert outcome.permission_decision is None
    assert outcome.block_reason is not None and outcome.block_reason.endswith("]: denied")


async def test_exit_2_without_stderr_still_explains(tmp_path: Path) -> None:
    r = runner(tmp_path, {"PreToolUse": [group("exit 2")]})
    outcome = await bash_tool(r)
    assert outcome.block_reason == "PreToolUse:Bash hook error: [exit 2]: No stderr output"


@pytest.mark.parametrize("code", [1, 3, 127])
async def test_other_exit_codes_do_not_block(tmp_path: Path, code: int) -> None:
    r = runner(tmp_path, {"PreToolUse": [group(f"echo oops >&2; exit {code}")]})
    outcome = await bash_tool(r)
    assert not outcome.blocked and not outcome.denied
    assert len(outcome.errors) == 1
    assert f"exit code {code}" in outcome.errors[0] and "oops" in outcome.errors[0]
    assert outcome.results[0].exit_code == code


async def test_exit_2_on_other_events(tmp_path: Path) -> None:
    block = "echo reason >&2; exit 2"
    config = {
        event: [group(block)]
        for event in ("UserPromptSubmit", "Stop", "PostToolUse", "SessionStart", "PermissionRequest")
    }
    r = runner(tmp_path, config)
    prompt = await r.user_prompt_submit("do it")
    assert prompt.blocked and prompt.block_reason == f"UserPromptSubmit hook error: [{block}]: reason"
    stop = await r.stop(False, "done")
    assert stop.blocked and stop.block_reason is not None and "reason" in stop.block_reason
    # PostToolUse: the tool already ran; the reason is for the model.
    post = await r.post_tool_use("Edit", {}, "t", "ok")
    assert post.blocked and post.block_reason == f"PostToolUse:Edit hook error: [{block}]: reason"
    start = await r.session_start()
    assert not start.blocked and len(start.errors) == 1
    permission = await r.run("PermissionRequest", {"tool_name": "Bash", "tool_input": {}})
    assert not permission.blocked and len(permission.errors) == 1


# -- timeouts, parallelism, de-duplication --------------------------------------------------------


async def test_timed_out_hook_is_killed_and_does_not_block(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    command = f"echo $$ > {pids}; sleep 30 & echo $! >> {pids}; wait; exit 2"
    r = runner(tmp_path, {"PreToolUse": [group(command, timeout=0.5)]})
    started = time.monotonic()
    outcome = await bash_tool(r)
    assert time.monotonic() - started < 5
    assert not outcome.blocked and outcome.permission_decision is None
    assert outcome.results[0].timed_out and outcome.results[0].exit_code is None
    assert len(outcome.errors) == 1 and "timed out after 0.5s" in outcome.errors[0]
    shell_pid, sleep_pid = (int(x) for x in pids.read_text().split())
    assert await wait_dead(shell_pid)
    assert await wait_dead(sleep_pid)


async def test_background_child_holding_output_does_not_stall(tmp_path: Path) -> None:
    r = runner(tmp_path, {"UserPromptSubmit": [group("(sleep 30 &); echo quick", timeout=60)]})
    started = time.monotonic()
    outcome = await r.user_prompt_submit("x")
    assert time.monotonic() - started < 10
    assert outcome.results[0].exit_code == 0 and not outcome.results[0].timed_out
    assert outcome.additional_context == ["quick"]


async def test_handlers_run_in_parallel(tmp_path: Path) -> None:
    config = {"PreToolUse": [group("sleep 0.5; echo a"), group("sleep 0.5; echo b", matcher="Bash")]}
    r = runner(tmp_path, config)
    started = time.monotonic()
    outcome = await bash_tool(r)
    elapsed = time.monotonic() - started
    first, second = outcome.results
    assert max(first.started_at, second.started_at) < min(first.finished_at, second.finished_at)
    assert first.duration_ms >= 450 and second.duration_ms >= 450
    assert elapsed < 0.95


async def test_identical_commands_run_once(tmp_path: Path) -> None:
    log = tmp_path / "log"
    command = f"echo ran >> {log}"
    config = {"PreToolUse": [group(command, matcher="Bash"), group(command), group(command, command)]}
    r = runner(tmp_path, config)
    outcome = await bash_tool(r)
    assert len(outcome.results) == 1
    assert log.read_text() == "ran\n"


async def test_cancelling_the_run_kills_the_hook(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    r = runner(tmp_path, {"PreToolUse": [group(f"echo $$ > {pidfile}; exec sleep 30")]})
    task = asyncio.ensure_future(bash_tool(r))
    for _ in range(100):
        if pidfile.exists() and pidfile.read_text().strip():
            break
        await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait_dead(int(pidfile.read_text()))


# -- JSON fields and aggregation ------------------------------------------------------------------


async def test_continue_false_stops_everything(tmp_path: Path) -> None:
    cmd = json_out(tmp_path, "stop", {"continue": False, "stopReason": "build is red"})
    r = runner(tmp_path, {"PostToolUse": [group(cmd)]})
    outcome = await r.post_tool_use("Bash", {"command": "make"}, "t", "failed")
    assert outcome.stop and outcome.stop_reason == "build is red"
    assert not outcome.blocked


async def test_updated_input(tmp_path: Path) -> None:
    data = {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "allow",
            "updatedInput": {"command": "ls -la"},
        }
    }
    r = runner(tmp_path, {"PreToolUse": [group(json_out(tmp_path, "upd", data))]})
    outcome = await bash_tool(r)
    assert outcome.updated_input == {"command": "ls -la"}
    assert outcome.permission_decision == "allow"


def decision(tmp_path: Path, value: str) -> str:
    data = {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": value,
            "permissionDecisionReason": f"because {value}",
        }
    }
    return json_out(tmp_path, value, data)


@pytest.mark.parametrize(
    ("decisions", "expected"),
    [
        (["allow", "ask", "deny"], "deny"),
        (["deny", "allow"], "deny"),
        (["allow", "ask"], "ask"),
        (["ask", "defer", "allow"], "defer"),
        (["allow", "allow"], "allow"),
    ],
)
async def test_permission_decision_aggregation(tmp_path: Path, decisions: list[str], expected: str) -> None:
    config = {"PreToolUse": [group(decision(tmp_path, d)) for d in decisions]}
    r = runner(tmp_path, config)
    outcome = await bash_tool(r)
    assert outcome.permission_decision == expected
    assert outcome.permission_reason == f"because {expected}"
    assert outcome.denied is (expected == "deny")


async def test_any_block_wins_over_allow(tmp_path: Path) -> None:
    config = {"PreToolUse": [group(decision(tmp_path, "allow")), group("echo no >&2; exit 2")]}
    outcome = await bash_tool(runner(tmp_path, config))
    assert outcome.blocked and outcome.permission_decision == "allow" and outcome.denied


async def test_legacy_pre_tool_use_decisions(tmp_path: Path) -> None:
    block = json_out(tmp_path, "legacy", {"decision": "block", "reason": "legacy no"})
    outcome = await bash_tool(runner(tmp_path, {"PreToolUse": [group(block)]}))
    assert outcome.permission_decision == "deny" and outcome.permission_reason == "legacy no"


async def test_decision_block_on_prompt_and_stop(tmp_path: Path) -> None:
    cmd = json_out(tmp_path, "block", {"decision": "block", "reason": "keep going: tests fail"})
    r = runner(tmp_path, {"UserPromptSubmit": [group(cmd)], "Stop": [group(cmd)]})
    assert (await r.user_prompt_submit("x")).block_reason == "keep going: tests fail"
    stop = await r.stop(False)
    assert stop.blocked and stop.block_reason == "keep going: tests fail"


async def test_post_tool_use_context_and_mismatched_event_name(tmp_path: Path) -> None:
    good = json_out(
        tmp_path,
        "good",
        {"hookSpecificOutput": {"hookEventName": "PostToolUse", "additionalContext": "lint ok"}},
    )
    bad = json_out(
        tmp_path, "bad", {"hookSpecificOutput": {"hookEventName": "PreToolUse", "additionalContext": "wrong"}}
    )
    r = runner(tmp_path, {"PostToolUse": [group(good, bad)]})
    outcome = await r.post_tool_use("Edit", {"file_path": "a"}, "t", "ok")
    assert outcome.additional_context == ["lint ok"]
    assert len(outcome.errors) == 1 and "PreToolUse" in outcome.errors[0]


async def test_output_strings_are_capped(tmp_path: Path) -> None:
    long = "x" * (MAX_OUTPUT_CHARS + 500)
    cmd = json_out(
        tmp_path,
        "long",
        {
            "systemMessage": long,
            "hookSpecificOutput": {"hookEventName": "UserPromptSubmit", "additionalContext": long},
        },
    )
    outcome = await runner(tmp_path, {"UserPromptSubmit": [group(cmd)]}).user_prompt_submit("x")
    assert len(outcome.system_messages[0]) == MAX_OUTPUT_CHARS
    assert len(outcome.additional_context[0]) == MAX_OUTPUT_CHARS


# -- configuration --------------------------------------------------------------------------------


async def test_unsupported_and_malformed_handlers_are_skipped_with_warnings(tmp_path: Path) -> None:
    config: dict[str, Any] = {
        "PreToolUse": [
            {
                "matcher": "Bash",
                "hooks": [{"type": "http", "url": "http://x"}, {"type": "command", "command": "echo ok"}],
            },
            {"matcher": "Bash"},
            {"matcher": 3, "hooks": []},
            {"matcher": "(", "hooks": [{"type": "command", "command": "echo never"}]},
        ],
        "Stop": "not a list",
    }
    r = runner(tmp_path, config)
    assert len(r.warnings) == 5
    assert any("'http'" in w for w in r.warnings)
    outcome = await bash_tool(r)
    assert [res.command for res in outcome.results] == ["echo ok"]
    assert not r.has_hooks("Stop")


async def test_has_hooks(tmp_path: Path) -> None:
    async def cb(data: dict[str, Any]) -> dict[str, Any]:
        return {}

    r = runner(tmp_path, {"PreToolUse": [group("true")]}, callbacks={"Stop": [(None, cb)]})
    assert r.has_hooks("PreToolUse") and r.has_hooks("Stop")
    assert not r.has_hooks("PostToolUse")
    empty = await r.post_tool_use("Bash", {}, "t", "")
    assert empty.results == [] and not empty.blocked


async def test_if_condition_filters_tool_calls(tmp_path: Path) -> None:
    config = {
        "PreToolUse": [
            {
                "matcher": "Bash",
                "hooks": [{"type": "command", "command": "echo git-guard", "if": "Bash(git push *)"}],
            }
        ]
    }
    r = runner(tmp_path, config)
    assert [res.command for res in (await bash_tool(r, "git push origin main")).results] == ["echo git-guard"]
    assert [res.command for res in (await bash_tool(r, "cd x && git push")).results] == ["echo git-guard"]
    assert (await bash_tool(r, "git status")).results == []
    injected = runner(tmp_path, config, rule_matcher=lambda rule, tool, inp: False)
    assert (await bash_tool(injected, "git push")).results == []


@pytest.mark.parametrize(
    ("rule", "tool", "tool_input", "expected"),
    [
        ("Bash", "Bash", {"command": "anything"}, True),
        ("Bash(npm run build)", "Bash", {"command": "npm run build"}, True),
        ("Bash(npm run build)", "Bash", {"command": "npm run build:prod"}, False),
        ("Bash(git diff:*)", "Bash", {"command": "git diff HEAD"}, True),
        ("Bash(git diff *)", "Bash", {"command": "git difference"}, False),
        ("Bash(ls*)", "Bash", {"command": "lsof"}, True),
        ("Edit(src/**)", "Write", {"file_path": "src/a/b.py"}, True),
        ("Edit(*.env)", "Edit", {"file_path": "/proj/conf/.env"}, True),
        ("Read(//etc/**)", "Read", {"file_path": "/etc/passwd"}, True),
        ("Read(//etc/**)", "Read", {"file_path": "/home/x"}, False),
        ("WebFetch(domain:*.example.com)", "WebFetch", {"url": "https://api.example.com/x"}, True),
        ("Agent(model:opus)", "Agent", {"model": "opus"}, True),
        ("mcp__github__*", "mcp__github__search", {}, True),
        ("Read", "Bash", {"command": "cat"}, False),
    ],
)
async def test_rule_matches(rule: str, tool: str, tool_input: dict[str, Any], expected: bool) -> None:
    assert rule_matches(rule, tool, tool_input, cwd=Path("/proj")) is expected


# -- callbacks ------------------------------------------------------------------------------------


async def test_callbacks_receive_input_and_aggregate_with_commands(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []

    async def allow(data: dict[str, Any]) -> dict[str, Any]:
        seen.append(data)
        data["tool_input"]["command"] = "mutated"  # must not leak into other handlers
        return {
            "systemMessage": "from callback",
            "hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "allow"},
        }

    async def for_write_only(data: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError("matcher should have excluded this callback")

    capture = f"cat > {tmp_path}/in.json"
    r = runner(
        tmp_path,
        {"PreToolUse": [group(capture, decision(tmp_path, "ask"))]},
        callbacks={"PreToolUse": [("Bash", allow), ("Write", for_write_only), (None, allow)]},
    )
    outcome = await bash_tool(r, "ls")
    assert len(seen) == 1  # the same function registered twice runs once
    assert seen[0]["tool_name"] == "Bash" and seen[0]["hook_event_name"] == "PreToolUse"
    assert json.loads((tmp_path / "in.json").read_text())["tool_input"] == {"command": "ls"}
    assert outcome.permission_decision == "ask"
    assert outcome.system_messages == ["from callback"]
    assert [res.kind for res in outcome.results] == ["command", "command", "callback"]


async def test_raising_callback_blocks_pre_tool_use(tmp_path: Path) -> None:
    async def broken(data: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("policy server down")

    r = runner(tmp_path, {}, callbacks={"PreToolUse": [(None, broken)], "PostToolUse": [(None, broken)]})
    pre = await bash_tool(r)
    assert pre.blocked
    assert pre.block_reason is not None
    assert pre.block_reason.startswith("PreToolUse:Bash hook error: [callback ")
    assert pre.block_reason.endswith("RuntimeError: policy server down")
    post = await r.post_tool_use("Bash", {}, "t", "")
    assert not post.blocked and len(post.errors) == 1


async def test_callback_timeout_blocks_pre_tool_use_only(tmp_path: Path) -> None:
    async def slow(data: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(10)
        return {}

    callbacks: dict[str, list[tuple[str | None, HookCallbackFn]]] = {
        "PreToolUse": [(None, slow)],
        "UserPromptSubmit": [(None, slow)],
    }
    r = runner(tmp_path, {}, callbacks=callbacks, callback_timeout=0.2)
    pre = await bash_tool(r)
    assert pre.blocked and pre.results[0].timed_out
    assert pre.block_reason is not None and "timed out" in pre.block_reason
    prompt = await r.user_prompt_submit("x")
    assert not prompt.blocked and len(prompt.errors) == 1


async def test_callback_continue_underscore_and_bad_return(tmp_path: Path) -> None:
    async def halt(data: dict[str, Any]) -> dict[str, Any]:
        return {"continue_": False, "stopReason": "enough"}

    async def bad(data: dict[str, Any]) -> Any:
        return ["not", "a", "dict"]

    r = runner(tmp_path, {}, callbacks={"Stop": [(None, halt), (None, bad)]})
    outcome = await r.stop(False)
    assert outcome.stop and outcome.stop_reason == "enough"
    assert len(outcome.errors) == 1 and "not a dict" in outcome.errors[0]


# -- continue: false from a settings hook, through the loop ----------------------------------------


async def run_with_settings(
    tmp_path: Path, hooks: dict[str, Any], script: list[dict[str, Any]]
) -> tuple[list[Any], int]:
    """Run one prompt in a project whose ``.claude/settings.json`` holds ``hooks``; returns the
    messages and how many model requests reached the simulator."""
    project = tmp_path / "project"
    (project / ".claude").mkdir(parents=True)
    (project / ".claude" / "settings.json").write_text(json.dumps({"hooks": hooks}))
    with Simulator() as sim:
        sim.set_script(script)
        env = {
            "ANTHROPIC_API_KEY": sim.api_key,
            "ANTHROPIC_BASE_URL": sim.base_url,
            "CLAUDE_CONFIG_DIR": str(tmp_path / "claude-config"),
        }
        options = thrifty.Options(cwd=project, env=env, allowed_tools=["Bash"])
        messages = [m async for m in thrifty.query("go", options)]
        return messages, len(sim.message_requests())


async def test_post_tool_use_command_hook_continue_false_ends_the_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran.txt"
    stop = json_out(tmp_path, "stop", {"continue": False, "stopReason": "tests are red"})
    hooks = {"PostToolUse": [group(stop, matcher="Bash")]}
    bash = {"tool_use": {"name": "Bash", "input": {"command": f"echo ran > {shlex.quote(str(marker))}"}}}
    messages, requests = await run_with_settings(tmp_path, hooks, [bash, {"text": "next turn"}])
    result = messages[-1]
    assert requests == 1 and marker.read_text() == "ran\n"
    assert (result.subtype, result.is_error, result.result, result.exit_code) == ("success", False, "", 0)
    assert (result.terminal_reason, result.stop_reason) == ("hook_stopped", "tool_use")
    frame = result.to_frame()
    assert frame["terminal_reason"] == "hook_stopped" and frame["result"] == ""
    assert messages[-2].content[-1]["text"] == "PostToolUse:Bash hook stopped continuation: tests are red"


async def test_pre_tool_use_command_hook_continue_false_ends_the_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran.txt"
    stop = json_out(tmp_path, "stop", {"continue": False})
    hooks = {"PreToolUse": [group(stop, matcher="Bash")]}
    bash = {"tool_use": {"name": "Bash", "input": {"command": f"touch {shlex.quote(str(marker))}"}}}
    messages, requests = await run_with_settings(tmp_path, hooks, [bash, {"text": "next turn"}])
    result = messages[-1]
    assert requests == 1 and not marker.exists()
    assert (result.terminal_reason, result.is_error) == ("hook_stopped", False)
    refused, notice = messages[-2].content
    assert refused["is_error"] is True and refused["content"] == "Execution stopped by PreToolUse hook"
    assert notice["text"] == "PreToolUse:Bash hook stopped continuation: Execution stopped by PreToolUse hook"


async def test_stop_hook_continue_false_ends_as_claude_code_reports_it(tmp_path: Path) -> None:
    """Claude Code ends the loop with ``stop_hook_prevented`` and reports the final answer."""
    stop = json_out(tmp_path, "stop", {"continue": False, "stopReason": "enough for today"})
    messages, requests = await run_with_settings(tmp_path, {"Stop": [group(stop)]}, [{"text": "All done."}])
    result = messages[-1]
    assert requests == 1
    assert (result.subtype, result.is_error, result.result, result.exit_code) == (
        "success",
        False,
        "All done.",
        0,
    )
    assert (result.terminal_reason, result.stop_reason) == ("stop_hook_prevented", "end_turn")
