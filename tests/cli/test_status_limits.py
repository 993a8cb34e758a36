"""``thrifty status`` names whose number each plan window limit is: estimated, calibrated from the
utilisation headers in the ledger, or set by the user (a subprocess against the simulator)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.cli.conftest import Cli
from tests.usage.test_calibrate import FIVE_LIMIT, Server
from thrifty.billing.ledger import open_ledger

claude_agent_sdk = pytest.importorskip("claude_agent_sdk")
CLAUDE = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"


def status_env(cli: Cli) -> dict[str, str]:
    env = cli.env(THRIFTY_CLAUDE_PATH=str(CLAUDE), CLAUDE_CONFIG_DIR=str(cli.home / ".claude"))
    del env["ANTHROPIC_API_KEY"]
    env["CLAUDE_CODE_OAUTH_TOKEN"] = "sk-ant-oat-sim-plan-token"
    return env


def recent_history(cli: Cli) -> None:
    """Two days ago: interactive Claude Code calls fill the window, thrifty's carry the headers."""
    server = Server((datetime.now(UTC) - timedelta(days=2)).timestamp())
    for i in range(8):
        server.call(150_000 + 10_000 * i, 20_000, source="claude-code")
        server.call(300_000, 10_000, counted=False)
        server.clock.advance(300)
    ledger = open_ledger(str(cli.ledger_path))
    try:
        ledger.append_many(server.rows)
    finally:
        ledger.close()


def test_status_names_the_source_of_each_limit(cli: Cli) -> None:
    cli.config_dir.mkdir(parents=True, exist_ok=True)
    (cli.config_dir / "config.json").write_text(json.dumps({"plan": {"name": "pro"}}))
    estimated = cli("status", "--json", env=status_env(cli)).json
    assert estimated["billingMode"] == "plan"
    assert estimated["planLimits"]["fiveHour"]["source"] == "estimate"
    text = cli("status", env=status_env(cli)).stdout
    assert (
        "Limits:        Pro limits not published by Anthropic: 5-hour 1,000,000 estimated by thrifty, "
        "weekly 10,000,000 estimated by thrifty" in text
    )

    recent_history(cli)
    info = cli("status", "--json", env=status_env(cli)).json
    five = info["planLimits"]["fiveHour"]
    assert five["source"] == "calibrated" and five["readings"] == 8 and five["windows"] == 1
    assert abs(five["tokens"] - FIVE_LIMIT) / FIVE_LIMIT < 0.002
    assert info["planLimits"]["weekly"]["source"] == "calibrated"
    assert "calibrated from 8 server readings in 1 window" in cli("status", env=status_env(cli)).stdout

    (cli.config_dir / "config.json").write_text(
        json.dumps({"plan": {"name": "pro", "limits": {"fiveHourTokens": 2_500_000}}})
    )
    mine = cli("status", "--json", env=status_env(cli)).json["planLimits"]
    assert (mine["fiveHour"]["tokens"], mine["fiveHour"]["source"]) == (2_500_000, "user")
    assert mine["weekly"]["source"] == "calibrated"
    assert "5-hour 2,500,000 set by you" in mine["text"] and "not published" in mine["text"]
