"""The options' safety rules on the command line, in flag spellings (the SDK's side of each rule
is in tests/sdk/test_safety_rules.py: one validator serves both front ends)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from tests.cli.conftest import Cli
from tests.cli.test_stream_input import STREAM, Driver, control, ndjson, responses, user

root_only = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
UUID = "6f1d2c1e-0000-4000-8000-000000000000"
ROOT_REFUSAL = (
    "error: --dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons\n"
)


def _no_sandbox(cli: Cli, **extra: str) -> dict[str, str]:
    env = cli.env()
    env.pop("IS_SANDBOX", None)
    return {**env, **extra}


@root_only
@pytest.mark.parametrize(
    "flags", [("--permission-mode", "bypassPermissions"), ("--dangerously-skip-permissions",)]
)
def test_bypass_permissions_as_root_is_refused_outside_a_sandbox(cli: Cli, flags: tuple[str, ...]) -> None:
    run = cli("-p", "hi", *flags, env=_no_sandbox(cli))
    assert run.code == 1 and run.stderr == ROOT_REFUSAL and run.stdout == ""
    assert cli.sim.message_requests() == []


@root_only
def test_is_sandbox_lets_root_bypass_permissions(cli: Cli) -> None:
    cli.sim.set_script([{"text": "fine"}])
    run = cli("-p", "hi", "--dangerously-skip-permissions", env=_no_sandbox(cli, IS_SANDBOX="1"))
    assert run.code == 0 and run.stdout == "fine\n", run.stderr


@root_only
def test_switching_to_bypass_as_root_is_an_error_answer_not_the_end(cli: Cli) -> None:
    cli.sim.set_script([{"text": "still here"}])
    lines = ndjson(control("m1", "set_permission_mode", mode="bypassPermissions"), user("hi"))
    run = cli(*STREAM, stdin=lines, env=_no_sandbox(cli))
    answer = responses(run)["m1"]
    assert answer["subtype"] == "error" and "root/sudo" in answer["error"]
    assert run.code == 0 and run.lines[-1]["result"] == "still here"


def test_thrifty_max_retries_is_the_retry_count(cli: Cli) -> None:
    cli.sim.set_script([{"text": "never", "fault": {"kind": "overloaded", "times": 0}}])
    run = cli("-p", "x", "--output-format", "json", env=cli.env(THRIFTY_MAX_RETRIES="0"))
    assert run.code == 1 and run.json["api_error_status"] == 529
    assert len(cli.sim.message_requests()) == 1


def test_a_malformed_thrifty_max_retries_is_a_usage_error(cli: Cli) -> None:
    run = cli("-p", "x", env=cli.env(THRIFTY_MAX_RETRIES="many"))
    assert run.code == 1 and run.stderr == "error: THRIFTY_MAX_RETRIES must be a whole number, not 'many'\n"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--resume", UUID, "--continue"), "--resume and --continue cannot be used together"),
        (("--fork-session",), "--fork-session only works with --resume or --continue"),
        (("--session-id", UUID, "--continue"), "--session-id with --resume or --continue also needs"),
        (
            ("--resume", UUID, "--fork-session", "--no-session-persistence"),
            "--fork-session cannot be used with --no-session-persistence",
        ),
        (("--resume", "nope"), "Invalid session ID 'nope'. Must be a valid UUID."),
        (("--max-budget-usd", "-1"), "argument '-1' is invalid. --max-budget-usd must be a number greater"),
        (("--ledger", "x.db", "--no-ledger"), "--ledger and --no-ledger cannot be used together"),
        (("--setting-sources", "user,team"), "--setting-sources: unknown source 'team'"),
        (("--max-turns", "-2"), "--max-turns must be 0 (no limit) or a positive number"),
    ],
)
def test_option_conflicts_are_one_line_errors_in_flag_spelling(
    cli: Cli, flags: tuple[str, ...], message: str
) -> None:
    run = cli("-p", "x", *flags)
    assert run.code == 1 and run.stderr.startswith("error: ") and run.stderr.count("\n") == 1, run.stderr
    assert message in run.stderr
    assert cli.sim.message_requests() == []


def _next(host: Driver, *kinds: str) -> dict[str, Any]:
    """The next frame of one of ``kinds``: a result ends the wait instead of a hang on stdin."""
    assert host.proc.stdout is not None
    while line := host.proc.stdout.readline():
        frame: dict[str, Any] = json.loads(line)
        host.seen.append(frame)
        if frame["type"] in kinds:
            return frame
    raise AssertionError(f"none of {kinds}; got {host.seen}")


def test_add_directories_through_the_control_protocol(cli: Cli) -> None:
    other = cli.cwd.parent / "other"
    other.mkdir()
    first, second = cli.cwd / "1.txt", other / "2.txt"
    cli.sim.set_script(
        [
            {"tool_use": {"name": "Write", "input": {"file_path": str(first), "content": "x"}}},
            {"tool_use": {"name": "Write", "input": {"file_path": str(second), "content": "y"}}},
            {"text": "done"},
        ]
    )
    host = Driver(cli, "--permission-prompt-tool", "stdio")
    host.send(user("write both"))
    grant = {"type": "addDirectories", "directories": [str(other)], "destination": "session"}
    asked = []
    while (ask := _next(host, "control_request", "result"))["type"] == "control_request":
        # outside the working directories the second write would be denied without asking
        asked.append(ask["request"]["input"]["file_path"])
        allow = {"behavior": "allow", "updatedInput": ask["request"]["input"], "updatedPermissions": [grant]}
        reply = {"subtype": "success", "request_id": ask["request_id"], "response": allow}
        host.send({"type": "control_response", "response": reply})
    assert host.finish() == 0 and ask["permission_denials"] == []
    assert asked == [str(first), str(second)] and second.read_text() == "y"
