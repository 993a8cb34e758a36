"""The process-wide ledger registry: one connection per ledger, shared handles, writes off the loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import pg
from tests.billing.factory import at, make_row
from thrifty.billing.context import open_billing
from thrifty.billing.ledger import Ledger, LedgerError, RowQuery, SharedLedger, open_ledger, shared_ledger
from thrifty.billing.ledger.conformance import CASES, Case, Harness
from thrifty.billing.ledger.shared import open_count
from thrifty.billing.ledger.sql import SqlLedger
from thrifty.billing.meter import Meter, MeterContext
from thrifty.billing.spool import Spool
from thrifty.core.events import ApiUsage
from thrifty.core.usage import Usage


def _usage(request_id: str) -> ApiUsage:
    usage = {"input_tokens": 10, "output_tokens": 5}
    return ApiUsage("s1", request_id, "msg_1", "claude-sonnet-5-5", Usage.from_api(usage), 10, True, 0)


def _raw_ids(path: Path) -> list[str]:
    """What a separate connection sees committed, so a row there is durable, not just buffered."""
    with sqlite3.connect(path) as conn:
        return [rid for (rid,) in conn.execute("SELECT request_id FROM thrifty_calls ORDER BY request_id")]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_conformance_through_shared_handles_sqlite(case: Case, tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"

    def sql(statement: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(path) as conn:
            return list(conn.execute(statement).fetchall())

    case(Harness(open=lambda: shared_ledger(str(path)), sql=sql))
    assert open_count() == 0


@pytest.mark.parametrize("case", CASES, ids=str)
def test_conformance_through_shared_handles_postgres(case: Case, pg_url: str, pg_server: pg.PgServer) -> None:
    import psycopg

    def sql(statement: str) -> list[tuple[object, ...]]:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            cur = conn.execute(statement)
            return list(cur.fetchall()) if cur.description else []

    case(Harness(open=lambda: shared_ledger(pg_url), sql=sql, secret=pg_server.password))
    assert open_count() == 0


def test_one_connection_per_ledger_and_the_last_close_closes_it(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    first = shared_ledger(str(path))
    second = shared_ledger(f"sqlite://{path}")
    (tmp_path / "link.sqlite3").symlink_to(path)
    third = shared_ledger(str(tmp_path / "link.sqlite3"))
    other = shared_ledger(str(tmp_path / "other.sqlite3"))
    assert open_count() == 2
    assert first._entry is second._entry is third._entry and other._entry is not first._entry
    first.append(make_row("r1"))
    assert [r.request_id for r in third.query(RowQuery())] == ["r1"]
    first.close()
    first.close()  # a second close of the same handle releases nothing more
    with pytest.raises(LedgerError, match="closed"):
        first.append(make_row("r2"))
    second.append(make_row("r2"))  # the others still work
    second.close()
    assert open_count() == 2
    third.close()
    other.close()
    assert open_count() == 0
    reopened = shared_ledger(str(path))  # a fresh connection after the last close
    assert [r.request_id for r in reopened.query(RowQuery())] == ["r1", "r2"]
    reopened.close()


def test_memory_ledgers_are_never_shared() -> None:
    a, b = shared_ledger(":memory:"), shared_ledger("sqlite://:memory:")
    a.append(make_row("only-in-a"))
    assert b.query(RowQuery()) == []
    assert open_count() == 0
    a.close()
    b.close()


def test_every_run_of_a_process_shares_the_ledger(tmp_path: Path) -> None:
    env = {"ANTHROPIC_API_KEY": "sk-ant-test", "THRIFTY_LEDGER": str(tmp_path / "runs.sqlite3")}
    runs = [open_billing(tmp_path, env, api_key_helper=None) for _ in range(50)]
    assert open_count() == 1
    for billing in runs:
        billing.close()
    assert open_count() == 0


def test_threads_appending_through_their_own_handles_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"

    def work(k: int) -> None:
        with shared_ledger(str(path)) as ledger:
            for i in range(25):
                ledger.append(make_row(f"t{k}-{i:02d}", recorded_at=at(i)))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(_raw_ids(path)) == 200
    assert open_count() == 0


@pytest.mark.anyio
async def test_append_async_is_durable_when_it_returns(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with shared_ledger(str(path)) as ledger:
        assert await ledger.append_async(make_row("a1")) is True
        assert _raw_ids(path) == ["a1"]
        assert await ledger.append_async(make_row("a1")) is False  # one row per request_id


@pytest.mark.anyio
async def test_a_write_in_progress_does_not_block_other_sessions(tmp_path: Path) -> None:
    """The write waits for something only another coroutine does: on the event loop it would
    deadlock; on the writer thread the loop runs the other coroutine meanwhile."""
    other_ran = threading.Event()
    path = str(tmp_path / "ledger.sqlite3")
    with shared_ledger(path) as ledger, shared_ledger(path):  # two sessions share it

        def slow_write(inner: object) -> bool:
            assert isinstance(inner, SqlLedger)
            if not other_ran.wait(timeout=30):
                raise AssertionError("the loop was blocked while the write ran")
            return inner.append(make_row("slow"))

        async def other_session() -> None:
            await asyncio.sleep(0)
            other_ran.set()

        written, _ = await asyncio.gather(ledger.run_async(slow_write), other_session())
        assert written is True


@pytest.mark.anyio
async def test_a_cancelled_session_still_gets_its_row_written(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    gate = threading.Event()
    with shared_ledger(str(path)) as ledger, shared_ledger(str(path)):  # two sessions share it

        def gated(inner: object) -> bool:
            gate.wait(timeout=30)
            assert isinstance(inner, SqlLedger)
            return inner.append(make_row("cancelled-mid-write"))

        task = asyncio.ensure_future(ledger.run_async(gated))
        await asyncio.sleep(0)
        task.cancel()
        gate.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        await ledger.append_async(make_row("after"))  # queued behind it: it has run by now
    assert _raw_ids(path) == ["after", "cancelled-mid-write"]


def _writer_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("thrifty-ledger-writer")]


@pytest.mark.anyio
async def test_a_lone_session_writes_on_the_loop_and_a_second_one_moves_writes_to_the_thread(
    tmp_path: Path,
) -> None:
    """One handle: no other session can be stalled, so the hand-off to the writer thread (two
    cross-thread wake-ups per call) is skipped. Two handles: writes leave the loop."""
    path = tmp_path / "ledger.sqlite3"
    loop_thread = threading.get_ident()
    ran_on: list[int] = []

    def write(request_id: str) -> Callable[[Ledger], bool]:
        def job(inner: Ledger) -> bool:
            ran_on.append(threading.get_ident())
            return inner.append(make_row(request_id))

        return job

    with shared_ledger(str(path)) as ledger:
        assert await ledger.run_async(write("alone")) is True
        assert ran_on == [loop_thread] and _writer_threads() == []
        assert _raw_ids(path) == ["alone"]  # committed: another connection sees it
        with shared_ledger(str(path)):
            assert await ledger.run_async(write("shared")) is True
        assert ran_on[1] != loop_thread
        assert await ledger.run_async(write("alone again")) is True
        assert ran_on[2] == loop_thread
    assert _raw_ids(path) == ["alone", "alone again", "shared"]


@pytest.mark.anyio
async def test_a_lone_write_that_would_wait_for_another_process_waits_on_the_thread(tmp_path: Path) -> None:
    """Another connection holds the write lock: the loop must not wait out the busy timeout, so
    the write goes to the thread, which waits; the loop runs on; nothing is spooled or lost."""
    path = tmp_path / "ledger.sqlite3"
    spool = Spool(tmp_path / "spool.jsonl")
    with shared_ledger(str(path)) as ledger:
        meter = Meter(MeterContext("s1", "api", "k", "/p"), ledger, spool=spool)
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process mid-write
        try:
            task = asyncio.ensure_future(meter.record_async(_usage("req_waited")))
            ticks = 0
            while ticks < 20:  # the loop keeps turning while the write waits for the lock
                await asyncio.sleep(0.01)
                ticks += 1
            assert not task.done()
            assert _writer_threads()
        finally:
            other.execute("COMMIT")
            other.close()
        row = await asyncio.wait_for(task, 30)
        assert row.request_id == "req_waited"
        assert _raw_ids(path) == ["req_waited"]
        assert meter.problems == [] and list(spool.pending()) == []
        # The lone path is back: the next write runs on the loop with the waiting restored.
        await meter.record_async(_usage("req_next"))
        assert _raw_ids(path) == ["req_next", "req_waited"]


def test_outside_the_no_wait_mode_a_locked_ledger_is_waited_for(tmp_path: Path) -> None:
    """``immediate()`` must put the 30 s busy timeout back: a plain append still queues."""
    path = tmp_path / "ledger.sqlite3"
    with shared_ledger(str(path)) as ledger:
        inner = ledger._entry.ledger
        assert isinstance(inner, SqlLedger)
        with inner.immediate():  # type: ignore[attr-defined]
            inner.append(make_row("quick"))
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
        release.start()
        try:
            assert ledger.append(make_row("waited")) is True
        finally:
            release.join()
            other.close()
    assert _raw_ids(path) == ["quick", "waited"]


@pytest.mark.anyio
async def test_record_async_writes_before_it_returns(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with shared_ledger(str(path)) as ledger:
        meter = Meter(MeterContext("s1", "api", "k", "/p"), ledger)
        row = await meter.record_async(_usage("req_async"))
        assert row.request_id == "req_async" and row.cost_usd is not None
        assert _raw_ids(path) == ["req_async"]
        assert meter.last_row is row


@pytest.mark.anyio
async def test_record_async_spools_a_failed_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ledger.sqlite3"
    spool = Spool(tmp_path / "spool.jsonl")
    with shared_ledger(str(path)) as ledger:
        meter = Meter(MeterContext("s1", "api", "k", "/p"), ledger, spool=spool)

        def refuse(self: SqlLedger, row: object) -> bool:
            raise LedgerError("server went away")

        with monkeypatch.context() as patch:
            patch.setattr(SqlLedger, "append", refuse)
            await meter.record_async(_usage("req_lost?"))
        assert meter.problems and "ledger write failed (LedgerError)" in meter.problems[0]
        assert [r.request_id for r in spool.pending()] == ["req_lost?"]
        Meter(MeterContext("s2", "api", "k", "/p"), ledger, spool=spool)  # replays on open
        assert _raw_ids(path) == ["req_lost?"]


@pytest.mark.anyio
async def test_record_async_without_a_spool_raises_the_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with shared_ledger(str(tmp_path / "ledger.sqlite3")) as ledger:
        meter = Meter(MeterContext("s1", "api", "k", "/p"), ledger)

        def refuse(self: SqlLedger, row: object) -> bool:
            raise LedgerError("disk full")

        monkeypatch.setattr(SqlLedger, "append", refuse)
        with pytest.raises(LedgerError, match="disk full"):
            await meter.record_async(_usage("req_x"))


@pytest.mark.anyio
async def test_record_async_on_a_plain_ledger_writes_in_line(tmp_path: Path) -> None:
    ledger = open_ledger(str(tmp_path / "plain.sqlite3"))
    try:
        assert not isinstance(ledger, SharedLedger)
        meter = Meter(MeterContext("s1", "api", "k", "/p"), ledger)
        await meter.record_async(_usage("req_plain"))
        assert [r.request_id for r in ledger.query(RowQuery())] == ["req_plain"]
    finally:
        ledger.close()


@pytest.mark.anyio
async def test_a_closed_handle_refuses_async_writes(tmp_path: Path) -> None:
    ledger = shared_ledger(str(tmp_path / "ledger.sqlite3"))
    ledger.close()
    with pytest.raises(LedgerError, match="closed"):
        await ledger.append_async(make_row("late"))
