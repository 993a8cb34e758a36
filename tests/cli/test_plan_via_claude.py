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
