"""``BatchPool``'s rerun half on its own: a batch journaled ``submitting`` (the coordinator was
killed during the create call) is found among the account's batches, or dropped when the call
never reached the API. Against the simulator, with a real SQLite ledger."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from thrifty.batch.pool import BatchPool, PoolPolicy
from thrifty.batch.pool_journal import COLLECTED, Owner, PoolJournal, PoolRecord
from thrifty.billing.ledger import RowQuery, open_ledger
from thrifty.billing.prices import bundled_prices
from thrifty.testing import Simulator

MODEL = "claude-sonnet-5-5"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator([{"text": "hi"}]) as running:
        yield running


def owners(n: int) -> dict[str, Owner]:
    return {
        f"sess-1-{i}": Owner("sess-1", "ANTHROPIC_API_KEY", "proj", {"fleet": "f1", "job": "a"})
        for i in range(n)
    }


def create(sim: Simulator, custom_ids: list[str]) -> str:
    """The create call a killed coordinator made: it reached the API, its answer was lost."""
    params = {"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
    requests: Any = [{"custom_id": cid, "params": params} for cid in custom_ids]
    return sim.client().messages.batches.create(requests=requests).id


async def no_wait(_: float) -> None:
    await asyncio.sleep(0)


def recover(sim: Simulator, journal: PoolJournal, ledger_path: Path) -> tuple[list[str | None], list[str]]:
    async def go() -> tuple[list[str | None], list[str]]:
        ledger = open_ledger(str(ledger_path))
        client = sim.async_client()
        try:
            pool = BatchPool(
                client, journal, ledger=ledger, prices=bundled_prices(), policy=PoolPolicy(), sleep=no_wait
            )
            stale, notes = await pool.stale()
            notes += await pool.settle(stale)
            return [r.batch_id for r in stale], notes
        finally:
            await client.close()
            ledger.close()

    return asyncio.run(go())


def test_a_batch_created_as_the_coordinator_died_is_found_and_recorded(
    sim: Simulator, tmp_path: Path
) -> None:
    journal = PoolJournal(tmp_path / "batches")
    record = PoolRecord("k1", "submitting", time.time(), owners(3))
    journal.put(record)
    other = create(sim, ["x-1", "x-2"])  # another batch of the account: not as many requests
    batch_id = create(sim, list(record.owners))
    found, notes = recover(sim, journal, tmp_path / "ledger.sqlite3")
    assert found == [batch_id] and notes == [] and other != batch_id
    ledger = open_ledger(str(tmp_path / "ledger.sqlite3"))
    rows = ledger.query(RowQuery())
    ledger.close()
    assert sorted(r.request_id for r in rows) == sorted(f"batch:{batch_id}:{cid}" for cid in record.owners)
    assert {(r.mode, r.session_id, r.tags["job"]) for r in rows} == {("batch", "sess-1", "a")}
    assert [(r.state, r.batch_id) for r in journal.records()] == [(COLLECTED, batch_id)]
    # Settled: a second rerun has nothing to do.
    assert recover(sim, journal, tmp_path / "ledger.sqlite3") == ([], [])


def test_a_create_call_that_never_reached_the_api_is_dropped(sim: Simulator, tmp_path: Path) -> None:
    journal = PoolJournal(tmp_path / "batches")
    journal.put(PoolRecord("k1", "submitting", time.time(), owners(3)))
    assert recover(sim, journal, tmp_path / "ledger.sqlite3") == ([], [])
    assert journal.records() == []


def test_two_batches_that_could_be_it_are_left_for_a_person(sim: Simulator, tmp_path: Path) -> None:
    journal = PoolJournal(tmp_path / "batches")
    journal.put(PoolRecord("k1", "submitting", time.time(), owners(2)))
    first, second = create(sim, ["a-1", "a-2"]), create(sim, ["b-1", "b-2"])
    found, notes = recover(sim, journal, tmp_path / "ledger.sqlite3")
    assert found == [] and len(notes) == 1
    assert "2 batches could be it" in notes[0] and first in notes[0] and second in notes[0]
    assert [r.state for r in journal.records()] == ["submitting"]
