"""Fleets: many agent jobs from one JSONL, each an in-process session, budgeted and resumable.

``thrifty fleet run jobs.jsonl`` and ``await thrifty.fleet.run_fleet(jobs, ...)`` (docs/fleet.md).
Every job's calls are ledger rows tagged ``fleet=<fleet id>`` and ``job=<id>``; a journal under
``<data dir>/fleets/<fleet id>/`` lets a rerun skip the jobs an earlier run finished.
"""

from thrifty.fleet.executor import DEFAULT_CONCURRENCY, EmbeddedExecutor, Executor
from thrifty.fleet.jobs import FleetInputError, Job, read_jobs
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
from thrifty.fleet.run import run_fleet

__all__ = [
    "BUDGET_EXCEEDED",
    "DEFAULT_CONCURRENCY",
    "FAILED",
    "SUCCEEDED",
    "EmbeddedExecutor",
    "Executor",
    "FleetError",
    "FleetEvents",
    "FleetInputError",
    "FleetSummary",
    "Job",
    "JobResult",
    "JobTask",
    "read_jobs",
    "run_fleet",
]
