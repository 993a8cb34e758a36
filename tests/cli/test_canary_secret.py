"""A canary secret never appears in any output, log, ledger or error, whichever way the run goes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, Run
from thrifty.cli.crash import report_crash
from thrifty.testing import Simulator
from thrifty.testing.script import AccountSpec

CANARY = "sk-ant-api03-CANARY-7f3a9c2e1b5d4f6a8e0c"
PLAN_CANARY = "sk-ant-oat01-CANARY-PLAN-2b4d6f8a0c1e3a5b"
#: What a mask hides (it may show the first 7 and last 2 characters): none of it may leak.
HIDDEN = [CANARY[7:-2], PLAN_CANARY[7:-2]]
LOOP = {"tool_use": {"name": "Bash", "input": {"command": "echo hi"}}}


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir()
    home.mkdir()
    accounts = [AccountSpec(key=CANARY, mode="api"), AccountSpec(key=PLAN_CANARY, mode="plan")]
    with Simulator([LOOP, {"text": "done"}], accounts=accounts) as sim:
        yield Cli(sim, project, home)


def assert_clean(*runs: Run) -> None:
    for run in runs:
        for stream in (run.stdout, run.stderr):
            assert not any(h in stream for h in HIDDEN), stream[-500:]


def assert_files_clean(*roots: Path) -> None:
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and path.name != "credentials.json":  # the store is meant to hold it
                data = path.read_bytes()
                assert not any(h.encode() in data for h in HIDDEN), path


def test_runs_in_every_format_never_print_the_key(cli: Cli) -> None:
    env = cli.env(ANTHROPIC_API_KEY=CANARY)
    runs = [
        cli("-p", "go", "--allowedTools", "Bash", env=env),
        cli("-p", "go", "--allowedTools", "Bash", "--output-format", "json", "--verbose", env=env),
        cli(
            "-p",
            "go",
            "--allowedTools",
            "Bash",
            "--output-format",
            "stream-json",
            "--verbose",
            "--include-partial-messages",
            env=env,
        ),
        cli("status", env=env),
        cli("status", "--json", env=env),
        cli("usage", "daily", env=env),
        cli("usage", "session", "--json", env=env),
    ]
    assert all(r.code == 0 for r in runs), [r.stderr for r in runs]
    assert_clean(*runs)
    assert_files_clean(cli.data_dir, cli.config_dir, cli.cwd)
    assert all(h not in json.dumps(r.__dict__) for r in cli.sim.requests for h in HIDDEN)


def test_errors_never_print_the_key(cli: Cli) -> None:
    wrong = CANARY + "-revoked"
    runs = [
        cli("-p", "x", env=cli.env(ANTHROPIC_API_KEY=wrong)),  # 401 from the server
        cli("-p", "x", "--output-format", "json", env=cli.env(ANTHROPIC_API_KEY=wrong)),
        cli(
            "-p",
            "x",
            "--ledger",
            f"postgresql://u:{CANARY}@127.0.0.1:1/db",
            env=cli.env(ANTHROPIC_API_KEY=CANARY),
        ),
        cli(
            "status",
            "--ledger",
            f"postgresql://u:{CANARY}@127.0.0.1:1/db",
            env=cli.env(ANTHROPIC_API_KEY=CANARY),
        ),
        cli("-p", "x", "--billing-mode", "plan", env=cli.env(ANTHROPIC_API_KEY=CANARY)),
    ]
    assert all(r.code == 1 for r in runs), [(r.code, r.stderr) for r in runs]
    assert_clean(*runs)
    assert_files_clean(cli.data_dir, cli.config_dir)


def test_api_key_helper_output_stays_secret(cli: Cli) -> None:
    settings = json.dumps({"apiKeyHelper": f"echo {CANARY}"})
    env = cli.env()
    del env["ANTHROPIC_API_KEY"]
    runs = [
        cli("-p", "go", "--allowedTools", "Bash", "--settings", settings, "--output-format", "json", env=env),
        cli("-p", "go", "--settings", json.dumps({"apiKeyHelper": f"echo {CANARY}; exit 3"}), env=env),
    ]
    assert runs[0].code == 0 and runs[0].json["billing"]["source"] == "apiKeyHelper"
    assert runs[1].code == 1 and "apiKeyHelper" in runs[1].stderr
    assert_clean(*runs)
    assert_files_clean(cli.data_dir, cli.config_dir)


def test_a_plan_token_stays_secret_through_a_plan_run(cli: Cli) -> None:
    """The token reaches only Claude Code: thrifty's output, ledger and config never hold it."""
    claude_agent_sdk = pytest.importorskip("claude_agent_sdk")
    claude = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
    env = cli.env(
        CLAUDE_CODE_OAUTH_TOKEN=PLAN_CANARY,
        THRIFTY_CLAUDE_PATH=str(claude),
        CLAUDE_CONFIG_DIR=str(cli.home / ".claude"),
    )
    del env["ANTHROPIC_API_KEY"]
    runs = [
        cli("login", "--plan", "max-20x", "--credit-claimed", stdin=PLAN_CANARY + "\n", env=env),
        cli("-p", "go", "--allowedTools", "Bash", "--output-format", "stream-json", "--verbose", env=env),
        cli("status", "--json", env=env),
        cli("-p", "go", "--output-format", "json", "--debug-file", str(cli.home / "debug.log"), env=env),
        cli("logout", env=env),
    ]
    assert [r.code for r in runs] == [0, 0, 0, 0, 0], [r.stderr for r in runs]
    assert_clean(*runs)
    assert_files_clean(cli.data_dir, cli.config_dir, cli.cwd)
    assert not any(h in (cli.home / "debug.log").read_text() for h in HIDDEN)
    sent = cli.sim.message_requests()
    assert sent and all(r.account and r.account.startswith("plan:") for r in sent)
    assert all(r.headers.get("user-agent", "").startswith("claude-cli/") for r in sent)


def test_a_crash_report_redacts_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", CANARY)
    try:
        raise RuntimeError(f"request failed with headers {{'x-api-key': '{CANARY}'}}")
    except RuntimeError as exc:
        log = report_crash(exc, log_dir=tmp_path)
    err = capsys.readouterr().err
    assert log is not None and "internal error (RuntimeError)" in err and str(log) in err
    assert not any(h in err or h in log.read_text() for h in HIDDEN)
    assert "x-api-key" in log.read_text()  # the rest of the traceback is kept for the bug report
    assert log.stat().st_mode & 0o777 == 0o600
