"""A fleet's jobs through one ``BatchPool`` (``run_fleet(via="batch")``, ``--via batch``).

The pool lives in the coordinator's process and event loop, so batching needs the embedded
executor. Its journal is the fleet's own (``<fleet dir>/batches/``): a rerun of the fleet finds
the batches a killed coordinator left in flight (``stale``, before it sends any batch of its own)
and settles them (``settle``, while the rerun's jobs go on) before the summary reads the totals
from the ledger. The killed run's jobs themselves run again from the start, as any job cut short
does (docs/fleet.md): what the API billed for them is recorded once, from the batch it was in.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from thrifty.agent.options import positive_number
from thrifty.batch.pool import BatchPool, PoolPolicy
from thrifty.batch.pool_journal import PoolJournal

if TYPE_CHECKING:
    from thrifty.billing.ledger import Ledger
    from thrifty.fleet.jobs import Job
    from thrifty.fleet.results import JobResult, JobTask
    from thrifty.sdk.options import Options

log = logging.getLogger("thrifty.batch")
VIAS = ("live", "batch")
#: The longest wait between two polls of a batch, in seconds (default ``PoolPolicy.max_poll_s``):
#: a batch takes minutes, so a poll a minute is plenty; lower it to see results sooner.
POLL_ENV = "THRIFTY_BATCH_POLL_S"


@dataclass(frozen=True)
class ViaBatch:
    """``run_fleet(via=ViaBatch(...))``: ``"batch"`` with the pool's timing spelled out, and a
    ``sleep`` of the caller's (a test's manual clock)."""

    policy: PoolPolicy = field(default_factory=PoolPolicy)
    sleep: Callable[[float], Awaitable[None]] | None = None
    #: False: only the jobs whose line says ``"via": "batch"`` batch; the rest are live.
    every_job: bool = True


def check_via(via: object, environ: Mapping[str, str]) -> ViaBatch | None:
    """None for live calls; ValueError (one line) for what is neither."""
    if isinstance(via, ViaBatch):
        return via
    if via == "batch":
        raw = environ.get(POLL_ENV, "").strip()
        if not raw:
            return ViaBatch()
        poll = positive_number(raw, POLL_ENV, "seconds")
        return ViaBatch(PoolPolicy(poll_s=min(poll, PoolPolicy.poll_s), max_poll_s=poll))
    if via == "live":
        return None
    raise ValueError(f"via must be 'live' or 'batch', not {via!r}")


@contextlib.asynccontextmanager
async def fleet_pool(
    base: Options, fleet_dir: Path, ledger: Ledger, via: ViaBatch
) -> AsyncIterator[BatchPool]:
    """The pool for one run of the fleet: settles what an earlier run left in flight meanwhile,
    and on the way out waits for its batches and records what no session took."""
    from thrifty.batch.context import open_context

    environ = {**os.environ, **{str(k): str(v) for k, v in base.env.items()}}
    cwd = Path(base.cwd) if base.cwd is not None else None
    async with open_context(base.client, cwd, environ, base.ledger, record=False) as ctx:
        pool = BatchPool(
            ctx.client,
            PoolJournal(fleet_dir / "batches"),
            ledger=ledger,
            prices=ctx.prices,
            policy=via.policy,
            sleep=via.sleep or asyncio.sleep,
        )
        stale, notes = await pool.stale()
        recovering = asyncio.get_running_loop().create_task(pool.settle(stale))
        try:
            yield pool
        except BaseException:  # cancelled (Ctrl-C) or failed: what is out is left to a rerun
            recovering.cancel()
            pool.abandon()
            raise
        pool.notes = notes + await recovering
        for note in pool.notes:
            log.warning("%s", note)
        await pool.close()


def plan_via(
    via: object, jobs: list[Job], environ: Mapping[str, str], *, embedded: bool
) -> tuple[ViaBatch | None, list[Job]]:
    """The pool's policy (None: no job batches) and the jobs with their ``via`` filled in (a
    job's own, else the fleet's). ValueError (one line) for a ``via`` that is neither, or for
    batching on an executor that runs jobs elsewhere."""
    batch = check_via(via, environ)
    default = "batch" if batch is not None and batch.every_job else "live"
    filled = [job if job.via is not None else dataclasses.replace(job, via=default) for job in jobs]
    if not any(job.via == "batch" for job in filled):
        return None, filled
    if not embedded:
        raise ValueError("via 'batch' needs the embedded executor: the batch pool is in this process")
    return batch or check_via("batch", environ), filled


def pooled(
    pool: BatchPool, work: Callable[[JobTask, BatchPool | None], Awaitable[JobResult]]
) -> Callable[[JobTask], Awaitable[JobResult]]:
    """``work`` with the pool for the jobs that batch, each a member while it runs: the pool
    waits for a running job's next call before it sends a batch, and not for a job that ended."""

    async def member(task: JobTask) -> JobResult:
        if task.job.via != "batch":
            return await work(task, None)
        pool.join()
        try:
            return await work(task, pool)
        finally:
            pool.leave()

    return member
