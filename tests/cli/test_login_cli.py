"""``thrifty login`` / ``logout`` as a user runs them: the token goes in on stdin and never comes out."""

from __future__ import annotations

import argparse
import io
import json
import stat
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, Run
from thrifty.cli import login as login_cmd
from thrifty.cli.errors import UsageError
from thrifty.cli.main import main

TOKEN = "sk-ant-oat01-cli-login-token-" + "Z" * 24


def file_env(cli: Cli, **extra: str) -> dict[str, str]:
    return cli.env(
        THRIFTY_CONFIG_DIR=str(cli.home / "thrifty-config"),
        THRIFTY_DATA_DIR=str(cli.home / "thrifty-data"),
        THRIFTY_KEYRING="0",
        **extra,
    )


def credentials(cli: Cli) -> Path:
    return cli.home / "thrifty-config" / "credentials.json"


def assert_no_token(run: Run, token: str = TOKEN) -> None:
    assert token not in run.stdout and token not in run.stderr
    assert token[-12:] not in run.stdout + run.stderr


def test_login_reads_stdin_and_stores_a_private_file(cli: Cli) -> None:
    run = cli("login", "--plan", "max-5x", stdin=TOKEN + "\n", env=file_env(cli))
    assert run.code == 0, run.stderr
    assert_no_token(run)
    path = credentials(cli)
    assert run.stdout.splitlines()[0] == f"Stored the plan token in {path}"
    assert "Plan: Max 5x ($100/mo; estimated limits:" in run.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    stored = json.loads(path.read_text())
    assert stored["token"] == TOKEN and stored["plan"]["name"] == "max-5x"
    # The conftest environment has ANTHROPIC_API_KEY set: the user is told it will win.
    assert "ANTHROPIC_API_KEY is set here and takes precedence" in run.stderr


def test_only_the_first_line_of_stdin_is_the_token(cli: Cli) -> None:
    run = cli("login", stdin=f"  {TOKEN}  \nsecond line\n", env=file_env(cli, ANTHROPIC_API_KEY=""))
    assert run.code == 0 and run.stderr == ""
    assert json.loads(credentials(cli).read_text())["token"] == TOKEN
    assert "Plan: Pro" in run.stdout


def test_a_token_on_the_command_line_is_refused_without_echo(cli: Cli) -> None:
    runs = [
        cli(*args, stdin=TOKEN, env=file_env(cli)) for args in (["login", TOKEN], ["login", "--plan", TOKEN])
    ]
    for run in runs:
        assert run.code == 1 and run.stdout == ""
        assert_no_token(run)
        assert run.stderr.count("\n") == 1 and run.stderr.startswith("error: ")
    assert not credentials(cli).exists()
    assert "do not pass the token as an argument" in runs[0].stderr and "pipe it on stdin" in runs[0].stderr


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        ([], "", "error: no token given"),
        ([], "\n\n", "error: no token given"),
        ([], "sk-ant-api03-" + "k" * 30 + "\n", "error: that is an API key, not a plan token"),
        ([], "two words-" + "w" * 20 + "\n", "error: the token contains spaces"),
        (["--plan", "ultra"], TOKEN, "error: --plan must be one of pro, max-5x, max-20x, team, custom"),
        (
            ["--plan", "custom", "--weekly-tokens", "5"],
            TOKEN,
            "error: --plan custom needs --five-hour-tokens",
        ),
        (
            ["--weekly-tokens", "5"],
            TOKEN,
            "error: --five-hour-tokens, --weekly-tokens and --monthly-fee go with",
        ),
        (
            ["--plan", "custom", "--five-hour-tokens", "x", "--weekly-tokens", "5", "--monthly-fee", "1"],
            TOKEN,
            "error: --five-hour-tokens must be a positive whole number",
        ),
        (
            ["--plan", "custom", "--five-hour-tokens", "9", "--weekly-tokens", "5", "--monthly-fee", "1"],
            TOKEN,
            "error: --plan custom: the weekly limit cannot be smaller than the 5-hour limit",
        ),
    ],
)
def test_user_mistakes_are_one_line_errors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys, args: list[str], stdin: str, message: str
) -> None:
    """In-process through ``main`` (same parser, same error path), so the matrix stays fast."""
    monkeypatch.setenv("THRIFTY_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setenv("THRIFTY_KEYRING", "0")
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    assert main(["login", *args]) == 1
    out = capsys.readouterr()
    assert out.out == "" and out.err.startswith(message) and out.err.count("\n") == 1, out.err
    assert TOKEN not in out.err
    assert not (tmp_path / "cfg" / "credentials.json").exists()


def test_custom_plans_are_not_called_estimates(cli: Cli) -> None:
    args = [
        "--plan",
        "custom",
        "--five-hour-tokens",
        "1000",
        "--weekly-tokens",
        "9000",
        "--monthly-fee",
        "12.50",
    ]
    run = cli("login", *args, stdin=TOKEN, env=file_env(cli))
    assert run.code == 0
    assert "Plan: Custom plan ($12.50/mo; limits: 1,000 per 5 hours, 9,000 per week" in run.stdout
    assert "estimated" not in run.stdout


def test_a_second_login_replaces_the_first(cli: Cli) -> None:
    env = file_env(cli)
    assert cli("login", stdin=TOKEN, env=env).code == 0
    other = "sk-ant-oat01-second-token-" + "Y" * 20
    run = cli("login", "--plan", "team", stdin=other, env=env)
    assert run.code == 0 and run.stdout.startswith("Replaced the stored plan token in")
    assert_no_token(run, other)
    assert json.loads(credentials(cli).read_text())["token"] == other


def test_logout_removes_it_and_is_fine_when_nothing_is_stored(cli: Cli) -> None:
    env = file_env(cli)
    assert cli("login", stdin=TOKEN, env=env).code == 0
    first = cli("logout", env=env)
    assert first.code == 0 and first.stdout == f"Removed the stored plan token from {credentials(cli)}\n"
    assert not credentials(cli).exists()
    second = cli("logout", env=env)
    assert second.code == 0 and second.stdout.startswith("No plan token was stored in")
    assert_no_token(first)
    assert_no_token(second)


def test_logout_clears_a_corrupt_file(cli: Cli) -> None:
    path = credentials(cli)
    path.parent.mkdir(parents=True)
    path.write_text('{"token": "' + TOKEN + '", "plan": ')
    run = cli("logout", env=file_env(cli))
    assert run.code == 0 and not path.exists()
    assert_no_token(run)


def test_help_explains_where_the_token_comes_from_and_goes(cli: Cli) -> None:
    run = cli("login", "--help", env=file_env(cli))
    assert run.code == 0
    text = " ".join(run.stdout.split())
    for phrase in (
        "claude setup-token",
        "hidden prompt",
        "never accepted as an argument",
        "0600",
        "--plan custom",
    ):
        assert phrase in text
    with pytest.raises(SystemExit) as exit_info:
        main(["logout", "--help"])
    assert exit_info.value.code == 0


def test_a_terminal_gets_a_hidden_prompt(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    """In-process: a subprocess has no terminal to prompt on."""
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return TOKEN

    monkeypatch.setenv("THRIFTY_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setenv("THRIFTY_KEYRING", "0")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr(login_cmd.getpass, "getpass", fake_getpass)
    args = argparse.Namespace(
        token=[], plan="max-20x", five_hour_tokens=None, weekly_tokens=None, monthly_fee=None
    )
    assert login_cmd.run(args) == 0
    assert prompts == ["Paste your Claude plan token (input hidden): "]
    out = capsys.readouterr()
    assert TOKEN not in out.out + out.err and "Max 20x" in out.out
    monkeypatch.setattr(login_cmd.getpass, "getpass", lambda prompt="": "")
    with pytest.raises(UsageError, match="no token given"):
        login_cmd.run(args)
