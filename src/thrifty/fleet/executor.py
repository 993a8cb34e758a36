"""Where a fleet's jobs run: the seam between the coordinator and the workers.

The coordinator (``thrifty.fleet.run``) owns the journal, the fleet budget and the results; an
executor only decides where and how many jobs run at once. It pulls tasks with ``next_task``
(``None``: no more; the coordinator journals each attempt before handing it out, and stops
handing out when a shared budget is spent) and hands every finished ``JobResult`` to ``done``,
on the coordinator's event loop.

``EmbeddedExecutor`` runs each task as an in-process session (``work``, which is
``run.run_job``), at most ``concurrency`` at a time. ``RayExecutor``
(``thrifty.fleet.ray_executor``, the optional ``thrifty[ray]`` extra) keeps the same contract
through the same pool: each slot sends ``run.run_job_sync(task)`` to a Ray worker (a ``JobTask``
is plain data: the job, its session id and the fleet's options, which must then be picklable)
and calls ``done`` as its result comes back; the ledger rows are written by the workers, tagged
with the fleet and the job, so the totals come from the ledger whoever ran them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from thrifty.fleet.results import JobResult, JobTask

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


def check_concurrency(concurrency: int) -> int:
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be a positive integer, not {concurrency!r}")
    return concurrency


async def run_pool(
    concurrency: int,
    next_task: Callable[[], JobTask | None],
    work: Callable[[JobTask], Awaitable[JobResult]],
    done: Callable[[JobResult], None],
) -> None:
    """``concurrency`` slots, each taking the next task when its job ends: a semaphore that never
    queues, so a task is only pulled (and journaled as started) when something can run it, and
    the coordinator's budget check before each pull sees every result that came back before."""

    async def slot() -> None:
        while (task := next_task()) is not None:
            done(await work(task))

    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(slot())


class EmbeddedExecutor:
    """In-process sessions on this event loop, ``concurrency`` at a time."""

    def __init__(self, concurrency: int = DEFAULT_CONCURRENCY) -> None:
        self.concurrency = check_concurrency(concurrency)

    async def run(
        self,
        next_task: Callable[[], JobTask | None],
        work: Callable[[JobTask], Awaitable[JobResult]],
        done: Callable[[JobResult], None],
    ) -> None:
        await run_pool(self.concurrency, next_task, work, done)
