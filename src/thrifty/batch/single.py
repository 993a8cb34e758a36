"""``thrifty -p --via batch``: one session whose every turn goes out as a Message Batch of one.

Half the price of the live call, for minutes of latency; the output frames are the live ones (the
``BatchCaller`` yields what the streamed caller would). The pool is built on the session's own
billing, after the session resolved it, so the batch is paid by exactly the credential, ledger
and price table a live run would use; a plan credential is refused in one line (the Batches API
takes API credentials only).

Journal: each run keeps its pool's journal in a folder of its own, ``<data dir>/batches/runs/<id>/``,
holding an exclusive ``flock`` on ``<id>/lock`` while it lives. A run killed with a batch out leaves
its folder unlocked: the next ``-p --via batch`` run takes the lock, asks the API once about each
batch in it and records the rows of those that have ended (``BatchPool.settle``); one still
processing is left for a later run, so no run waits on another's batch. The killed run's
conversation is not resumed from that batch: its transcript ends at the last turn it recorded.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from thrifty.batch.caller import BatchCaller, batched
from thrifty.batch.fleet_pool import check_via
from thrifty.batch.pool import BatchPool, PoolPolicy
from thrifty.batch.pool_journal import PoolJournal

if TYPE_CHECKING:
    import anthropic

    from thrifty.agent.options import AgentOptions
    from thrifty.agent.session import Session
    from thrifty.billing.ledger import Ledger
    from thrifty.billing.prices import PriceTable

log = logging.getLogger("thrifty.batch")
NO_CREDENTIAL = "--via batch needs an API credential (ANTHROPIC_API_KEY, apiKeyHelper or a gateway token)"


def runs_dir(environ: dict[str, str]) -> Path:
    from thrifty.billing.paths import data_dir

    return data_dir(environ) / "batches" / "runs"


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[IO[str] | None]:
    """A killed run's folder, locked for the block (None: its run is alive after all)."""
    handle = (folder / "lock").open("a")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        yield handle
    finally:
        handle.close()


@contextlib.contextmanager
def _own_folder(root: Path) -> Iterator[Path]:
    """A new folder for this run's journal, locked before it appears under its name: another
    run never sees it unlocked, so never mistakes it for a killed run's."""
    name = uuid.uuid4().hex
    new = root / f".new-{name}"
    new.mkdir(parents=True)
    with (new / "lock").open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        folder = new.rename(root / name)
        yield folder


async def _settle_earlier(
    root: Path, mine: Path, client: anthropic.AsyncAnthropic, ledger: Ledger | None, prices: PriceTable
) -> list[str]:
    """Record the ended batches that killed runs left in their folders; notes on what could not be."""
    notes: list[str] = []
    if not root.is_dir():
        return notes
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p != mine and p.name[0] != "."):
        with _locked(folder) as lock:
            if lock is None:  # that run is alive: its batches are its own
                continue
            pool = BatchPool(
                client, PoolJournal(folder), ledger=ledger, prices=prices, policy=PoolPolicy(poll_s=0)
            )
            try:
                stale, found = await pool.stale()
                notes.extend(found)
                ended = []
                for record in stale:
                    assert record.batch_id is not None
                    batch = await client.messages.batches.retrieve(record.batch_id)
                    if batch.processing_status == "ended":
                        ended.append(record)
                notes.extend(await pool.settle(ended))
            except Exception as exc:  # the API could not be asked: a later run tries again
                notes.append(f"batch journal {folder}: could not settle it ({type(exc).__name__})")
                continue
            if not pool.journal.open_records():
                shutil.rmtree(folder, ignore_errors=True)
    return notes


@contextlib.asynccontextmanager
async def batch_session(options: AgentOptions) -> AsyncIterator[Session]:
    """A session whose calls wait in Message Batches of their own; ``SetupError`` (one line) for
    a plan credential or none. On the way out the pool records what no turn took."""
    import asyncio

    from thrifty.agent.session import Session
    from thrifty.agent.validate import SetupError
    from thrifty.batch.context import PLAN_REFUSED

    environ = dict(options.environ if options.environ is not None else os.environ)
    try:
        via = check_via("batch", environ)
    except ValueError as exc:
        raise SetupError(str(exc)) from None
    assert via is not None
    # Built as a live session first: a plan run then says it cannot batch, rather than that it
    # takes no caller; an API run's live caller is only a wrapper of its client, replaced here.
    session = Session(options)
    async with session:
        billing = session.prepared.billing
        if session.claude is not None:
            raise SetupError(PLAN_REFUSED)
        caller = BatchCaller(None)
        session.caller = caller
        client = billing.client(max_retries=2)
        if client is None:
            raise SetupError(NO_CREDENTIAL)
        root = runs_dir(environ)
        try:
            with _own_folder(root) as mine:
                pool = BatchPool(
                    client, PoolJournal(mine), ledger=billing.ledger, prices=billing.prices, policy=via.policy
                )
                caller.attach(pool)
                batched(session, caller)
                earlier = asyncio.get_running_loop().create_task(
                    _settle_earlier(root, mine, client, billing.ledger, billing.prices)
                )
                pool.join()
                try:
                    yield session
                except BaseException:  # cancelled or failed: what is out is left to a later run
                    earlier.cancel()
                    pool.abandon()
                    raise
                finally:
                    pool.leave()
                try:
                    notes = await earlier
                except OSError as exc:  # the runs folder could not be read: a later run tries again
                    notes = [f"batch journals in {root}: {exc.strerror or exc}"]
                for note in notes:
                    log.warning("%s", note)
                await pool.close()
                if not pool.journal.open_records():
                    shutil.rmtree(mine, ignore_errors=True)
        finally:
            await client.close()


__all__ = ["NO_CREDENTIAL", "batch_session", "runs_dir"]
