"""Plan runs through the REAL bundled ``claude`` (claude-agent-sdk's) against the simulator.

Nothing of thrifty's is mocked: a Session in plan mode starts claude, feeds it the prompt on
stdin, and meters what claude's stream-json reports. Each claude start costs about half a second,
so the tests are few and each checks much.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from thrifty.agent.options import AgentOptions
from thrifty.agent.session import Session
from thrifty.agent.validate import SetupError
from thrifty.agent.via_claude.argv import check_plan_options, claude_argv
from thrifty.billing.claude_cli import ClaudeCliError, ClaudeCode, check_login
from thrifty.billing.ledger.rows import RowQuery
from thrifty.core.events import ApiUsage, AssistantMessage, Event, RateLimit, Result, SystemInit, UserMessage
from thrifty.testing import DEFAULT_API_KEY, DEFAULT_PLAN_TOKEN, Simulator

claude_agent_sdk = pytest.importorskip("claude_agent_sdk")
CLAUDE = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
pytestmark = pytest.mark.skipif(not CLAUDE.exists(), reason="the bundled claude is not installed")


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator([{"text": "Hello from the sim."}]) as simulator:
        yield simulator


def plan_environ(sim: Simulator, home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_"))}
    env.update(
        HOME=str(home),
        CLAUDE_CONFIG_DIR=str(home / ".claude"),
        ANTHROPIC_BASE_URL=sim.base_url,
        THRIFTY_CLAUDE_PATH=str(CLAUDE),
        CLAUDE_CODE_OAUTH_TOKEN=DEFAULT_PLAN_TOKEN,
        # A key in the environment must not reach claude: it would bill the key, not the plan.
        ANTHROPIC_API_KEY=DEFAULT_API_KEY,
    )
    env.update(extra)
    return env


def plan_session(tmp_path: Path, sim: Simulator, **options: Any) -> Session:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    environ = plan_environ(sim, home)
    session = Session(AgentOptions(cwd=tmp_path, environ=environ, billing_mode="plan", **options))
    if session.prepared.billing.claude is None:
        # Until open_billing sets it for plan runs, set it as it will: the checked login.
        session.prepared.billing.claude = check_login(str(CLAUDE), environ)
    return session


async def run_turn(session: Session, prompt: str = "say hi") -> list[Event]:
    return [event async for event in session.turn(prompt)]


def ledger_rows(session: Session) -> list[Any]:
    ledger = session.prepared.billing.ledger
    assert ledger is not None
    return sorted(ledger.query(RowQuery(session_id=session.session_id)), key=lambda r: r.recorded_at)


def agrees(result: Result, rows: list[Any]) -> None:
    """The result's money and tokens are the ledger's, call for call."""
    assert Decimal(str(result.total_cost_usd)) == pytest.approx(sum(r.cost_usd for r in rows))
    assert result.usage["output_tokens"] == sum(r.output_tokens for r in rows)
    assert result.usage["cache_read_input_tokens"] == sum(r.cache_read_tokens for r in rows)
    writes = sum(r.cache_write_5m_tokens + r.cache_write_1h_tokens for r in rows)
    assert result.usage["cache_creation_input_tokens"] == writes


def matches_simulator(rows: list[Any], sim: Simulator) -> None:
    served = [r for r in sim.message_requests() if r.status == 200]
    assert [r.request_id for r in rows] == [r.request_id for r in served]
    for row, request in zip(rows, served, strict=True):
        usage = request.usage or {}
        assert row.mode == "plan"
        assert row.complete
        assert row.output_tokens == usage["output_tokens"]
        assert row.input_tokens == usage["input_tokens"]
        assert row.cache_read_tokens == usage["cache_read_input_tokens"]
        assert row.cache_write_5m_tokens + row.cache_write_1h_tokens == usage["cache_creation_input_tokens"]
        assert row.cost_usd is not None and row.cost_usd > 0
    # claude used the plan login, never the API key that was in thrifty's environment
    assert {r.account for r in served} == {"sim-plan"}


@pytest.mark.anyio
async def test_a_plan_turn_runs_in_claude_and_the_ledger_agrees(tmp_path: Path, sim: Simulator) -> None:
    async with plan_session(tmp_path, sim) as session:
        events = await run_turn(session)
        rows = ledger_rows(session)
        result = events[-1]
        assert isinstance(result, Result)
        assert isinstance(events[0], SystemInit)
        assert events[0].session_id == session.session_id == result.session_id
        assert result.result == "Hello from the sim."
        assert (result.subtype, result.is_error, result.exit_code) == ("success", False, 0)
        assert result.billing["mode"] == "plan"
        assert any(isinstance(e, AssistantMessage) and e.request_id for e in events)
        usages = [e for e in events if isinstance(e, ApiUsage)]
        assert len(usages) == len(rows) == 1
        assert usages[0].cost == rows[0].cost_usd
        matches_simulator(rows, sim)
        agrees(result, rows)
        # the plan window claude reported is on the ledger row and in the stream
        assert any(isinstance(e, RateLimit) for e in events)
        assert rows[0].rate_limits and "anthropic-ratelimit-unified-5h-utilization" in rows[0].rate_limits

        # a second prompt goes to the same claude process and conversation
        sim.set_script([{"text": "Hello from the sim."}, {"text": "Second answer."}])
        again = await run_turn(session, "and again")
        assert isinstance(again[-1], Result) and again[-1].result == "Second answer."
        rows = ledger_rows(session)
        assert len(rows) == 2
        agrees(again[-1], rows)


@pytest.mark.anyio
async def test_a_tool_turn_meters_every_call(tmp_path: Path, sim: Simulator) -> None:
    sim.set_script(
        [
            {"text": "Running.", "tool_use": {"name": "Bash", "input": {"command": "echo hi-there"}}},
            {"text": "Done: hi-there"},
        ]
    )
    async with plan_session(tmp_path, sim, allowed_tools=["Bash"]) as session:
        events = await run_turn(session, "run echo")
        result = events[-1]
        assert isinstance(result, Result) and result.result == "Done: hi-there"
        results = [e for e in events if isinstance(e, UserMessage) and e.origin == "tool_results"]
        assert results and "hi-there" in str(results[0].content)
        rows = ledger_rows(session)
        assert len(rows) == 2
        matches_simulator(rows, sim)
        agrees(result, rows)


@pytest.mark.anyio
async def test_a_budget_cap_stops_claude_with_the_max_budget_ending(tmp_path: Path, sim: Simulator) -> None:
    sim.set_script(
        [
            {"text": "Running.", "tool_use": {"name": "Bash", "input": {"command": "echo one"}}},
            {"text": "Running.", "tool_use": {"name": "Bash", "input": {"command": "echo two"}}},
            {"text": "never"},
        ]
    )
    async with plan_session(tmp_path, sim, allowed_tools=["Bash"], max_budget_usd=Decimal("0.01")) as s:
        events = await run_turn(s, "spend")
        result = events[-1]
        assert isinstance(result, Result)
        assert (result.subtype, result.terminal_reason, result.exit_code) == (
            "error_max_budget_usd",
            "budget_exhausted",
            1,
        )
        assert result.errors == ["Reached maximum budget ($0.01)"]
        rows = ledger_rows(s)
        assert len(rows) == len([r for r in sim.message_requests() if r.status == 200]) == 1
        agrees(result, rows)


def test_missing_and_logged_out_claude_are_one_line(tmp_path: Path, sim: Simulator) -> None:
    environ = plan_environ(sim, tmp_path)
    with pytest.raises(ClaudeCliError) as missing:
        check_login(str(tmp_path / "no-claude"), environ)
    assert "\n" not in str(missing.value) and "was not found" in str(missing.value)
    del environ["CLAUDE_CODE_OAUTH_TOKEN"]
    with pytest.raises(ClaudeCliError) as logged_out:
        check_login(str(CLAUDE), environ)
    assert (
        str(logged_out.value)
        == "Claude Code is not logged in; run `claude` and /login with your plan account"
    )
    assert sim.message_requests() == []


def test_the_prompt_stays_out_of_argv_and_callbacks_are_refused(tmp_path: Path) -> None:
    options = AgentOptions(cwd=tmp_path, allowed_tools=["Bash"], max_budget_usd=Decimal("2"), tools=[])
    argv = claude_argv("claude", options, session_id="0b9f1c4e-8d4e-4a43-9d0a-1c5a2a1b7f00")
    assert argv[:8] == ["claude", "-p", "--output-format", "stream-json", "--input-format", "stream-json",
                        "--verbose", "--include-partial-messages"]  # fmt: skip
    assert argv[argv.index("--allowedTools") + 1] == "Bash"
    assert argv[argv.index("--max-budget-usd") + 1] == "2"
    assert argv[argv.index("--tools") + 1] == ""
    with pytest.raises(SetupError, match="custom tools are not available in plan runs yet"):
        check_plan_options(AgentOptions(cwd=tmp_path, extra_tools=[object()]))  # type: ignore[list-item]
    with pytest.raises(SetupError, match="use --billing-mode api"):
        check_plan_options(options, ask=object())
    assert ClaudeCode("claude", "oauth_token").account == "claude-code"
