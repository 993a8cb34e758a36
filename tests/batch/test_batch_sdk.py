"""The SDK (``thrifty.submit_batch`` ...) against the simulator, with a real SQLite ledger."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import thrifty
from tests.batch.conftest import PROCESSING_S
from thrifty.batch import BatchError, CostRefused, NotReady
from thrifty.batch.input import api_requests, build_items, request_key
from thrifty.batch.journal import Journal, Submission
from thrifty.billing.ledger import Ledger, RowQuery
from thrifty.billing.meter import Meter, MeterContext
from thrifty.billing.prices import bundled_prices
from thrifty.core.events import ApiUsage
from thrifty.core.usage import Usage
from thrifty.testing import Simulator
from thrifty.testing.clock import ManualClock

MODEL = "claude-sonnet-5-5"
ITEMS = [
    {"id": "q1", "prompt": "What is a ledger?"},
    {"id": 2, "prompt": "Name a prime number.", "max_tokens": 64},
    {"id": "odd id/with space", "messages": [{"role": "user", "content": "Hi"}], "system": "Be brief."},
]


def batches_created(sim: Simulator) -> int:
    return sum(1 for r in sim.requests if r.method == "POST" and r.path == "/v1/messages/batches")


#: Clients ``kw`` made for the call ``run`` is about to make: closed on that call's own loop, since
#: one left to the garbage collector closes its connection on whatever loop runs later (a later
#: test's), which fails it with "Event loop is closed".
_clients: list[Any] = []


def run(coro: Any) -> Any:
    async def closing() -> Any:
        try:
            return await coro
        finally:
            while _clients:
                await _clients.pop().close()

    return asyncio.run(closing())


def kw(sim: Simulator, project: Path) -> dict[str, Any]:
    client = sim.async_client()
    _clients.append(client)
    return {"client": client, "cwd": project}


def test_batch_cost_is_exactly_half_the_live_cost_in_the_ledger(
    sim: Simulator, clock: ManualClock, project: Path, ledger: Ledger
) -> None:
    submitted = run(thrifty.submit_batch(ITEMS, model=MODEL, **kw(sim, project)))
    assert submitted.how == "created" and submitted.batch_id
    clock.advance(PROCESSING_S)
    results = run(thrifty.batch_results(submitted.batch_id, **kw(sim, project)))
    assert [line["id"] for line in results.lines] == ["q1", 2, "odd id/with space"]
    assert results.recorded == 3 and results.already_recorded == 0
    rows = ledger.query(RowQuery(mode="batch"))
    assert len(rows) == 3
    # Dated when the batch ended (when the API bills it), not when the results were read.
    ended = run(thrifty.batch_status(submitted.batch_id, **kw(sim, project))).ended_at
    assert {r.recorded_at.isoformat() for r in rows} == {ended}
    assert {r.request_id for r in rows} == {
        f"batch:{submitted.batch_id}:{line['custom_id']}" for line in results.lines
    }
    # The same requests made live, each metered as a live call into the same ledger.
    meter = Meter(MeterContext("live", "api", "client", str(project)), ledger)
    client = sim.client()
    for request in api_requests(build_items([("x", i) for i in ITEMS], default_model=MODEL)):
        response = client.messages.with_raw_response.create(**request["params"])
        message = response.parse()
        meter.record(
            ApiUsage(
                "live",
                response.request_id,
                message.id,
                message.model,
                Usage.from_api(message.usage.to_dict()),
                0,
                True,
                0,
            )
        )
    live = {r.message_id: r for r in ledger.query(RowQuery(mode="api"))}
    assert len(live) == 3
    prices = bundled_prices()
    order = [str(item["id"]) for item in ITEMS]
    in_order = sorted(rows, key=lambda r: order.index(r.tags["item_id"]))
    for batch_row, live_row in zip(in_order, sorted(live.values(), key=lambda r: r.recorded_at), strict=True):
        assert batch_row.usage == live_row.usage
        assert batch_row.cost_usd is not None and live_row.cost_usd is not None
        assert batch_row.cost_usd * 2 == live_row.cost_usd
        assert batch_row.cost_usd == live_row.cost_usd * Decimal("0.5")
        assert live_row.cost_usd == prices.cost(MODEL, batch_row.usage)
        assert batch_row.tags["batch_id"] == submitted.batch_id
    assert {r.tags["item_id"] for r in rows} == {"q1", "2", "odd id/with space"}
    assert results.cost_usd == sum(r.cost_usd or 0 for r in rows)
    assert sum(r.cost_usd or 0 for r in rows) * 2 == sum(r.cost_usd or 0 for r in live.values())


def test_a_rerun_neither_resubmits_nor_records_twice(
    sim: Simulator, clock: ManualClock, project: Path, ledger: Ledger
) -> None:
    first = run(thrifty.submit_batch(ITEMS, **kw(sim, project)))
    again = run(thrifty.submit_batch(ITEMS, **kw(sim, project)))
    assert (again.batch_id, again.how) == (first.batch_id, "journaled")
    assert batches_created(sim) == 1
    with pytest.raises(NotReady):
        run(thrifty.batch_results(first.batch_id, **kw(sim, project)))
    assert run(thrifty.batch_status(first.batch_id, **kw(sim, project))).processing_status == "in_progress"
    clock.advance(PROCESSING_S)
    one = run(thrifty.batch_results(first.batch_id, **kw(sim, project)))
    two = run(thrifty.batch_results(first.batch_id, **kw(sim, project)))
    assert (one.recorded, two.recorded, two.already_recorded) == (3, 0, 3)
    assert one.lines == two.lines
    assert len(ledger.query(RowQuery(mode="batch"))) == 3
    forced = run(thrifty.submit_batch(ITEMS, new=True, **kw(sim, project)))
    assert forced.how == "created" and forced.batch_id != first.batch_id
    assert batches_created(sim) == 2


def test_a_submit_killed_after_the_create_call_finds_its_batch(project: Path) -> None:
    """The journal says "submitting" but holds no id: the batch is looked up, not made again."""
    with Simulator() as sim:  # the system clock: created_at and the journal's start agree
        items = build_items([(f"item {i}", raw) for i, raw in enumerate(ITEMS, 1)], default_model=MODEL)
        key = request_key(items)
        Journal().put(Submission(key, "submitting", time.time(), len(items), "sdk"))
        made = sim.client().messages.batches.create(requests=api_requests(items))  # type: ignore[arg-type]
        found = run(thrifty.submit_batch(ITEMS, model=MODEL, **kw(sim, project)))
        assert (found.how, found.batch_id) == ("recovered", made.id)
        assert batches_created(sim) == 1
        assert run(thrifty.submit_batch(ITEMS, model=MODEL, **kw(sim, project))).how == "journaled"
        assert Journal().ids(made.id)[items[2].custom_id] == "odd id/with space"


def test_a_submit_killed_before_the_create_call_creates_it(project: Path) -> None:
    with Simulator() as sim:
        items = build_items([(f"item {i}", raw) for i, raw in enumerate(ITEMS, 1)], default_model=MODEL)
        Journal().put(Submission(request_key(items), "submitting", time.time(), len(items), "sdk"))
        done = run(thrifty.submit_batch(ITEMS, model=MODEL, **kw(sim, project)))
        assert done.how == "created" and batches_created(sim) == 1


def test_two_candidate_batches_are_ambiguous(project: Path) -> None:
    with Simulator() as sim:
        items = build_items([(f"item {i}", raw) for i, raw in enumerate(ITEMS, 1)], default_model=MODEL)
        Journal().put(Submission(request_key(items), "submitting", time.time(), len(items), "sdk"))
        for _ in range(2):
            sim.client().messages.batches.create(requests=api_requests(items))  # type: ignore[arg-type]
        with pytest.raises(BatchError, match="2 batches could be it"):
            run(thrifty.submit_batch(ITEMS, model=MODEL, **kw(sim, project)))
        assert batches_created(sim) == 2


def test_max_cost_refuses_before_anything_is_sent(sim: Simulator, project: Path) -> None:
    with pytest.raises(CostRefused) as refused:
        run(thrifty.submit_batch(ITEMS, max_cost_usd="0.000001", **kw(sim, project)))
    assert refused.value.estimate.high_usd is not None and refused.value.estimate.high_usd > Decimal(
        "0.000001"
    )
    assert sim.requests == []
    dry = run(thrifty.submit_batch(ITEMS, dry_run=True, **kw(sim, project)))
    assert dry.how == "dry-run" and dry.batch_id is None and sim.requests == []
    high = dry.estimate.high_usd
    assert high is not None and dry.estimate.typical_usd is not None and dry.estimate.typical_usd < high
    fits = run(thrifty.submit_batch(ITEMS, max_cost_usd=high, **kw(sim, project)))
    assert fits.how == "created"


def test_errored_canceled_and_structured_results(
    sim: Simulator, clock: ManualClock, project: Path, ledger: Ledger
) -> None:
    items = [
        {
            "id": "ok",
            "prompt": "structured please",
            "json_schema": {"type": "object", "properties": {"answer": {"type": "string"}}},
        },
        {"id": "bad", "prompt": "hello", "model": "claude-nope"},
    ]
    done = run(thrifty.submit_batch(items, **kw(sim, project)))
    clock.advance(PROCESSING_S)
    lines = {line["id"]: line for line in run(thrifty.batch_results(done.batch_id, **kw(sim, project))).lines}
    assert lines["ok"]["status"] == "succeeded"
    assert lines["ok"]["structured_output"] == {"answer": "42"}
    assert lines["bad"]["status"] == "errored" and lines["bad"]["cost_usd"] is None
    assert lines["bad"]["error"]["error"]["type"] == "not_found_error"
    assert [r.tags["item_id"] for r in ledger.query(RowQuery(mode="batch"))] == ["ok"]

    other = run(thrifty.submit_batch([{"id": "c", "prompt": "later"}], **kw(sim, project)))
    status = run(thrifty.cancel_batch(other.batch_id, **kw(sim, project)))
    assert status.ended and status.counts["canceled"] == 1
    canceled = run(thrifty.batch_results(other.batch_id, **kw(sim, project)))
    assert [line["status"] for line in canceled.lines] == ["canceled"]
    assert canceled.recorded == 0 and len(ledger.query(RowQuery(mode="batch"))) == 1


def test_waiting_polls_until_the_batch_ends(sim: Simulator, clock: ManualClock, project: Path) -> None:
    done = run(thrifty.submit_batch(ITEMS, **kw(sim, project)))

    async def advance_later() -> None:
        await asyncio.sleep(0.2)
        clock.advance(PROCESSING_S)

    async def both() -> Any:
        waiter = thrifty.batch_results(done.batch_id, wait=True, poll_interval=0.05, **kw(sim, project))
        return (await asyncio.gather(waiter, advance_later()))[0]

    assert len(run(both()).lines) == 3
    later = run(thrifty.submit_batch([{"id": "x", "prompt": "later"}], **kw(sim, project)))
    waited = run(
        thrifty.batch_status(later.batch_id, wait=True, poll_interval=0.01, timeout=0.05, **kw(sim, project))
    )
    assert waited.processing_status == "in_progress" and not waited.ended
