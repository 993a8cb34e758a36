"""The fleet's budget (``max_cost_usd``) counts the fleet's whole life, not the day it runs in.

A fleet that started before a UTC midnight and is rerun after it (or runs across it) has rows
dated yesterday; the budget must still count them. The ledger's rows are written by the real
ledger, dated by the test, and read back with ``sqlite3``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.fleet.test_fleet import base_options, fleet_rows
from thrifty.billing.ledger import open_ledger
from thrifty.billing.ledger.conformance import make_row
from thrifty.fleet import run_fleet
from thrifty.testing import Simulator


@pytest.fixture
def sim() -> Any:
    with Simulator([{"text": "done"}]) as s:
        yield s


def seed(tmp_path: Path, fleet_id: str, cost: str, at: datetime) -> None:
    db = open_ledger(str(tmp_path / "ledger.sqlite3"))
    try:
        db.append(make_row("req-yesterday", cost_usd=Decimal(cost), recorded_at=at, tags={"fleet": fleet_id}))
    finally:
        db.close()


def test_rows_of_the_fleet_dated_yesterday_count_against_its_budget(sim: Simulator, tmp_path: Path) -> None:
    yesterday = datetime.now(UTC).replace(hour=23, minute=59, second=0, microsecond=0) - timedelta(days=1)
    seed(tmp_path, "overnight", "0.5", yesterday)
    options = base_options(sim, tmp_path, tools=[], system_prompt="Be brief.")
    jobs = [{"id": f"n{i:02d}", "prompt": f"night job {i}"} for i in range(30)]
    # Yesterday's spend alone reaches the budget: nothing starts today.
    spent_out = asyncio.run(
        run_fleet(jobs, options=options, fleet_id="overnight", max_cost_usd="0.5", state_dir=tmp_path)
    )
    assert spent_out.count("budget_exceeded") == 30 and sim.message_requests() == []
    # A little headroom over yesterday's spend: the calls of today stop within it (and the one
    # call the estimate let through), concurrent jobs included.
    summary = asyncio.run(
        run_fleet(
            jobs,
            options=options,
            fleet_id="overnight",
            max_cost_usd="0.509",
            concurrency=2,
            state_dir=tmp_path,
        )
    )
    assert summary.count("succeeded") >= 1 and summary.count("budget_exceeded") >= 1
    today = [r["cost"] for r in fleet_rows(tmp_path, "overnight") if r["request_id"] != "req-yesterday"]
    assert sum(today) <= Decimal("0.009") + max(today)
    assert summary.total_cost_usd == Decimal("0.5") + sum(today)
