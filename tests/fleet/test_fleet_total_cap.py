"""A fleet's budget is a ``total`` cap on ``tag:fleet=<id>``: last month's rows count, and so does
spend from before a month's turn that a job in flight crosses.

Real runs against the simulator and a real SQLite ledger; the month's turn is the guard's own
clock (``BudgetGuard.now``) set past it, since the calendar cannot be waited for.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.fleet.test_fleet import base_options, fleet_rows
from thrifty.billing.budget import month_start
from thrifty.billing.config import Budget
from thrifty.billing.ledger import open_ledger
from thrifty.billing.ledger.conformance import make_row
from thrifty.core.endings import BudgetExceeded
from thrifty.fleet import run_fleet
from thrifty.fleet.attempt import cap_fleet
from thrifty.sdk.runner import open_session
from thrifty.testing import Simulator


@pytest.fixture
def sim() -> Any:
    with Simulator([{"text": "done"}]) as s:
        yield s


def seed(tmp_path: Path, fleet_id: str, cost: str, at: datetime, request_id: str = "req-old") -> None:
    db = open_ledger(str(tmp_path / "ledger.sqlite3"))
    try:
        db.append(make_row(request_id, cost_usd=Decimal(cost), recorded_at=at, tags={"fleet": fleet_id}))
    finally:
        db.close()


def test_rows_of_the_fleet_dated_last_month_count_against_its_budget(sim: Simulator, tmp_path: Path) -> None:
    last_month = month_start(datetime.now(UTC)) - timedelta(days=3)
    seed(tmp_path, "monthly-run", "0.5", last_month)
    options = base_options(sim, tmp_path, tools=[], system_prompt="Be brief.")
    jobs = [{"id": f"m{i:02d}", "prompt": f"job {i}"} for i in range(30)]
    spent = asyncio.run(
        run_fleet(jobs, options=options, fleet_id="monthly-run", max_cost_usd="0.5", state_dir=tmp_path)
    )
    assert spent.count("budget_exceeded") == 30 and sim.message_requests() == []
    assert spent.results[0].error == "not started: the fleet's budget ($0.5) is spent"
    summary = asyncio.run(
        run_fleet(
            jobs,
            options=options,
            fleet_id="monthly-run",
            max_cost_usd="0.509",
            concurrency=2,
            state_dir=tmp_path,
        )
    )
    assert summary.count("succeeded") >= 1 and summary.count("budget_exceeded") >= 1
    stopped = [r for r in summary.results if r.status == "budget_exceeded" and r.session_id]
    assert all("total budget of tag:fleet=monthly-run" in (r.error or "") for r in stopped)
    this_month = [r["cost"] for r in fleet_rows(tmp_path, "monthly-run") if r["request_id"] != "req-old"]
    assert sum(this_month) <= Decimal("0.009") + max(this_month)
    assert summary.total_cost_usd == Decimal("0.5") + sum(this_month)


def test_a_capped_job_crossing_a_months_turn_still_counts_the_month_before(
    sim: Simulator, tmp_path: Path
) -> None:
    # The fleet spent $0.90 on the evening of January 31st; a configured cap on the scope stays.
    jan_31 = datetime(2026, 1, 31, 23, 50, tzinfo=UTC)
    seed(tmp_path, "abc", "0.9", jan_31)
    (tmp_path / ".thrifty.json").write_text(json.dumps({"budgets": {"tag:fleet=abc": {"daily": "5"}}}))
    options = base_options(sim, tmp_path, tools=[], tags={"fleet": "abc", "job": "j1"})

    async def check_after_the_turn() -> tuple[Budget, str]:
        session = open_session(options)
        try:
            cap_fleet(session, "abc", Decimal("1"))
            session.guard.now = lambda: jan_31 + timedelta(hours=1)  # February 1st, 00:50 UTC
            with pytest.raises(BudgetExceeded) as info:
                session.guard.check(Decimal(0), Decimal("0.2"), tags={"fleet": "abc", "job": "j1"})
            return session.guard.scope_caps["tag:fleet=abc"], str(info.value)
        finally:
            await session.close()

    caps, refusal = asyncio.run(check_after_the_turn())
    assert caps == Budget(daily=Decimal("5"), total=Decimal("1"))
    assert refusal == "Reached the total budget of tag:fleet=abc ($1.00; $0.90 spent in all)"
    assert sim.message_requests() == []
