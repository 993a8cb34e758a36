"""Every ``ApiUsage`` an SDK caller sees carries the cost the ledger recorded for that attempt, so
nobody prices usage a second time; a model with no known price gives ``cost is None``, never 0."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

import thrifty
from tests.sdk.conftest import MakeOptions
from thrifty.billing.ledger import LedgerRow, RowQuery, open_ledger
from thrifty.core.usage import Usage
from thrifty.testing import Simulator
from thrifty.testing.models import ModelCatalog, ModelSpec

pytestmark = pytest.mark.anyio

UNKNOWN = "acme-model-1"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """The simulator also serves a model thrifty has no price for."""
    catalog = ModelCatalog([*ModelCatalog.load().specs, ModelSpec(UNKNOWN, "Acme 1", "2026-01-01T00:00:00Z")])
    with Simulator(catalog=catalog) as s:
        yield s


def rows_of(ledger: Path) -> dict[str, LedgerRow]:
    db = open_ledger(str(ledger))
    try:
        return {row.request_id: row for row in db.query(RowQuery())}
    finally:
        db.close()


async def test_api_usage_carries_the_ledger_cost(
    sim: Simulator, options: MakeOptions, tmp_path: Path
) -> None:
    sim.set_script([{"tool_use": {"name": "Bash", "input": {"command": "true"}}}, {"text": "done"}])
    ledger = tmp_path / "ledger.sqlite3"
    messages = [m async for m in thrifty.query("go", options(ledger=str(ledger), allowed_tools=["Bash"]))]
    usages = [m for m in messages if isinstance(m, thrifty.ApiUsage)]
    assert len(usages) == 2
    rows = rows_of(ledger)
    for event in usages:
        assert isinstance(event.usage, Usage)
        assert isinstance(event.cost, Decimal) and event.cost > 0
        assert event.request_id is not None
        row = rows[event.request_id]
        assert event.cost == row.cost_usd
        assert event.usage.input_tokens == row.input_tokens and event.usage.output_tokens == row.output_tokens
        assert event.raw_usage["output_tokens"] == event.usage.output_tokens
    result = messages[-1]
    assert isinstance(result, thrifty.ResultMessage)
    assert float(sum((u.cost for u in usages if u.cost is not None), Decimal(0))) == pytest.approx(
        result.total_cost_usd
    )
    assert result.usage == sum((u.usage for u in usages), Usage()).to_api()


async def test_an_unpriced_model_gives_no_cost(sim: Simulator, options: MakeOptions, tmp_path: Path) -> None:
    sim.set_script([{"text": "hello"}])
    ledger = tmp_path / "ledger.sqlite3"
    messages = [m async for m in thrifty.query("hi", options(ledger=str(ledger), model=UNKNOWN))]
    (event,) = [m for m in messages if isinstance(m, thrifty.ApiUsage)]
    assert event.model == UNKNOWN and event.usage.output_tokens > 0
    assert event.cost is None
    assert event.request_id is not None and rows_of(ledger)[event.request_id].cost_usd is None
