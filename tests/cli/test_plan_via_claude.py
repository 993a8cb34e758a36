"""``thrifty -p --billing-mode plan`` end to end: the real bundled ``claude`` does the work.

The plan token is only ever seen by claude (thrifty never sends one), the key in the
environment never reaches claude, and the json result is thrifty's, metered into the ledger.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Cli
from thrifty.testing import DEFAULT_PLAN_TOKEN

claude_agent_sdk = pytest.importorskip("claude_agent_sdk")
CLAUDE = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"


@pytest.mark.skipif(not CLAUDE.exists(), reason="the bundled claude is not installed")
def test_a_plan_run_goes_through_the_users_claude(cli: Cli) -> None:
    cli.sim.set_script([{"text": "Hello from the sim."}])
    env = cli.env(
        THRIFTY_CLAUDE_PATH=str(CLAUDE),
        CLAUDE_CODE_OAUTH_TOKEN=DEFAULT_PLAN_TOKEN,
        CLAUDE_CONFIG_DIR=str(cli.home / ".claude"),
    )
    run = cli("-p", "hi", "--billing-mode", "plan", "--output-format", "json", env=env)
    assert run.code == 0, run.stderr
    result = run.json
    assert result["result"] == "Hello from the sim."
    assert result["billing"]["mode"] == "plan"
    served = [r for r in cli.sim.message_requests() if r.status == 200]
    assert len(served) == 1
    assert {r.account for r in served} == {"sim-plan"}  # the plan login, not ANTHROPIC_API_KEY
    out = result["usage"]["output_tokens"]
    assert out == (served[0].usage or {})["output_tokens"]
    assert result["total_cost_usd"] > 0
    from thrifty.billing.ledger import open_ledger
    from thrifty.billing.ledger.rows import RowQuery

    ledger = open_ledger(str(cli.ledger_path))
    try:
        rows = ledger.query(RowQuery(session_id=result["session_id"]))
    finally:
        ledger.close()
    assert [(r.mode, r.request_id) for r in rows] == [("plan", served[0].request_id)]


@pytest.mark.skipif(not CLAUDE.exists(), reason="the bundled claude is not installed")
def test_importing_claude_codes_own_transcript_of_a_plan_run_counts_nothing_twice(cli: Cli) -> None:
    """claude keeps its own transcript of the run; thrifty metered the same calls by their real
    request ids, so ``thrifty import`` finds them already in the ledger."""
    cli.sim.set_script([{"tool_use": {"name": "Bash", "input": {"command": "echo hi"}}}, {"text": "done"}])
    env = cli.env(
        THRIFTY_CLAUDE_PATH=str(CLAUDE),
        CLAUDE_CODE_OAUTH_TOKEN=DEFAULT_PLAN_TOKEN,
        CLAUDE_CONFIG_DIR=str(cli.home / ".claude"),
    )
    run = cli(
        "-p", "go", "--billing-mode", "plan", "--allowedTools", "Bash", "--output-format", "json", env=env
    )
    assert run.code == 0, run.stderr
    before = cli("usage", "daily", "--json", env=env).json["rows"]
    assert [(r["mode"], r["calls"]) for r in before] == [("plan", 2)]
    imported = cli("import", env=env)
    assert imported.code == 0, imported.stderr
    assert "0 new, 2 duplicate" in imported.stdout
    assert cli("usage", "daily", "--json", env=env).json["rows"] == before
