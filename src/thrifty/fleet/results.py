"""A fleet's plain data: one job's result (a line of the results JSONL), one attempt's task (what
a worker, local or remote, is handed), the fleet's summary, and the progress callbacks."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thrifty.fleet.jobs import Job

if TYPE_CHECKING:
    from thrifty.sdk.options import Options


SUCCEEDED = "succeeded"
FAILED = "failed"
BUDGET_EXCEEDED = "budget_exceeded"
#: The run cap's own words (``BudgetGuard.check``): a stop by the job's budget, not a shared one.
RUN_CAP_WORDS = "Reached maximum budget"


class FleetError(RuntimeError):
    """The fleet cannot run (another coordinator holds it, no ledger): one line."""


@dataclass
class JobResult:
    """One job's outcome: a line of the results JSONL."""

    id: str | int
    status: str
    result: str | None = None
    #: This attempt's cost (the session's ``total_cost_usd``); the summary's per-job cost is the
    #: ledger's, every attempt included.
    cost_usd: float = 0.0
    num_turns: int = 0
    session_id: str | None = None
    error: str | None = None
    attempt: int = 0
    #: For ``budget_exceeded``: ``"job"`` (its own max_budget_usd) or ``"shared"`` (the fleet's
    #: budget or another shared cap; such a job runs again on a rerun).
    budget: str | None = None
    #: The commit checked out, for a job with a repo.
    commit: str | None = None
    #: ``failed`` because the attempt was cut short where it ran (a Ray worker died), not by the
    #: job itself: a rerun runs it again, like a job in flight when the coordinator died.
    lost: bool | None = None

    def to_json(self) -> dict[str, Any]:
        line: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "result": self.result,
            "cost_usd": self.cost_usd,
            "num_turns": self.num_turns,
            "session_id": self.session_id,
            "attempt": self.attempt,
        }
        for key in ("error", "budget", "commit", "lost"):
            if getattr(self, key) is not None:
                line[key] = getattr(self, key)
        return line

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobResult:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class JobTask:
    """What a worker needs to run one attempt of a job: plain data."""

    job: Job
    fleet_id: str
    session_id: str
    attempt: int
    #: The fleet's options (every job's base), its ledger already resolved.
    options: Options
    #: The checkout folder, for a job with a repo.
    work_dir: Path | None = None
    #: The fleet's budget in USD: the ``total`` (whole-life) cap on ``tag:fleet=<fleet id>``.
    fleet_cap: Decimal | None = None


@dataclass
class FleetSummary:
    fleet_id: str
    #: Every job's latest result, in the jobs' order (earlier runs' for skipped jobs).
    results: list[JobResult]
    #: Jobs finished by an earlier run of this fleet and not run again.
    skipped: int
    #: From the ledger: the rows tagged ``fleet=<fleet id>`` (every attempt, every run).
    total_cost_usd: Decimal
    #: From the ledger, per job: its sessions' rows (every attempt).
    job_cost_usd: dict[str, Decimal]
    ledger_rows: int
    #: Calls whose model had no known price (their cost is not in the totals).
    unpriced_calls: int
    #: Attempts that were run again after an earlier one was cut short or stopped.
    reruns: int
    state_dir: Path
    ledger: str

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def ok(self) -> bool:
        return all(r.status == SUCCEEDED for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "fleet_id": self.fleet_id,
            "jobs": len(self.results),
            "succeeded": self.count(SUCCEEDED),
            "failed": self.count(FAILED),
            "budget_exceeded": self.count(BUDGET_EXCEEDED),
            "skipped": self.skipped,
            "reruns": self.reruns,
            "total_cost_usd": str(self.total_cost_usd),
            "ledger_rows": self.ledger_rows,
            "unpriced_calls": self.unpriced_calls,
            "job_cost_usd": {k: str(v) for k, v in self.job_cost_usd.items()},
            "state_dir": str(self.state_dir),
            "ledger": self.ledger,
        }


class FleetEvents:
    """What the coordinator reports as it goes (the CLI's progress bar); every method a no-op."""

    def planned(self, fleet_id: str, to_run: int, skipped: Sequence[JobResult]) -> None:
        """Before the first job starts: how many will run, and the results kept from earlier runs."""

    def started(self, job: Job) -> None:
        """A job was handed to the executor."""

    def finished(self, result: JobResult) -> None:
        """A job ended (or will not start: the fleet's budget is spent)."""
