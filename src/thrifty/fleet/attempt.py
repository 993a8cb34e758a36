"""One attempt of one job: the fleet's options with the job's on top, the fleet's budget as a
cap on its tag, and the session run to a ``JobResult`` that never raises (a job's bug must not end
the fleet). ``run_job_sync`` is the same in a loop of its own, for remote workers (Ray)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thrifty.fleet.jobs import Job
from thrifty.fleet.results import BUDGET_EXCEEDED, FAILED, RUN_CAP_WORDS, SUCCEEDED, JobResult, JobTask

if TYPE_CHECKING:
    from thrifty.agent.session import Session
    from thrifty.batch.pool import BatchPool
    from thrifty.sdk.options import Options


def job_options(base: Options, job: Job, fleet_id: str, cwd: Path | None, session_id: str | None) -> Options:
    """The fleet's options with the job's on top, tagged with the fleet and the job."""
    changes: dict[str, Any] = {
        "tags": {**base.tags, "fleet": fleet_id, "job": job.id},
        "session_id": session_id,
    }
    if cwd is not None:
        changes["cwd"] = cwd
    if job.model is not None:
        changes["model"] = job.model
    if job.allowed_tools is not None:
        changes["allowed_tools"] = list(job.allowed_tools)
    if job.max_turns is not None:
        changes["max_turns"] = job.max_turns
    if job.max_budget_usd is not None:
        changes["max_budget_usd"] = job.max_budget_usd
    if job.system_prompt is not None:
        changes["system_prompt"] = job.system_prompt
    if job.permission_mode is not None:
        changes["permission_mode"] = job.permission_mode
    return dataclasses.replace(base, **changes)


def cap_fleet(session: Session, fleet_id: str, cap: Decimal) -> None:
    """Add the fleet's budget to the session's caps, as a cap on ``tag:fleet=<id>``: the check
    before each call then reserves its estimate against the fleet's spend in the ledger.

    It is a ``total`` cap, counted from the ledger's beginning: a job in flight across a month's
    turn, or a rerun weeks later, is checked against everything the fleet ever spent, in the same
    locked step as every other cap (a configured cap on the scope stays; the lower total wins)."""
    import dataclasses as dc

    from thrifty.billing.config import Budget

    guard = session.guard
    scope = f"tag:fleet={fleet_id}"
    known = guard.scope_caps.get(scope) or Budget()
    total = cap if known.total is None else min(cap, known.total)
    guard.scope_caps = {**guard.scope_caps, scope: dc.replace(known, total=total)}


async def run_job(task: JobTask, pool: BatchPool | None = None) -> JobResult:
    """Run one attempt of a job to its end; every failure is a ``failed`` result, never raised.
    With ``pool``, its calls wait in the fleet's shared Message Batches (``thrifty.batch.caller``)."""
    from thrifty.core.events import Result
    from thrifty.fleet.workdir import CheckoutError, checkout
    from thrifty.sdk.runner import open_session

    job = task.job
    out = JobResult(job.raw_id, FAILED, session_id=task.session_id, attempt=task.attempt)
    try:
        cwd = Path(job.cwd) if job.cwd is not None and job.repo is None else None
        if job.repo is not None:
            assert task.work_dir is not None
            out.commit = await checkout(job.repo, job.ref, task.work_dir)
            cwd = task.work_dir / job.cwd if job.cwd else task.work_dir
            if not cwd.is_dir():
                raise CheckoutError(f"cwd {job.cwd!r} is not a folder of {job.repo} at {out.commit[:12]}")
        options = job_options(task.options, job, task.fleet_id, cwd, task.session_id)
        if pool is None:
            session = open_session(options)
        else:
            from thrifty.batch.caller import open_batch_session

            session = open_batch_session(options, pool)
    except Exception as exc:  # SetupError, CheckoutError, OSError; a job's bug must not end the fleet
        out.error = _one_line(exc)
        return out
    try:
        if task.fleet_cap is not None:
            cap_fleet(session, task.fleet_id, task.fleet_cap)
        result: Result | None = None
        async for event in session.turn(job.prompt):
            if isinstance(event, Result):
                result = event
    except Exception as exc:  # a job's bug must not end the fleet
        out.error = _one_line(exc)
        return out
    finally:
        await session.close()
    if result is None:
        out.error = "the session ended without a result"
        return out
    out.result = result.result
    out.cost_usd = result.total_cost_usd
    out.num_turns = result.num_turns
    out.session_id = result.session_id
    if result.subtype == "error_max_budget_usd":
        out.status = BUDGET_EXCEEDED
        out.error = _first_error(result)
        out.budget = "job" if (out.error or "").startswith(RUN_CAP_WORDS) else "shared"
    elif result.is_error:
        out.error = _first_error(result) or result.subtype
    else:
        out.status = SUCCEEDED
    return out


def run_job_sync(task: JobTask) -> JobResult:
    """``run_job`` in an event loop of its own: what a remote worker (Ray) calls."""
    import asyncio

    return asyncio.run(run_job(task))


def _first_error(result: Any) -> str | None:
    errors = [e for e in result.errors if isinstance(e, str) and e]
    text = errors[0] if errors else result.result
    return text.splitlines()[0] if isinstance(text, str) and text else None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
