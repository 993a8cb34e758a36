"""Budgets stop a run BEFORE the request that could pass them; spend never passes a cap by more
than one call, whatever the cap. Runs are real: the agent loop against the simulator, rows in a
real SQLite ledger."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.billing.factory import make_row
from thrifty.agent.options import AgentOptions
from thrifty.agent.session import run_agent
from thrifty.billing.budget import BudgetGuard, day_start
from thrifty.billing.config import Budget
from thrifty.billing.credit import CreditState
from thrifty.billing.ledger import RowQuery, open_ledger
from thrifty.core.endings import BudgetExceeded
from thrifty.core.events import Event, Result
from thrifty.testing import Simulator

LOOP = {"tool_use": {"name": "Bash", "input": {"command": "echo spend"}}}


def options(sim: Simulator, cwd: Path, ledger: Path, **kw: Any) -> AgentOptions:
    env = {"ANTHROPIC_BASE_URL": sim.base_url, "ANTHROPIC_API_KEY": sim.api_key, "THRIFTY_KEYRING": "0"}
    return AgentOptions(cwd=cwd, environ=env, ledger=str(ledger), allowed_tools=["Bash"], **kw)


async def run(prompt: str, opts: AgentOptions) -> tuple[list[Event], Result]:
    events = [e async for e in run_agent(prompt, opts)]
    result = events[-1]
    assert isinstance(result, Result)
    return events, result


@pytest.mark.anyio
# Each cap lets at least the first request through (its high estimate is about $0.015).
@pytest.mark.parametrize("cap", ["0.0165", "0.018", "0.02", "0.025", "0.031", "0.04"])
async def test_run_cap_is_never_passed_by_more_than_one_call(cap: str, tmp_path: Path) -> None:
    ledger_path = tmp_path / "ledger.sqlite3"
    with Simulator([LOOP] * 60) as sim:
        _, result = await run("spend", options(sim, tmp_path, ledger_path, max_budget_usd=Decimal(cap)))
        requests = len(sim.message_requests())
    assert result.subtype == "error_max_budget_usd" and result.exit_code == 1
    ledger = open_ledger(str(ledger_path))
    rows = ledger.query(RowQuery())
    ledger.close()
    assert len(rows) == requests >= 1  # every request that was made is in the ledger
    spent = sum((r.cost_usd or Decimal(0)) for r in rows)
    largest = max((r.cost_usd or Decimal(0)) for r in rows)
    assert spent - Decimal(cap) <= largest
    assert Decimal(str(result.total_cost_usd)) == spent.quantize(Decimal("1e-12")) or abs(
        Decimal(str(result.total_cost_usd)) - spent
    ) < Decimal("1e-9")


@pytest.mark.anyio
async def test_daily_cap_counts_other_runs_and_stops_before_the_first_request(tmp_path: Path) -> None:
    ledger_path = tmp_path / "ledger.sqlite3"
    (tmp_path / ".thrifty.json").write_text(json.dumps({"budgets": {"api": {"daily": "0.05"}}}))
    ledger = open_ledger(str(ledger_path))
    now = datetime.now(UTC)
    ledger.append(
        make_row("earlier-today", recorded_at=now - timedelta(seconds=5), cost_usd=Decimal("0.0499"))
    )
    ledger.append(make_row("plan-row", mode="plan", recorded_at=now, cost_usd=Decimal("9")))  # other mode
    ledger.close()
    with Simulator([LOOP] * 5) as sim:
        _, result = await run("spend", options(sim, tmp_path, ledger_path))
        assert sim.message_requests() == []
    assert result.subtype == "error_max_budget_usd"
    assert result.errors == ["Reached the daily api budget ($0.05; $0.05 spent today)"]


@pytest.mark.anyio
async def test_daily_cap_across_two_runs_never_passes_by_more_than_one_call(tmp_path: Path) -> None:
    ledger_path = tmp_path / "ledger.sqlite3"
    (tmp_path / ".thrifty.json").write_text(json.dumps({"budgets": {"api": {"daily": 0.03}}}))
    with Simulator([LOOP] * 40) as sim:
        _, first = await run("spend", options(sim, tmp_path, ledger_path, max_turns=4))
        _, second = await run("spend more", options(sim, tmp_path, ledger_path))
    assert first.subtype == "error_max_turns" and second.subtype == "error_max_budget_usd"
    ledger = open_ledger(str(ledger_path))
    rows = ledger.query(RowQuery(since=day_start(datetime.now(UTC))))
    ledger.close()
    spent = sum((r.cost_usd or Decimal(0)) for r in rows)
    assert len({r.session_id for r in rows}) == 2
    assert spent - Decimal("0.03") <= max(r.cost_usd or Decimal(0) for r in rows)


def test_guard_uses_the_mode_and_the_period(tmp_path: Path) -> None:
    ledger = open_ledger(str(tmp_path / "l.sqlite3"))
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    ledger.append(make_row("a", recorded_at=now - timedelta(days=40), cost_usd=Decimal("50")))  # last month
    ledger.append(make_row("b", recorded_at=now - timedelta(minutes=1), cost_usd=Decimal("3")))
    guard = BudgetGuard(
        mode="api", caps=Budget(daily=Decimal("5"), monthly=Decimal("4")), ledger=ledger, now=lambda: now
    )
    guard.check(Decimal(0), Decimal("0.5"))  # 3 + 0.5 fits both
    with pytest.raises(BudgetExceeded, match=r"monthly api budget \(\$4.00; \$3.00 spent this month\)"):
        guard.check(Decimal(0), Decimal("1.5"))
    plan_guard = BudgetGuard(mode="plan", caps=Budget(daily=Decimal("1")), ledger=ledger, now=lambda: now)
    plan_guard.check(Decimal(0), Decimal("0.9"))  # api rows never count against plan
    ledger.close()


def test_run_cap_without_estimate_stops_rather_than_counting_it_as_free() -> None:
    # An unknown estimate (a model with no price) used to count as $0 and pass every cap.
    guard = BudgetGuard(mode="api", run_cap=Decimal("1"), model=lambda: "acme-model-1")
    with pytest.raises(BudgetExceeded, match=r"model 'acme-model-1' has no known price"):
        guard.check(Decimal(0), None)
    with pytest.raises(BudgetExceeded, match=r"Reached maximum budget \(\$1\)"):
        guard.check(Decimal("1.00"), Decimal(0))


def _credit(used: str, *, claimed: bool = True, usage_credits: bool = False) -> CreditState:
    start, refresh = date(2026, 11, 14), date(2026, 12, 14)
    return CreditState("Max 5x", Decimal(100), Decimal(used), 1, 0, start, refresh, claimed, usage_credits)


def test_a_spent_agent_sdk_credit_refuses_a_plan_run_before_its_first_request() -> None:
    guard = BudgetGuard(mode="plan", credit=_credit("100"))
    with pytest.raises(
        BudgetExceeded, match=r"^Stopped at the monthly Agent SDK credit \(\$100.00 of \$100.00"
    ):
        guard.check(Decimal(0), Decimal("0.01"))
    assert guard.credit_refusal() is not None
    # an API run, or a plan run without the credit check, is not stopped by it
    BudgetGuard(mode="api", credit=_credit("100")).check(Decimal(0), Decimal("0.01"))
    BudgetGuard(mode="plan").check(Decimal(0), Decimal("0.01"))


def test_the_runs_own_spend_counts_against_the_credit_mid_run() -> None:
    guard = BudgetGuard(mode="plan", credit=_credit("99"))
    guard.check(Decimal("0.50"), Decimal("0.40"))  # 99 + 0.50 + 0.40 <= 100
    with pytest.raises(BudgetExceeded, match="would be passed by the next request"):
        guard.check(Decimal("0.90"), Decimal("0.20"))
    with pytest.raises(BudgetExceeded, match="is spent"):
        guard.check(Decimal("1.00"), Decimal("0.01"))


def test_stop_at_never_runs_into_usage_credits_but_not_past_a_stop() -> None:
    BudgetGuard(mode="plan", credit=_credit("150", usage_credits=True), credit_stop_at="never").check(
        Decimal(5), Decimal(1)
    )
    guard = BudgetGuard(mode="plan", credit=_credit("99.99"), credit_stop_at="never")
    guard.check(Decimal(0), Decimal(5))  # Anthropic stops it once spent, not thrifty before
    with pytest.raises(
        BudgetExceeded, match="usage credits are off: Agent SDK requests would stop until Dec 14"
    ):
        guard.check(Decimal("0.01"), Decimal(5))
    with pytest.raises(BudgetExceeded, match="not claimed"):
        BudgetGuard(mode="plan", credit=_credit("0", claimed=False), credit_stop_at="never").check(
            Decimal(0), Decimal(1)
        )


def test_under_stop_at_credit_an_unpriced_model_cannot_be_checked() -> None:
    guard = BudgetGuard(mode="plan", credit=_credit("1"), model=lambda: "mystery-model")
    assert guard.caps_in_force() == ["the monthly Agent SDK credit ($100.00)"]
    with pytest.raises(BudgetExceeded, match="mystery-model"):
        guard.check(Decimal(0), None)
    assert BudgetGuard(mode="plan", credit=_credit("1"), credit_stop_at="never").caps_in_force() == []
