"""``thrifty login`` / ``logout`` as a user runs them: they record a plan, never take a token, and
clear away the token an older thrifty stored."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, Run
from thrifty.billing.plan_presets import PRESETS
from thrifty.billing.secret import Secret
from thrifty.billing.store import CredentialStore, StoredLogin
from thrifty.cli.main import main

TOKEN = "sk-ant-oat01-cli-login-token-" + "Z" * 24


def file_env(cli: Cli, **extra: str) -> dict[str, str]:
    return cli.env(
        THRIFTY_CONFIG_DIR=str(cli.home / "thrifty-config"),
        THRIFTY_DATA_DIR=str(cli.home / "thrifty-data"),
        THRIFTY_KEYRING="0",
        PATH=str(cli.home / "no-claude-here") + ":/usr/bin:/bin",
        **extra,
    )


def config(cli: Cli) -> dict[str, object]:
    data = json.loads((cli.home / "thrifty-config" / "config.json").read_text())
    assert isinstance(data, dict)
    return data


def fake_claude(cli: Cli, status: str) -> str:
    script = cli.home / "bin" / "claude"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' '{status}'\n")
    script.chmod(0o755)
    return str(script)


def assert_no_token(run: Run, token: str = TOKEN) -> None:
    assert token not in run.stdout and token not in run.stderr
    assert token[-12:] not in run.stdout + run.stderr


def test_login_records_the_plan_in_the_user_config(cli: Cli) -> None:
    env = file_env(cli, THRIFTY_CLAUDE_PATH=fake_claude(cli, '{"loggedIn": true, "authMethod": "claude.ai"}'))
    run = cli("login", "--plan", "max-5x", "--cycle-day", "14", "--credit-claimed", env=env)
    assert run.code == 0, run.stderr
    assert "Plan: Max 5x ($100/mo; estimated limits:" in run.stdout
    assert "is logged in (claude.ai); plan runs go through it" in run.stdout
    assert config(cli)["plan"] == {
        "name": "max-5x",
        "billingCycleDay": 14,
        "agentSdkCredit": {"claimed": True, "usageCredits": False, "stopAt": "credit"},
    }
    # A later login changes only what it is told, and keeps the rest of the file.
    path = cli.home / "thrifty-config" / "config.json"
    path.write_text(json.dumps({**config(cli), "billingMode": "plan"}))
    again = cli("login", "--usage-credits", "--stop-at", "never", env=env)
    assert again.code == 0, again.stderr
    data = config(cli)
    assert data["billingMode"] == "plan"
    assert data["plan"] == {
        "name": "max-5x",
        "billingCycleDay": 14,
        "agentSdkCredit": {"claimed": True, "usageCredits": True, "stopAt": "never"},
    }


def test_login_says_what_is_missing_without_failing(cli: Cli) -> None:
    run = cli("login", "--plan", "pro", env=file_env(cli))
    assert run.code == 0
    assert "not marked as claimed" in run.stderr and "Claude Code was not found" in run.stderr
    logged_out = file_env(cli, THRIFTY_CLAUDE_PATH=fake_claude(cli, '{"loggedIn": false}'))
    second = cli("login", "--credit-claimed", env=logged_out)
    assert second.code == 0 and "Claude Code is not logged in" in second.stderr


def test_a_token_is_refused_and_never_echoed(cli: Cli) -> None:
    run = cli("login", TOKEN, env=file_env(cli))
    assert run.code == 1
    assert run.stderr.startswith("error: thrifty does not take plan tokens") and run.stderr.count("\n") == 1
    assert_no_token(run)
    assert not (cli.home / "thrifty-config" / "config.json").exists()
    # Piped in, as the old `thrifty login < token.txt` did: not read at all.
    piped = cli("login", "--plan", "pro", stdin=TOKEN + "\n", env=file_env(cli))
    assert piped.code == 0 and TOKEN not in json.dumps(config(cli))
    assert_no_token(piped)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "error: --plan is required: one of pro, max-5x"),
        (["--plan", "mega"], "error: --plan must be one of pro, max-5x"),
        (
            ["--plan", "custom"],
            "error: --plan custom needs --five-hour-tokens, --weekly-tokens and --monthly-fee",
        ),
        (
            ["--plan", "pro", "--monthly-fee", "5"],
            "error: --five-hour-tokens, --weekly-tokens, --monthly-fee",
        ),
        (["--plan", "pro", "--cycle-day", "32"], "error: --cycle-day must be a day of the month, 1 to 31"),
        (["--plan", "pro", "--cycle-day", "x"], "error: --cycle-day must be a positive whole number of days"),
        (
            ["--plan", "custom", "--five-hour-tokens", "9", "--weekly-tokens", "5", "--monthly-fee", "1"],
            "error: --plan custom: the weekly limit cannot be smaller than the 5-hour limit",
        ),
    ],
)
def test_user_mistakes_are_one_line_errors(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    """In-process through ``main`` (same parser, same error path), so the matrix stays fast."""
    monkeypatch.setenv("THRIFTY_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setenv("THRIFTY_KEYRING", "0")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["login", *args]) == 1
    out = capsys.readouterr()
    assert out.out == "" and out.err.startswith(message) and out.err.count("\n") == 1, out.err
    assert not (tmp_path / "cfg" / "config.json").exists()


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
    run = cli("login", *args, "--sdk-credit", "15", env=file_env(cli))
    assert run.code == 0, run.stderr
    assert "Plan: Custom plan ($12.50/mo; limits: 1,000 per 5 hours, 9,000 per week" in run.stdout
    assert "estimated" not in run.stdout
    plan = config(cli)["plan"]
    assert isinstance(plan, dict) and plan["agentSdkCreditUsd"] == "15"


def legacy_store(cli: Cli, plan: str = "max-20x") -> CredentialStore:
    env = {"THRIFTY_CONFIG_DIR": str(cli.home / "thrifty-config"), "THRIFTY_KEYRING": "0"}
    store = CredentialStore(env)
    store.save(StoredLogin(Secret(TOKEN), PRESETS[plan], datetime.now(UTC)))
    return store


def test_login_migrates_a_token_an_older_thrifty_stored(cli: Cli) -> None:
    store = legacy_store(cli)
    run = cli("login", "--credit-claimed", env=file_env(cli))
    assert run.code == 0, run.stderr
    assert "Deleted the plan token an older thrifty stored" in run.stdout
    assert not store.exists()
    plan = config(cli)["plan"]
    assert isinstance(plan, dict) and plan["name"] == "max-20x"  # the plan it was stored with
    assert_no_token(run)


def test_status_and_runs_warn_about_a_stored_token_until_logout(cli: Cli) -> None:
    store = legacy_store(cli)
    env = file_env(cli)
    status = cli("status", env=env)
    assert "older thrifty" in status.stdout and "thrifty logout" in status.stdout
    assert_no_token(status)
    out = cli("logout", env=env)
    assert out.code == 0 and "Deleted the plan token an older thrifty stored" in out.stdout
    assert "Claude Code's own login is untouched" in out.stdout
    assert not store.exists()
    assert "older thrifty" not in cli("status", env=env).stdout


def test_logout_forgets_the_plan_and_is_fine_with_nothing_to_do(cli: Cli) -> None:
    env = file_env(cli)
    assert cli("login", "--plan", "pro", env=env).code == 0
    first = cli("logout", env=env)
    assert first.code == 0 and "Removed the plan settings from" in first.stdout
    assert "plan" not in config(cli)
    second = cli("logout", env=env)
    assert second.code == 0 and second.stdout.startswith("No plan settings or stored plan token")


def test_logout_clears_a_corrupt_legacy_file(cli: Cli) -> None:
    path = cli.home / "thrifty-config" / "credentials.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"token": "' + TOKEN + '", "plan": ')
    run = cli("logout", env=file_env(cli))
    assert run.code == 0 and not path.exists()
    assert_no_token(run)


def test_help_explains_that_no_token_is_taken(cli: Cli) -> None:
    run = cli("login", "--help", env=file_env(cli))
    assert run.code == 0
    text = " ".join(run.stdout.split())
    for phrase in (
        "never takes or sends plan tokens",
        "claude",
        "Agent SDK credit",
        "--plan custom",
        "Examples:",
    ):
        assert phrase in text
    with pytest.raises(SystemExit) as exit_info:
        main(["logout", "--help"])
    assert exit_info.value.code == 0


def test_anthropics_current_plan_names_are_accepted(cli: Cli) -> None:
    """Max 5x is sold as "Max" and Max 20x as "Ultra" since 2026-10-30; both names work."""
    env = file_env(cli, THRIFTY_CLAUDE_PATH=fake_claude(cli, '{"loggedIn": true, "authMethod": "claude.ai"}'))
    run = cli("login", "--plan", "ultra", "--cycle-day", "3", env=env)
    assert run.code == 0, run.stderr
    assert config(cli)["plan"]["name"] == "max-20x"
    advise = cli("usage", "blocks", "--plan", "max", env=env)
    assert advise.code == 0, advise.stderr
