"""Who pays, end to end: runs as subprocesses against the simulator, rows read back from the ledger."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.cli.conftest import Cli
from thrifty.billing.ledger import LedgerRow, RowQuery, open_ledger
from thrifty.testing import Simulator
from thrifty.testing.script import AccountSpec

claude_agent_sdk = pytest.importorskip("claude_agent_sdk")
CLAUDE = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
LOOP = {"tool_use": {"name": "Bash", "input": {"command": "echo hi"}}}
PLAN_TOKEN = "sk-ant-oat-sim-plan-token"


def rows(cli: Cli) -> list[LedgerRow]:
    ledger = open_ledger(str(cli.ledger_path))
    try:
        return ledger.query(RowQuery())
    finally:
        ledger.close()


def plan_env(cli: Cli) -> dict[str, str]:
    """A plan token for Claude Code and the real ``claude`` to run it: thrifty never sends it."""
    env = cli.env(THRIFTY_CLAUDE_PATH=str(CLAUDE), CLAUDE_CONFIG_DIR=str(cli.home / ".claude"))
    del env["ANTHROPIC_API_KEY"]
    env["CLAUDE_CODE_OAUTH_TOKEN"] = PLAN_TOKEN
    return env


def test_every_call_is_one_ledger_row_and_the_result_comes_from_the_meter(cli: Cli) -> None:
    cli.sim.set_script([LOOP, LOOP, {"text": "done"}])
    run = cli("-p", "go", "--allowedTools", "Bash", "--output-format", "json", "--tag", "job=nightly")
    result = run.json
    assert run.code == 0 and result["billing"]["mode"] == "api"
    assert result["billing"]["source"] == "ANTHROPIC_API_KEY"
    recorded = rows(cli)
    sent = [r for r in cli.sim.message_requests() if r.status == 200]
    assert sorted(r.request_id for r in recorded) == sorted(r.request_id for r in sent)
    assert len(recorded) == 3 and {r.tags["job"] for r in recorded} == {"nightly"}
    assert {r.session_id for r in recorded} == {result["session_id"]}
    total = sum((r.cost_usd or Decimal(0)) for r in recorded)
    assert abs(Decimal(str(result["total_cost_usd"])) - total) < Decimal("1e-12")
    assert result["usage"]["output_tokens"] == sum(r.output_tokens for r in recorded)


def test_failed_attempts_that_returned_usage_are_recorded_too(cli: Cli) -> None:
    cli.sim.set_script([{"text": "made it", "fault": {"kind": "stream_cut", "after_events": 4}}])
    run = cli("-p", "x", "--output-format", "json")
    assert run.code == 0
    recorded = rows(cli)
    assert [r.complete for r in recorded] == [False, True]
    assert len({r.request_id for r in recorded}) == 2


def test_status_names_the_winner_and_what_it_shadowed(cli: Cli) -> None:
    env = cli.env(
        CLAUDE_CODE_OAUTH_TOKEN=PLAN_TOKEN,
        THRIFTY_CLAUDE_PATH=str(CLAUDE),
        CLAUDE_CONFIG_DIR=str(cli.home / ".claude"),
    )
    assert cli("login", "--plan", "max-5x", "--credit-claimed", env=env).code == 0
    status = cli("status", "--json", env=env)
    info = status.json
    assert status.code == 0
    assert info["billingMode"] == "api" and info["authSource"] == "ANTHROPIC_API_KEY"
    assert {r["name"]: r["state"] for r in info["rules"]}["CLAUDE_CODE_OAUTH_TOKEN"] == "shadowed"
    assert info["warnings"] and "--billing-mode plan" in info["warnings"][0]
    text = cli("status", env=env).stdout
    assert "ANTHROPIC_API_KEY (api) won" in text and "shadowed" in text
    # Pinning the mode makes the plan win, and a run then goes through Claude Code.
    pinned = cli("status", "--json", "--billing-mode", "plan", env=env).json
    assert pinned["authSource"] == "CLAUDE_CODE_OAUTH_TOKEN"
    assert pinned["pinned"] == {"mode": "plan", "by": "--billing-mode"}
    assert pinned["claudeCode"] == {"binary": str(CLAUDE), "authMethod": "oauth_token"}
    assert pinned["agentSdkCredit"]["remainingPercent"] == 100
    run = cli("-p", "hi", "--billing-mode", "plan", "--output-format", "json", env=env)
    assert run.json["billing"] == {
        "mode": "plan",
        "source": "CLAUDE_CODE_OAUTH_TOKEN",
        "account": "claude-code:max-5x",
        "ledger": str(cli.ledger_path),
    }
    last = cli.sim.message_requests()[-1]
    assert (last.auth_scheme, last.account) == ("bearer", "sim-plan")
    assert last.headers.get("user-agent", "").startswith("claude-cli/")
    [row] = [r for r in rows(cli) if r.mode == "plan"]
    assert row.account == "claude-code:max-5x" and row.request_id == last.request_id
    after = cli("status", "--json", "--billing-mode", "plan", env=env).json["agentSdkCredit"]
    assert Decimal(after["usedUsd"]) == row.cost_usd and after["remainingPercent"] < 100


def test_api_key_shadowing_a_plan_token_is_said_on_stderr(cli: Cli) -> None:
    run = cli("-p", "hi", env=cli.env(CLAUDE_CODE_OAUTH_TOKEN=PLAN_TOKEN))
    assert run.code == 0 and run.stdout.strip()
    assert (
        "billing per token to ANTHROPIC_API_KEY while a plan credential (CLAUDE_CODE_OAUTH_TOKEN)"
        in run.stderr
    )
    assert cli.sim.message_requests()[-1].account == "sim-api"


def test_a_project_file_pins_plan_and_refuses_to_fall_back_to_a_key(cli: Cli) -> None:
    (cli.cwd / ".thrifty.json").write_text(json.dumps({"billingMode": "plan"}))
    run = cli("-p", "hi", "--output-format", "json")
    assert run.code == 1 and cli.sim.message_requests() == []
    assert "billing mode is pinned to plan by" in run.json["result"]


def test_usage_adds_up_what_runs_recorded(cli: Cli) -> None:
    cli.sim.set_script([LOOP, {"text": "done"}])
    assert cli("-p", "go", "--allowedTools", "Bash").code == 0
    report = cli("usage", "daily", "--json").json
    recorded = rows(cli)
    [api_row] = [r for r in report["rows"] if r["mode"] == "api"]
    assert api_row["calls"] == len(recorded) == 2
    assert Decimal(api_row["cost"]) == sum((r.cost_usd or Decimal(0)) for r in recorded)


@pytest.fixture
def plan_cli(tmp_path: Path) -> Iterator[Cli]:
    # A small 5-hour window: claude's first request (its system prompt written to the cache) fills
    # ~84% of it; later ones read that cache, which windows do not count.
    accounts = [
        AccountSpec(key="sk-ant-sim-api-key", mode="api"),
        AccountSpec(key=PLAN_TOKEN, mode="plan", five_hour_limit=14_000, weekly_limit=1_000_000),
    ]
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir()
    home.mkdir()
    with Simulator(accounts=accounts) as sim:
        yield Cli(sim, project, home)


def test_plan_window_warns_at_80_percent_and_status_reports_it(plan_cli: Cli) -> None:
    cli = plan_cli
    cli.sim.set_script([LOOP, LOOP, {"text": "done"}])
    run = cli(
        "-p", "go", "--allowedTools", "Bash", "--output-format", "stream-json", "--verbose", env=plan_env(cli)
    )
    frames = run.lines
    limits = [f for f in frames if f["type"] == "rate_limit_event"]
    assert limits and limits[-1]["rate_limit_info"]["rateLimitType"] in ("five_hour", "seven_day")
    notices = [f["message"] for f in frames if f.get("subtype") == "billing_notice"]
    assert any("5-hour window used" in n for n in notices)
    info = cli("status", "--json", env=plan_env(cli)).json
    [five] = [w for w in info["windows"] if w["name"] == "five_hour"]
    assert five["source"] == "server" and five["remainingPercent"] < 20
    assert "of your 5-hour window remaining" in five["text"]
    assert info["billingMode"] == "plan"


def test_plan_window_stop_level_ends_the_run_before_the_server_refuses(plan_cli: Cli) -> None:
    cli = plan_cli
    (cli.cwd / ".thrifty.json").write_text(json.dumps({"planWindows": {"stopAt": 0.5}}))
    cli.sim.set_script([LOOP] * 5)
    run = cli("-p", "go", "--allowedTools", "Bash", "--output-format", "json", env=plan_env(cli))
    result = run.json
    assert run.code == 1 and result["subtype"] == "error_max_budget_usd"
    assert "5-hour window" in result["errors"][0]
    assert len(cli.sim.message_requests()) == 1
    assert all(r.status == 200 for r in cli.sim.message_requests())


def test_sigkill_mid_run_leaves_every_completed_call_recorded_once(cli: Cli) -> None:
    slow = {**LOOP, "fault": {"kind": "slow", "delay": 60}}
    cli.sim.set_script([LOOP, LOOP, LOOP, slow])
    proc = subprocess.Popen(
        [sys.executable, "-m", "thrifty", "-p", "go", "--allowedTools", "Bash"],
        cwd=cli.cwd,
        env=cli.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if sum(1 for r in cli.sim.requests if r.path.startswith("/v1/messages")) >= 3 and (
                cli.ledger_path.exists() and len(rows(cli)) >= 3
            ):
                break
            time.sleep(0.05)
        time.sleep(0.5)  # the fourth request is now in flight
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with sqlite3.connect(cli.ledger_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    recorded = rows(cli)
    completed = [r.request_id for r in cli.sim.message_requests() if r.status == 200]
    assert sorted(r.request_id for r in recorded) == sorted(completed)
    assert len(completed) == 3
