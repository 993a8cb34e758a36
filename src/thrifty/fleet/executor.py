"""Where a fleet's jobs run: the seam between the coordinator and the workers.

The coordinator (``thrifty.fleet.run``) owns the journal, the fleet budget and the results; an
executor only decides where and how many jobs run at once. It pulls tasks with ``next_task``
(``None``: no more; the coordinator journals each attempt before handing it out, and stops
handing out when a shared budget is spent) and hands every finished ``JobResult`` to ``done``,
on the coordinator's event loop.

``EmbeddedExecutor`` runs each task as an in-process session (``work``, which is
``run.run_job``), at most ``concurrency`` at a time. A cluster executor (Ray, as an optional
extra) keeps the same contract: it runs ``run.run_job_sync(task)`` remotely (a ``JobTask`` is
plain data: the job, its session id and the fleet's options, which must then be picklable) and
calls ``done`` as results come back; the ledger rows are written by the workers, tagged with the
fleet and the job, so the totals come from the ledger whoever ran them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from thrifty.fleet.run import JobResult, JobTask

DEFAULT_CONCURRENCY = 8


class Executor(Protocol):
    async def run(
        self,
        next_task: Callable[[], JobTask | None],
        work: Callable[[JobTask], Awaitable[JobResult]],
        done: Callable[[JobResult], None],
    ) -> None:
        """Run tasks until ``next_task`` returns None and every started one is done."""
        ...


class EmbeddedExecutor:
    """In-process sessions on this event loop, ``concurrency`` at a time (a pool of that many
    workers, each taking the next task when its job ends: a semaphore that never queues)."""

    def __init__(self, concurrency: int = DEFAULT_CONCURRENCY) -> None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be a positive integer, not {concurrency!r}")
        self.concurrency = concurrency

    async def run(
        self,
        next_task: Callable[[], JobTask | None],
        work: Callable[[JobTask], Awaitable[JobResult]],
        done: Callable[[JobResult], None],
    ) -> None:
        async def worker() -> None:
            while (task := next_task()) is not None:
                done(await work(task))

        async with asyncio.TaskGroup() as group:
            for _ in range(self.concurrency):
                group.create_task(worker())
