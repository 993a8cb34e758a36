"""A settings or config file thrifty cannot use stops every command with one line, exit 1.

Each test runs ``thrifty`` as a subprocess against the simulator and checks that a refused run
sent no request: a deny rule in a file that failed to parse must never be silently dropped.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, Run

SECRET = "TOP-SECRET-CONTENTS-7731"
TRAILING_COMMA = '{"permissions":{"deny":["Read"],}}'
PARSE_ERROR = "not valid JSON (line 1, column 33: Expecting property name enclosed in double quotes)"


def read_secret_script(cli: Cli) -> Path:
    secret = cli.cwd / "secret.txt"
    secret.write_text(SECRET)
    cli.sim.set_script(
        [{"tool_use": {"name": "Read", "input": {"file_path": str(secret)}}}, {"text": "Here it is."}]
    )
    return secret


def assert_refused(cli: Cli, run: Run, expected: str) -> None:
    """One ``error:`` line, exit 1, nothing on stdout, no crash log and no model request."""
    assert run.code == 1, run.stderr
    assert run.stdout == ""
    assert run.stderr == f"error: {expected}\n"
    assert cli.sim.message_requests() == []
    assert not (cli.data_dir / "logs").exists()


@pytest.mark.parametrize("where", ["user", "project", "local"])
def test_a_deny_rule_in_a_broken_settings_file_is_not_dropped(cli: Cli, where: str) -> None:
    read_secret_script(cli)
    path = {
        "user": cli.home / ".claude" / "settings.json",
        "project": cli.cwd / ".claude" / "settings.json",
        "local": cli.cwd / ".claude" / "settings.local.json",
    }[where]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(TRAILING_COMMA)
    run = cli("-p", "show me secret.txt", "--output-format", "json")
    assert_refused(cli, run, f"{path}: {PARSE_ERROR}")
    assert SECRET not in run.stdout


def test_the_same_file_fixed_denies_the_read(cli: Cli) -> None:
    """The control: with the comma gone the rule holds and the file's contents stay local."""
    read_secret_script(cli)
    (cli.cwd / ".claude").mkdir()
    (cli.cwd / ".claude" / "settings.json").write_text(TRAILING_COMMA.replace("],}", "]}"))
    run = cli("-p", "show me secret.txt", "--output-format", "json")
    assert run.code == 0
    requests = cli.sim.message_requests()
    assert len(requests) == 2 and "Read" not in [t["name"] for t in requests[0].body["tools"]]
    assert all(SECRET not in json.dumps(r.body) for r in requests)


def test_settings_flag_file_and_inline_json(cli: Cli) -> None:
    read_secret_script(cli)
    flag = cli.cwd / "extra.json"
    flag.write_text(TRAILING_COMMA)
    assert_refused(cli, cli("-p", "x", "--settings", str(flag)), f"{flag}: {PARSE_ERROR}")
    inline = cli("-p", "x", "--settings", TRAILING_COMMA)
    assert_refused(cli, inline, f"--settings: {PARSE_ERROR}")
    missing = cli("-p", "x", "--settings", "nope.json")
    assert_refused(cli, missing, f"--settings: {cli.cwd / 'nope.json'}: no such file")


def test_non_utf8_and_wrong_shape_settings(cli: Cli) -> None:
    path = cli.cwd / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_bytes(b'{"permissions": {"deny": ["R\xe9ad"]}}')
    assert_refused(cli, cli("-p", "x"), f"{path}: not UTF-8 text (byte 0xe9 at offset 28)")
    path.write_text('{"permissions": {"deny": "Read"}}')
    expected = f"{path}: permissions.deny must be an array of strings, got string"
    assert_refused(cli, cli("-p", "x"), expected)
    assert_refused(cli, cli("status"), expected)


def test_stream_json_input_fails_cleanly(cli: Cli) -> None:
    path = cli.cwd / ".claude" / "settings.local.json"
    path.parent.mkdir()
    path.write_text(TRAILING_COMMA)
    prompt = json.dumps({"type": "user", "message": {"role": "user", "content": "hi"}}) + "\n"
    run = cli(
        "-p",
        "--input-format",
        "stream-json",
        "--output-format",
        "stream-json",
        "--verbose",
        stdin=prompt,
    )
    assert run.code == 1
    assert run.stderr == f"error: {path}: {PARSE_ERROR}\n"
    assert cli.sim.message_requests() == []


def test_sources_left_out_are_not_read(cli: Cli) -> None:
    (cli.cwd / ".claude").mkdir()
    (cli.cwd / ".claude" / "settings.json").write_text(TRAILING_COMMA)
    cli.sim.set_script([{"text": "ok"}])
    assert cli("-p", "x", "--setting-sources", "user,local").code == 0
    cli.sim.set_script([{"text": "ok"}])
    assert cli("-p", "x", "--bare").code == 0
    assert len(cli.sim.message_requests()) == 2
    typo = cli("-p", "x", "--setting-sources", "user,projcet")
    assert typo.code == 1
    assert (
        typo.stderr == "error: --setting-sources: unknown source 'projcet' (expected user, project, local)\n"
    )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'{"project": "caf\xe9"}', "not UTF-8 text (byte 0xe9 at offset 16)"),
        (
            b'{"project": "x",}',
            "not valid JSON (line 1, column 17: Expecting property name enclosed in double quotes)",
        ),
    ],
)
@pytest.mark.parametrize(
    "command",
    [
        ["-p", "hello"],
        ["status"],
        ["usage", "daily"],
        ["usage", "blocks"],
        ["advise"],
        ["import", "--claude-dir", "CLAUDE_DIR"],
    ],
)
def test_a_broken_user_config_is_one_line_for_every_command(
    cli: Cli, command: list[str], content: bytes, problem: str
) -> None:
    config = cli.config_dir / "config.json"
    config.parent.mkdir(parents=True)
    config.write_bytes(content)
    claude_dir = cli.home / "claude-data"
    (claude_dir / "projects" / "p").mkdir(parents=True)
    (claude_dir / "projects" / "p" / "s.jsonl").write_text("")
    argv = [str(claude_dir) if arg == "CLAUDE_DIR" else arg for arg in command]
    assert_refused(cli, cli(*argv), f"{config}: {problem}")


def test_a_broken_project_config_is_one_line(cli: Cli) -> None:
    (cli.cwd / ".thrifty.json").write_bytes(b"\xff\xfe{}")
    expected = f"{cli.cwd / '.thrifty.json'}: not UTF-8 text (byte 0xff at offset 0)"
    assert_refused(cli, cli("-p", "hello"), expected)
    assert_refused(cli, cli("usage", "daily", "--json"), expected)
