"""``run_fleet``: many agent jobs, each an in-process session, with a journal and the ledger's totals.

Every job runs as its own session (``thrifty.sdk.runner.open_session``) with the fleet's options,
the job's own on top, and two tags on every ledger row: ``fleet=<fleet id>`` and ``job=<id>``.
So the fleet's cost is the sum of the ledger rows tagged with its id, exact whatever happened to
the coordinator, and a fleet budget is a cap on the scope ``tag:fleet=<id>``: the ledger's
reservations make it hold across jobs running at once. A per-job budget is the job's
``max_budget_usd`` (the run's own cap).

All jobs write one ledger, resolved once by the coordinator (``--ledger``/``ledger``, else the
environment and config of where the fleet is run) and passed to each job, so a project file in a
job's repository cannot send its rows elsewhere.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thrifty.fleet.attempt import job_options, run_job
from thrifty.fleet.executor import DEFAULT_CONCURRENCY, EmbeddedExecutor, Executor
from thrifty.fleet.jobs import FleetInputError, Job, jobs_hash, parse_jobs, read_jobs
from thrifty.fleet.journal import FleetBusy, FleetJournal, check_fleet_id
from thrifty.fleet.results import (
    BUDGET_EXCEEDED,
    FAILED,
    SUCCEEDED,
    FleetError,
    FleetEvents,
    FleetSummary,
    JobResult,
    JobTask,
)

if TYPE_CHECKING:
    from thrifty.batch.fleet_pool import ViaBatch
    from thrifty.batch.pool import BatchPool
    from thrifty.billing.ledger import Ledger
    from thrifty.sdk.options import Options

#: Where the fleet's spend is counted from (``thrifty.billing.budget.EPOCH``, the ``total`` period).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _amount(value: Decimal | str | float | int | None) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(str(value)) if not isinstance(value, bool) else Decimal("NaN")
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or amount <= 0:
        raise FleetInputError(f"max_cost_usd must be an amount in USD above 0, not {value!r}")
    return amount


def _load(jobs: str | Path | Iterable[Job | Mapping[str, Any]]) -> tuple[list[Job], str]:
    if isinstance(jobs, str | Path):
        return read_jobs(Path(jobs))
    parsed = parse_jobs(jobs)
    return parsed, jobs_hash(parsed)


def _ledger_url(base: Options, environ: Mapping[str, str]) -> str:
    from thrifty.billing.config import load_billing_config
    from thrifty.billing.paths import default_ledger_path

    cwd = Path(base.cwd) if base.cwd is not None else Path.cwd()
    config = load_billing_config(cwd, environ, flag_ledger=base.ledger)
    return config.ledger[0] if config.ledger else str(default_ledger_path(environ))


def _done_before(line: Mapping[str, Any] | None, retry_failed: bool) -> bool:
    """Whether an earlier run's result finishes the job (a rerun skips it)."""
    if line is None:
        return False
    status = line.get("status")
    if status == SUCCEEDED:
        return True
    if status == FAILED:
        return not retry_failed and not line.get("lost")
    return status == BUDGET_EXCEEDED and line.get("budget") == "job"


async def run_fleet(
    jobs: str | Path | Iterable[Job | Mapping[str, Any]],
    *,
    options: Options | None = None,
    fleet_id: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_cost_usd: Decimal | str | float | None = None,
    retry_failed: bool = False,
    executor: Executor | None = None,
    events: FleetEvents | None = None,
    state_dir: str | Path | None = None,
    via: str | ViaBatch = "live",
) -> FleetSummary:
    """Run every job of the fleet not finished by an earlier run, and sum its cost from the ledger.

    ``jobs``: a JSONL path, or job dicts (the JSONL line format) / ``Job`` objects. ``options``:
    the base of every job's options (credentials, ledger, model, permission mode, ...).
    ``fleet_id``: default ``f-`` and a hash of the jobs, so rerunning the same file resumes it.
    ``max_cost_usd``: the fleet's budget. ``retry_failed``: run failed jobs again on a rerun.
    ``state_dir``: where fleets keep their journals (default ``<data dir>/fleets``).
    ``via``: ``"live"`` (streamed calls), or ``"batch"`` / ``thrifty.batch.fleet_pool.ViaBatch``:
    every turn of the running jobs goes out together as one Message Batch, at half the price.

    Raises ``FleetInputError`` for a bad job (naming its line) and ``FleetError`` when the fleet
    cannot run; a job's own failure is its result, never an exception.
    """
    from thrifty.agent.validate import SetupError
    from thrifty.billing.ledger import shared_ledger
    from thrifty.billing.paths import data_dir
    from thrifty.sdk.options import Options as OptionsType

    job_list, digest = _load(jobs)
    cap = _amount(max_cost_usd)
    base = options if options is not None else OptionsType()
    if not base.record_usage:
        raise FleetError("a fleet needs the ledger to count its cost; record_usage=False is not allowed")
    environ = {**os.environ, **{str(k): str(v) for k, v in base.env.items()}}
    try:
        fid = check_fleet_id(fleet_id) if fleet_id is not None else f"f-{digest[:12]}"
    except ValueError as exc:
        raise FleetInputError(str(exc)) from None
    url = _ledger_url(base, environ)
    base = dataclasses.replace(base, ledger=url)
    for job in job_list:  # every job's options checked before any runs
        try:
            job_options(base, job, fid, None, None)
        except SetupError as exc:
            raise FleetInputError(f"{job.where or job.id}: {exc}") from None
    from thrifty.batch.fleet_pool import plan_via

    try:  # each job's ``via`` (its own, else the fleet's); the pool's policy if any job batches
        embedded = executor is None or isinstance(executor, EmbeddedExecutor)
        batch, job_list = plan_via(via, job_list, environ, embedded=embedded)
    except ValueError as exc:
        raise FleetInputError(str(exc)) from None
    runner = executor if executor is not None else EmbeddedExecutor(concurrency)
    report = events if events is not None else FleetEvents()
    fleets = Path(state_dir) if state_dir is not None else data_dir(environ) / "fleets"
    try:
        journal = FleetJournal.open(fleets, fid, digest)
    except FleetBusy as exc:
        raise FleetError(str(exc)) from None
    ledger = shared_ledger(url)
    try:
        if batch is None:
            return await _coordinate(job_list, fid, base, cap, retry_failed, runner, report, journal, ledger)
        from thrifty.batch.context import BatchError
        from thrifty.batch.fleet_pool import fleet_pool

        try:
            async with fleet_pool(base, journal.root, ledger, batch) as pool:
                args = (job_list, fid, base, cap, retry_failed, runner, report, journal, ledger)
                summary = await _coordinate(*args, pool=pool)
        except BatchError as exc:
            raise FleetError(str(exc)) from None
        return _summary(job_list, fid, journal, ledger, summary.skipped)  # with what recovery added
    finally:
        ledger.close()
        journal.close()


async def _coordinate(
    job_list: list[Job],
    fid: str,
    base: Options,
    cap: Decimal | None,
    retry_failed: bool,
    runner: Executor,
    report: FleetEvents,
    journal: FleetJournal,
    ledger: Ledger,
    pool: BatchPool | None = None,
) -> FleetSummary:
    skipped = [
        JobResult.from_json(journal.results[j.id])
        for j in job_list
        if _done_before(journal.results.get(j.id), retry_failed)
    ]
    skip_ids = {str(r.id) for r in skipped}
    todo = [job for job in job_list if job.id not in skip_ids]
    report.planned(fid, len(todo), skipped)
    scope = f"tag:fleet={fid}"
    pending = iter(todo)
    started: set[str] = set()
    stopped: list[str] = []

    def spent_out() -> bool:
        """Whether the fleet's whole-life spend and holds already reach its budget (start nothing)."""
        if cap is None:
            return False
        ever = ledger.scope_spend(scope, since=EPOCH, now=datetime.now(UTC))
        if ever.spent + ever.reserved >= cap:
            stopped.append(f"not started: the fleet's budget (${cap}) is spent")
        return bool(stopped)

    def next_task() -> JobTask | None:
        if stopped or spent_out():
            return None
        job = next(pending, None)
        if job is None:
            return None
        session_id = str(uuid.uuid4())
        attempt = journal.started(job.id, session_id)
        started.add(job.id)
        report.started(job)
        work_dir = journal.work_dir(job.id) if job.repo is not None else None
        return JobTask(job, fid, session_id, attempt, base, work_dir, cap)

    def done(result: JobResult) -> None:
        journal.finished(result.to_json())
        if result.status == BUDGET_EXCEEDED and result.budget == "shared" and not stopped:
            stopped.append(f"not started: a shared budget stopped job {result.id}: {result.error}")
        report.finished(result)

    if pool is None:
        await runner.run(next_task, run_job, done)
    else:
        from thrifty.batch.fleet_pool import pooled

        await runner.run(next_task, pooled(pool, run_job), done)
    for job in todo:
        if job.id not in started:
            left = JobResult(
                job.raw_id, BUDGET_EXCEEDED, error=stopped[0] if stopped else "not started", budget="shared"
            )
            journal.finished(left.to_json())
            report.finished(left)
    return _summary(job_list, fid, journal, ledger, len(skipped))


def _summary(
    job_list: list[Job], fid: str, journal: FleetJournal, ledger: Ledger, skipped: int
) -> FleetSummary:
    from thrifty.billing.ledger import RowQuery

    since = datetime.fromtimestamp(journal.created_at, UTC) - timedelta(hours=1)
    owner = {sid: job_id for job_id, sids in journal.sessions.items() for sid in sids}
    job_cost = {job.id: Decimal(0) for job in job_list}
    rows = unpriced = 0
    for bucket in ledger.aggregate(RowQuery(since=since), by=("session_id",), times=False, logged=False):
        job_id = owner.get(bucket.session_id or "")
        if job_id is None:
            continue
        job_cost[job_id] = job_cost.get(job_id, Decimal(0)) + bucket.cost_usd
        rows += bucket.calls
        unpriced += bucket.unpriced_calls
    total = ledger.scope_spend(f"tag:fleet={fid}", since=EPOCH, now=datetime.now(UTC)).spent
    results = [
        JobResult.from_json(journal.results[job.id])
        if job.id in journal.results
        else JobResult(job.raw_id, FAILED, error="no result")
        for job in job_list
    ]
    reruns = sum(max(0, len(sids) - 1) for sids in journal.sessions.values())
    return FleetSummary(
        fleet_id=fid,
        results=results,
        skipped=skipped,
        total_cost_usd=total,
        job_cost_usd=job_cost,
        ledger_rows=rows,
        unpriced_calls=unpriced,
        reruns=reruns,
        state_dir=journal.root,
        ledger=ledger.location,
    )


__all__ = ["run_fleet"]
