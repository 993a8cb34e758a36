"""``thrifty --input-format stream-json``: NDJSON prompts and control requests on stdin, end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.cli.conftest import Cli, Run
from thrifty.cli.stdin_lines import LineFramer

STREAM = ("--input-format", "stream-json", "--output-format", "stream-json", "--verbose")
STATE_ENV = "CLAUDE_CODE_SDK_READS_SESSION_STATE"


def user(content: Any, **extra: Any) -> dict[str, Any]:
    return {
        "type": "user",
        "message": {"role": "user", "content": content},
        "parent_tool_use_id": None,
        "session_id": "",
        **extra,
    }


def control(request_id: str, subtype: str, **fields: Any) -> dict[str, Any]:
    return {"type": "control_request", "request_id": request_id, "request": {"subtype": subtype, **fields}}


def ndjson(*lines: dict[str, Any] | str) -> str:
    return "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)


def stream(cli: Cli, *lines: dict[str, Any] | str, args: tuple[str, ...] = (), **env: str) -> Run:
    return cli(*STREAM, *args, stdin=ndjson(*lines), env=cli.env(**env))


def responses(run: Run) -> dict[str, dict[str, Any]]:
    return {f["response"]["request_id"]: f["response"] for f in run.lines if f["type"] == "control_response"}


def test_two_prompts_are_two_turns_of_one_session(cli: Cli) -> None:
    # The first turn is slow, so the second prompt arrives while it runs and must wait its turn.
    cli.sim.set_script(
        [{"text": "first answer", "fault": {"kind": "slow", "delay": 0.5}}, {"text": "second"}]
    )
    run = stream(cli, user("one"), user([{"type": "text", "text": "two"}]))
    assert run.code == 0, run.stderr
    kinds = [(f["type"], f.get("subtype")) for f in run.lines]
    assert kinds == [
        ("system", "init"),
        ("assistant", None),
        ("result", "success"),
        ("system", "init"),
        ("assistant", None),
        ("result", "success"),
    ]
    results = [f for f in run.lines if f["type"] == "result"]
    assert [r["result"] for r in results] == ["first answer", "second"]
    assert len({f["session_id"] for f in run.lines}) == 1
    second = cli.sim.message_requests()[1].body["messages"]
    assert [m["role"] for m in second] == ["user", "assistant", "user"]
    assert second[2]["content"][0]["text"] == "two"
    # prompts are not echoed, and the init frame reports a Claude Code version the SDK accepts
    assert not any(f["type"] == "user" for f in run.lines)
    assert run.lines[0]["claude_code_version"] == "2.1.331" and run.lines[0]["thrifty_version"]


def test_initialize_is_answered_before_the_first_turn(cli: Cli) -> None:
    cli.sim.set_script([{"text": "hi"}])
    run = stream(cli, control("req_1_init", "initialize", hooks=None), user("hello"))
    assert run.code == 0, run.stderr
    first = run.lines[0]
    assert first["type"] == "control_response"
    reply = first["response"]
    assert reply["subtype"] == "success" and reply["request_id"] == "req_1_init"
    body = reply["response"]
    for key, kind in [
        ("commands", list),
        ("agents", list),
        ("output_style", str),
        ("available_output_styles", list),
        ("models", list),
        ("account", dict),
        ("pid", int),
        ("claude_code_version", str),
        ("current_permission_mode", str),
    ]:
        assert isinstance(body[key], kind), key
    assert body["current_permission_mode"] == "default" and body["claude_code_version"] == "2.1.331"
    assert {"value": "opus", "resolvedModel": "claude-opus-5-5"}.items() <= body["models"][1].items()
    assert run.lines[-1]["type"] == "result"


def test_unknown_control_subtype_gets_an_error_response(cli: Cli) -> None:
    run = stream(cli, control("r1", "rewind_files", user_message_id="x"), control("r2", "initialize"))
    assert run.code == 0
    answers = responses(run)
    assert answers["r1"] == {
        "subtype": "error",
        "request_id": "r1",
        "error": "Unsupported control request subtype: rewind_files",
    }
    assert answers["r2"]["subtype"] == "success"
    # a second initialize is refused, the first stands
    again = stream(cli, control("a", "initialize"), control("b", "initialize"))
    assert sorted(r["subtype"] for r in responses(again).values()) == ["error", "success"]


def test_bad_lines_are_reported_and_skipped(cli: Cli) -> None:
    cli.sim.set_script([{"text": "still here"}])
    run = stream(
        cli,
        "this is not json {",
        "[1, 2]",
        {"type": "keep_alive"},
        {"type": "something_new", "payload": 1},
        "",
        user("after the noise"),
    )
    assert run.code == 0
    assert run.stderr.splitlines() == [
        "thrifty: ignoring malformed input line 1: not valid JSON (Expecting value at column 1)",
        "thrifty: ignoring malformed input line 2: a JSON list, not an object",
    ]
    assert [f["result"] for f in run.lines if f["type"] == "result"] == ["still here"]
    assert cli.sim.message_requests()[0].body["messages"][0]["content"][0]["text"] == "after the noise"


def test_user_message_without_content_is_reported(cli: Cli) -> None:
    run = stream(
        cli, {"type": "user", "message": {"role": "user"}}, {"type": "user", "message": {"content": 5}}
    )
    assert run.code == 0 and run.lines == []
    assert len(run.stderr.splitlines()) == 2 and "line 2: a user message needs message.content" in run.stderr


def test_set_model_and_permission_mode(cli: Cli) -> None:
    cli.sim.set_script([{"text": "ok"}])
    run = stream(
        cli,
        control("m", "set_model", model="opus"),
        control("p", "set_permission_mode", mode="acceptEdits"),
        control("bad", "set_permission_mode", mode="yolo"),
        user("go"),
    )
    assert run.code == 0, run.stderr
    answers = responses(run)
    assert answers["m"]["response"] == {"model": "claude-opus-5-5"}
    assert answers["p"]["response"] == {"mode": "acceptEdits"}
    assert (
        answers["bad"]["subtype"] == "error" and "Unknown permission mode 'yolo'" in answers["bad"]["error"]
    )
    status = [f for f in run.lines if f.get("subtype") == "status"]
    assert len(status) == 1 and status[0]["permissionMode"] == "acceptEdits"
    init = next(f for f in run.lines if f.get("subtype") == "init")
    assert init["model"] == "claude-opus-5-5" and init["permissionMode"] == "acceptEdits"
    assert cli.sim.message_requests()[0].body["model"] == "claude-opus-5-5"
    # null goes back to the model the process started with
    reset = stream(cli, control("m", "set_model", model="opus"), control("d", "set_model", model=None))
    assert responses(reset)["d"]["response"] == {"model": "claude-sonnet-5-5"}


def test_exit_code_follows_the_last_result(cli: Cli) -> None:
    cli.sim.set_script([{"text": "never", "fault": {"kind": "server_error", "times": 0}}])
    run = stream(cli, user("fail please"), THRIFTY_MAX_RETRIES="0")
    assert run.code == 1
    result = run.lines[-1]
    assert result["type"] == "result" and result["is_error"] is True
    empty = stream(cli)
    assert empty.code == 0 and empty.stdout == "" and empty.stderr == ""


def test_session_state_frames_for_the_sdk(cli: Cli) -> None:
    cli.sim.set_script([{"text": "a"}, {"text": "b"}])
    run = stream(cli, user("one"), user("two"), **{STATE_ENV: "1"})
    assert run.code == 0
    marks = [
        f["state"] if f.get("subtype") == "session_state_changed" else f["type"]
        for f in run.lines
        if f["type"] == "result" or f.get("subtype") == "session_state_changed"
    ]
    # the second prompt was already queued at the first result: no idle in between
    assert marks == ["running", "result", "running", "result", "idle"]
    states = [f for f in run.lines if f.get("subtype") == "session_state_changed"]
    assert all(s["sdk_host_only"] is True and s["session_id"] == run.lines[-1]["session_id"] for s in states)
    quiet = stream(cli, user("one"))
    assert not any(f.get("subtype") == "session_state_changed" for f in quiet.lines)


def test_should_query_false_adds_context_without_a_turn(cli: Cli) -> None:
    cli.sim.set_script([{"text": "answer"}])
    run = stream(cli, user("BACKGROUND FACT", shouldQuery=False), user("the question"))
    assert run.code == 0
    assert len([f for f in run.lines if f["type"] == "result"]) == 1
    requests = cli.sim.message_requests()
    assert len(requests) == 1
    sent = json.dumps(requests[0].body["messages"])
    assert "BACKGROUND FACT" in sent and "the question" in sent


def test_sdk_argv_forms_are_accepted(cli: Cli, tmp_path: Any) -> None:
    cli.sim.set_script([{"text": "fine"}])
    debug = tmp_path / "debug.log"
    mcp = {"mcpServers": {"files": {"type": "stdio", "command": "some-server"}}}
    args = (
        "--system-prompt",
        "",
        "--allowedTools",
        "Read,Glob",
        "--max-turns",
        "3",
        "--disallowedTools",
        "WebSearch",
        "--task-budget",
        "1000",
        "--model",
        "sonnet",
        "--fallback-model",
        "haiku",
        "--betas",
        "a,b",
        "--permission-prompt-tool",
        "stdio",
        "--permission-mode",
        "default",
        "--mcp-config",
        json.dumps(mcp),
        "--include-hook-events",
        "--strict-mcp-config",
        "--session-mirror",
        "--setting-sources=",
        "--plugin-dir",
        str(tmp_path),
        "--thinking",
        "adaptive",
        "--thinking-display",
        "summarized",
        "--effort",
        "high",
        "--debug-file",
        str(debug),
    )
    run = stream(cli, control("s", "mcp_status"), user("hello"), args=args)
    assert run.code == 0, run.stderr
    (line,) = run.stderr.splitlines()
    assert line.startswith("thrifty: MCP server 'files' failed to connect: ") and "some-server" in line
    assert run.lines[-1]["result"] == "fine"
    (status,) = responses(run)["s"]["response"]["mcpServers"]
    assert status["name"] == "files" and status["status"] == "failed" and "some-server" in status["error"]
    init = next(f for f in run.lines if f.get("subtype") == "init")
    assert init["mcp_servers"] == [{"name": "files", "status": "failed"}]
    system = cli.sim.message_requests()[0].body["system"]
    assert system[0]["text"].startswith("You are thrifty") and "Working directory" in system[0]["text"]
    assert "--fallback-model is accepted for compatibility and ignored" in debug.read_text()


def test_bad_stream_flags_are_one_line_errors(cli: Cli) -> None:
    for args, needle in [
        (("--no-such-flag",), "unrecognized arguments: --no-such-flag"),
        (("--permission-prompt-tool", "mcp__perm__ask"), "only 'stdio'"),
        (("--mcp-config", "{nope"), "--mcp-config is not valid JSON"),
        (("--mcp-config", "/does/not/exist.json"), "--mcp-config: cannot read"),
        (("a prompt",), "prompts come on stdin"),
    ]:
        run = stream(cli, args=args)
        assert run.code == 1, args
        assert len(run.stderr.strip().splitlines()) == 1 and needle in run.stderr, (args, run.stderr)
    text = cli("-p", "x", "--permission-prompt-tool", "stdio")
    assert text.code == 1 and "requires --input-format=stream-json" in text.stderr
    no_verbose = cli("--input-format", "stream-json", "--output-format", "stream-json", stdin="")
    assert (
        no_verbose.stderr.strip()
        == "error: When using --print, --output-format=stream-json requires --verbose"
    )


class Driver:
    """A live process for the exchanges that need answers: the test plays the SDK host."""

    def __init__(self, cli: Cli, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "thrifty", *STREAM, *args],
            cwd=cli.cwd,
            env=cli.env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.seen: list[dict[str, Any]] = []

    def send(self, *lines: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(ndjson(*lines))
        self.proc.stdin.flush()

    def until(self, wanted: str) -> dict[str, Any]:
        assert self.proc.stdout is not None
        while line := self.proc.stdout.readline():
            frame: dict[str, Any] = json.loads(line)
            self.seen.append(frame)
            if frame["type"] == wanted:
                return frame
        raise AssertionError(f"no {wanted} frame; got {self.seen}")

    def finish(self) -> int:
        out, _ = self.proc.communicate(timeout=60)
        self.seen.extend(json.loads(line) for line in out.splitlines() if line.strip())
        return self.proc.returncode


def test_permission_request_answered_with_an_error_is_a_denial(cli: Cli) -> None:
    target = cli.cwd / "new.txt"
    cli.sim.set_script(
        [{"tool_use": {"name": "Write", "input": {"file_path": str(target), "content": "x"}}}, {"text": "ok"}]
    )
    host = Driver(cli, "--permission-prompt-tool", "stdio")
    host.send(user("write it"))
    ask = host.until("control_request")
    request = ask["request"]
    assert request["subtype"] == "can_use_tool" and request["tool_name"] == "Write"
    assert request["input"] == {"file_path": str(target), "content": "x"}
    assert request["tool_use_id"].startswith("toolu_")
    # as Claude Code suggests for a file edit inside the working directories
    accept_edits = {"type": "setMode", "destination": "session", "mode": "acceptEdits"}
    assert request["permission_suggestions"] == [accept_edits]
    error = {"subtype": "error", "request_id": ask["request_id"], "error": "host is busy"}
    host.send({"type": "control_response", "response": error})
    result = host.until("result")
    assert host.finish() == 0 and not target.exists()
    assert result["permission_denials"][0]["tool_name"] == "Write"
    sent = cli.sim.message_requests()[1].body["messages"][2]["content"][0]
    assert (
        sent["is_error"] is True and sent["content"] == "Tool permission request failed: Error: host is busy"
    )


def test_interrupt_while_waiting_for_permission_withdraws_the_request(cli: Cli) -> None:
    target = cli.cwd / "new.txt"
    cli.sim.set_script(
        [
            {"tool_use": {"name": "Write", "input": {"file_path": str(target), "content": "x"}}},
            {"text": "later"},
        ]
    )
    host = Driver(cli, "--permission-prompt-tool", "stdio")
    host.send(user("write it"))
    ask = host.until("control_request")
    host.send(control("int_1", "interrupt"))
    result = host.until("result")
    assert result["subtype"] == "error_during_execution" and result["is_error"] is True
    cancels = [f for f in host.seen if f["type"] == "control_cancel_request"]
    assert [c["request_id"] for c in cancels] == [ask["request_id"]]
    interrupt = next(f for f in host.seen if f["type"] == "control_response")["response"]
    assert interrupt["request_id"] == "int_1" and interrupt["response"] == {"still_queued": []}
    # the session goes on
    host.send(user("and now?"))
    assert host.until("result")["result"] == "later"
    assert host.finish() == 0 and not target.exists()


def test_line_framer_caps_the_length_of_a_line() -> None:
    framer = LineFramer(limit=10)
    assert framer.push(b'{"a":1}\n' + b"x" * 25 + b'\n{"b":2}\n') == [b'{"a":1}', None, b'{"b":2}']
    # a long line split over reads is reported once, and the line after it is intact
    assert framer.push(b"x" * 8) == []
    assert framer.push(b"x" * 8) == [None]
    assert framer.push(b"yyyy\nok") == []
    assert framer.flush() == b"ok"


def test_prompts_can_come_from_a_file(cli: Cli, tmp_path: Any) -> None:
    cli.sim.set_script([{"text": "from a file"}])
    source = tmp_path / "input.jsonl"
    source.write_text(ndjson(control("i", "initialize"), user("hi")))
    with source.open("rb") as stdin:
        done = subprocess.run(
            [sys.executable, "-m", "thrifty", *STREAM],
            cwd=cli.cwd,
            env=cli.env(),
            stdin=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    frames = [json.loads(line) for line in done.stdout.splitlines()]
    assert frames[0]["type"] == "control_response" and frames[-1]["result"] == "from a file"


def test_unknown_resume_id_fails_initialize_and_exits_1(cli: Cli) -> None:
    missing = "6f1d2f7e-1111-4222-8333-944445555666"
    run = stream(cli, control("i", "initialize"), user("hi"), args=(f"--resume={missing}",))
    assert run.code == 1
    reply = responses(run)["i"]
    assert reply["subtype"] == "error"
    assert reply["error"] == f"No conversation found with session ID: {missing}"
    assert run.stderr.strip() == f"error: No conversation found with session ID: {missing}"
    assert cli.sim.message_requests() == []
