"""A mistake must never cost money: typos, half-typed flags and bad rules end before any request.

Every case runs the real CLI against the simulator and then asserts that the simulator saw no
message request and the ledger holds no row, so "an error was printed" is not enough to pass.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tests.cli.conftest import Cli
from tests.usage.rows import make_row
from thrifty.billing.ledger import open_ledger
from thrifty.billing.ledger.sql import TABLE

FINAL = {"text": "All done."}


def ledger_rows(cli: Cli) -> int:
    if not cli.ledger_path.exists():
        return 0
    with sqlite3.connect(cli.ledger_path) as db:
        return int(db.execute(f"select count(*) from {TABLE}").fetchone()[0])


def sent_prompt(cli: Cli) -> str:
    content = cli.sim.message_requests()[-1].body["messages"][0]["content"]
    return str(content[0]["text"] if isinstance(content, list) else content)


def assert_refused(cli: Cli, run_code: int, stderr: str, needle: str) -> None:
    assert run_code == 1, stderr
    assert len(stderr.strip().splitlines()) == 1 and needle in stderr, stderr
    assert "Traceback" not in stderr
    assert cli.sim.message_requests() == []
    assert ledger_rows(cli) == 0


@pytest.mark.parametrize(
    ("word", "needle"),
    [
        ("staus", "did you mean 'thrifty status'"),
        ("usge", "did you mean 'thrifty usage'"),
        ("config", "did you mean 'thrifty status'"),
        ("sesions", "did you mean 'thrifty sessions'"),
        ("frobnicate", "'frobnicate' is not a thrifty command"),
    ],
)
def test_a_word_that_is_not_a_command_is_an_error_not_a_prompt(cli: Cli, word: str, needle: str) -> None:
    cli.sim.set_script([FINAL])
    run = cli(word)
    assert_refused(cli, run.code, run.stderr, needle)
    assert "-p" in run.stderr  # says how to ask the model on purpose


def test_a_sentence_without_p_is_refused_without_piped_input(cli: Cli) -> None:
    cli.sim.set_script([FINAL])
    run = cli("fix the failing test")
    assert_refused(cli, run.code, run.stderr, "use: thrifty -p 'fix the failing test'")


@pytest.mark.parametrize("word", ["frobnicate", "fix the failing test"])
def test_an_empty_pipe_is_not_piped_input(cli: Cli, word: str) -> None:
    cli.sim.set_script([FINAL])
    run = cli(word, stdin="")
    assert_refused(cli, run.code, run.stderr, "-p")


def test_a_near_miss_is_refused_even_with_piped_input(cli: Cli) -> None:
    cli.sim.set_script([FINAL])
    run = cli("staus", stdin="some input\n")
    assert_refused(cli, run.code, run.stderr, "did you mean 'thrifty status'")


def test_piped_input_with_a_sentence_still_runs_without_p(cli: Cli) -> None:
    cli.sim.set_script([FINAL])
    run = cli("summarize this", stdin="a diff\n")
    assert run.code == 0 and run.stdout == "All done.\n"
    assert sent_prompt(cli) == "summarize this\na diff\n"


def test_help_and_version_are_commands(cli: Cli) -> None:
    help_run = cli("help")
    assert help_run.code == 0 and "usage: thrifty -p PROMPT" in help_run.stdout
    usage_help = cli("help", "usage")
    assert usage_help.code == 0 and "usage: thrifty usage" in usage_help.stdout
    version = cli("version")
    assert version.code == 0 and version.stdout.endswith("(thrifty)\n")
    assert cli.sim.message_requests() == []


@pytest.mark.parametrize(
    "args",
    [
        ["-p", "hi", "--max-b", "0.5"],
        ["-p", "hi", "--max-budget", "0.5"],
        ["-p", "hi", "--debug-fil", "log.txt"],
        ["-p", "hi", "--allowed", "Read"],
        ["-p", "hi", "--output", "json"],
    ],
)
def test_flags_are_never_prefix_matched(cli: Cli, args: list[str]) -> None:
    cli.sim.set_script([FINAL])
    run = cli(*args)
    assert_refused(cli, run.code, run.stderr, "unrecognized arguments")
    assert not (cli.cwd / "log.txt").exists()


def test_debug_takes_a_filter_word_and_leaves_the_prompt_alone(cli: Cli) -> None:
    cli.sim.set_script([FINAL])
    run = cli("-p", "--debug", "api", "hi")
    assert run.code == 0 and run.stdout == "All done.\n"
    assert sent_prompt(cli) == "hi"
    assert not (cli.cwd / "api").exists()  # once read as --debug-file api


def test_debug_never_swallows_a_sentence(cli: Cli) -> None:
    cli.sim.set_script([FINAL])
    run = cli("-p", "-d", "fix the failing test")
    assert run.code == 0 and sent_prompt(cli) == "fix the failing test"
    assert "DEBUG" in run.stderr  # the log is on stderr; stdout is only the answer
    assert run.stdout == "All done.\n"


def test_debug_filter_keeps_only_the_named_categories(cli: Cli) -> None:
    cli.sim.set_script([FINAL])
    run = cli("-p", "hi", "--debug", "!cli,!agent,!billing,!stream,!tools,!sdk,!hooks,!model")
    assert run.code == 0
    assert [line for line in run.stderr.splitlines() if " thrifty." in line] == []


CLAUDE_CODE_FLAGS = [
    "--name",
    "nightly-review",
    "-n",
    "short-name",
    "--disable-slash-commands",
    "--allow-dangerously-skip-permissions",
    "--exclude-dynamic-system-prompt-sections",
    "--include-hook-events",
    "--system-prompt-snapshot",
    "on",
    "--permission-prompts",
    "none",
    "--forward-subagent-text",
    "--prompt-suggestions",
    "--fallback-model",
    "claude-haiku-5-5",
    "--effort",
    "high",
    "--betas",
    "one-beta",
    "two-beta",
    "--strict-mcp-config",
]


def test_claude_code_flags_are_accepted_with_their_values(cli: Cli) -> None:
    cli.sim.set_script([FINAL])
    run = cli("-p", *CLAUDE_CODE_FLAGS[:-4], "the prompt", *CLAUDE_CODE_FLAGS[-4:])
    assert run.code == 0, run.stderr
    # No flag's value leaked into the prompt, and the prompt was not taken as a value.
    assert sent_prompt(cli) == "the prompt"


def test_every_ignored_flag_is_listed_in_help(cli: Cli) -> None:
    # Without spaces: argparse may wrap a long flag at one of its hyphens.
    help_text = "".join(cli("--help").stdout.split())
    for flag in [f for f in CLAUDE_CODE_FLAGS if f.startswith("--")]:
        assert flag.replace("-", "") in help_text.replace("-", ""), flag


@pytest.mark.parametrize(
    ("rule", "named"),
    [
        ("Bash(git diff:*", "'Bash(git diff:*'"),
        ("Bash(git diff:*))", "'Bash(git diff:*))'"),
        ("Read(./src/**)x", "'Read(./src/**)x'"),
        ("(Read)", "'(Read)'"),
        ("Bash (ls)", "'(ls)'"),  # a space separates rules, so "(ls)" is a rule of its own
    ],
)
def test_a_malformed_permission_rule_is_an_error(cli: Cli, rule: str, named: str) -> None:
    cli.sim.set_script([FINAL])
    flag = "--disallowedTools" if len(rule) % 2 else "--allowedTools"  # both flags across the cases
    run = cli("-p", "hi", flag, rule)
    assert_refused(cli, run.code, run.stderr, f"Malformed permission rule {named}")


def test_a_malformed_rule_in_project_settings_is_an_error(cli: Cli) -> None:
    (cli.cwd / ".claude").mkdir()
    settings = {"permissions": {"deny": ["Read(./secret.txt"]}}
    (cli.cwd / ".claude" / "settings.json").write_text(json.dumps(settings))
    run = cli("-p", "hi")
    assert_refused(cli, run.code, run.stderr, "Malformed permission rule 'Read(./secret.txt'")


def test_well_formed_rules_still_run(cli: Cli) -> None:
    cli.sim.set_script([FINAL])
    run = cli("-p", "hi", "--allowedTools", "Bash(git diff:*),Read", "Edit(/docs/**)", "Bash(echo \\()")
    assert run.code == 0, run.stderr


def test_the_debug_file_is_private(cli: Cli) -> None:
    cli.sim.set_script([FINAL, FINAL])
    fresh = cli.cwd / "fresh.log"
    assert cli("-p", "hi", "--debug-file", str(fresh)).code == 0
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
    assert fresh.read_text()  # it does hold the log
    old = cli.cwd / "old.log"
    old.write_text("earlier\n")
    old.chmod(0o644)
    assert cli("-p", "hi", "--debug-file", str(old)).code == 0
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    assert old.read_text().startswith("earlier\n")  # appended, not truncated


def test_replay_user_messages_echoes_each_message(cli: Cli) -> None:
    cli.sim.set_script([FINAL])
    message = {"type": "user", "message": {"role": "user", "content": "hello"}, "uuid": "u-1"}
    run = cli(
        "--input-format",
        "stream-json",
        "--output-format",
        "stream-json",
        "--verbose",
        "--replay-user-messages",
        stdin=json.dumps(message) + "\n",
    )
    assert run.code == 0, run.stderr
    replays = [f for f in run.lines if f.get("isReplay")]
    assert len(replays) == 1
    assert replays[0]["type"] == "user" and replays[0]["uuid"] == "u-1"
    assert replays[0]["message"] == message["message"] and replays[0]["session_id"]


def test_replay_user_messages_needs_stream_json_input(cli: Cli) -> None:
    run = cli("-p", "hi", "--replay-user-messages")
    assert_refused(cli, run.code, run.stderr, "--replay-user-messages requires --input-format=stream-json")


def test_a_closed_pipe_is_a_normal_end(cli: Cli) -> None:
    """``thrifty usage daily --csv | head -1``: the reader leaves early; no crash, no crash log."""
    start = datetime.now(UTC) - timedelta(days=400)
    rows = [make_row(at=start + timedelta(hours=7 * i)) for i in range(1200)]
    ledger = open_ledger(str(cli.ledger_path))
    try:
        assert ledger.append_many(rows) == len(rows)
    finally:
        ledger.close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "thrifty", "usage", "daily", "--csv", "--since", "500d"],
        cwd=cli.cwd,
        env=cli.env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b"key,")
    proc.stdout.close()
    code = proc.wait(timeout=60)
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    assert code == 0 and stderr == ""
    logs = cli.data_dir / "logs"
    assert not logs.exists() or os.listdir(logs) == []


@pytest.mark.parametrize(
    "args",
    [
        ["usage", "daily", "--since", "99999999d"],
        ["usage", "daily", "--since", "0001-01-01"],
        ["usage", "monthly", "--until", "9999-12-31"],
        ["usage", "blocks", "--since", "99999999999999999999w"],
    ],
)
def test_extreme_dates_are_read_not_crashed_on(cli: Cli, args: list[str]) -> None:
    run = cli(*args)
    assert run.code == 0, run.stderr
    assert "internal error" not in run.stderr


def test_a_mistake_is_reported_before_the_agent_is_loaded() -> None:
    """Refusals come before the agent and the anthropic client are imported: a typo costs
    neither money nor the second of start-up a run needs."""
    script = (
        "import sys\n"
        "from thrifty.cli.main import main\n"
        "for argv in (['staus'], ['-p', 'hi', '--max-b', '1'], ['fix it']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(sorted(m for m in ('anthropic', 'thrifty.agent.loop') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "[]", done.stderr
    assert done.stderr.count("error: ") == 3
