"""``thrifty fleet run jobs.jsonl``: many agent jobs, each an in-process session, budgeted and resumable.

The work is ``thrifty.fleet.run_fleet`` (the SDK's function); this maps argv onto it, writes the
results JSONL (``--out``, default stdout) as jobs finish, draws a progress bar on a terminal and
prints the summary on stderr. Exit codes are in EPILOG and docs/fleet.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from thrifty.cli.errors import EXIT_OK, UsageError
from thrifty.fleet import FleetEvents, FleetSummary, Job, JobResult

#: Some job failed (its result says why).
EXIT_JOBS_FAILED = 2
#: No job failed, but a budget (the fleet's or a job's) stopped or kept back at least one.
EXIT_BUDGET = 3

DESCRIPTION = """\
Run many agent jobs, each an in-process session with its own working directory (or a git
repository at a ref), at most --concurrency at a time. Every call is a ledger row tagged
fleet=<fleet id> and job=<id>; the fleet's cost is the sum of those rows. If the run is killed,
run the same command again: jobs that finished are skipped, the others run again.

  thrifty fleet run jobs.jsonl --concurrency 8 --max-cost-usd 20 --out results.jsonl

Each line: {"id": ..., "prompt": "..."} with optionally "cwd", or "repo" and "ref" (cloned into
the fleet's state directory; "cwd" is then a folder inside it), "model", "allowed_tools",
"max_turns", "max_budget_usd", "system_prompt" and "permission_mode"."""

EPILOG = f"""\
Exit 0 when every job succeeded; 1 for a bad argument or jobs line, or a fleet that cannot run;
{EXIT_JOBS_FAILED} when some job failed; {EXIT_BUDGET} when none failed but a budget stopped or kept back
some job (rerun with a larger --max-cost-usd to go on)."""


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "fleet",
        help="run many agent jobs from a JSONL, budgeted and resumable",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    run = verbs.add_parser(
        "run",
        help="run (or resume) the jobs of a JSONL file",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("file", type=Path, help="JSONL: one job per line")
    run.add_argument("--concurrency", type=int, default=8, metavar="N", help="jobs at once (8)")
    run.add_argument("--fleet-id", metavar="ID", help="name the fleet (default: a hash of the jobs file)")
    run.add_argument(
        "--max-cost-usd", metavar="USD", help="the fleet's budget: no job starts or calls past it"
    )
    run.add_argument("--max-budget-usd", metavar="USD", help="each job's budget, for jobs that set none")
    run.add_argument("--model", help="model for jobs that name none")
    run.add_argument("--permission-mode", metavar="MODE", help="permission mode for jobs that set none")
    run.add_argument(
        "--allowed-tools", dest="allowed", action="extend", nargs="+", default=[], metavar="TOOL",
        help="tools allowed without asking, for jobs that list none",
    )  # fmt: skip
    run.add_argument("--max-turns", type=int, metavar="N", help="turn limit for jobs that set none")
    run.add_argument("--ledger", metavar="URL", help="ledger path, sqlite:/// or postgresql:// URL")
    run.add_argument("--billing-mode", choices=("api", "plan"), help="pin the billing mode")
    run.add_argument(
        "--tag", dest="tags", action="append", default=[], metavar="KEY=VALUE", help="label rows"
    )
    run.add_argument("--out", "-o", type=Path, metavar="FILE", help="results JSONL here (default: stdout)")
    run.add_argument(
        "--via",
        choices=("live", "batch"),
        default="live",
        help="batch: each turn of the running jobs goes out as one Message Batch (half price, slower)",
    )
    run.add_argument("--retry-failed", action="store_true", help="run failed jobs of an earlier run again")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument(
        "--ray-address", metavar="ADDR",
        help="run the jobs as Ray tasks: 'local' (start Ray here), 'auto' (this machine's cluster) "
        "or host:port; needs thrifty[ray]",
    )  # fmt: skip


def _options(args: argparse.Namespace) -> Any:
    from thrifty.sdk.options import Options

    tags: dict[str, str] = {}
    for tag in args.tags:
        key, sep, value = tag.partition("=")
        if not sep or not key:
            raise UsageError(f"--tag must be KEY=VALUE, not {tag!r}")
        if key in ("fleet", "job"):
            raise UsageError(f"--tag {key}=... is set by the fleet itself")
        tags[key] = value
    if args.max_turns is not None and args.max_turns < 1:
        raise UsageError("--max-turns must be a positive integer")
    values: dict[str, Any] = {
        "cwd": Path.cwd(),
        "model": args.model,
        "permission_mode": args.permission_mode,
        "allowed_tools": [t for part in args.allowed for t in part.replace(",", " ").split()],
        "max_turns": args.max_turns,
        "max_budget_usd": args.max_budget_usd,
        "ledger": args.ledger,
        "billing_mode": args.billing_mode,
        "tags": tags,
    }
    try:
        return Options(**values)
    except ValueError as exc:  # SetupError
        raise UsageError(str(exc).replace("max_budget_usd", "--max-budget-usd")) from None


class _Output(FleetEvents):
    """The results JSONL, a line per job as it ends, and the progress bar on a terminal."""

    def __init__(self, out: IO[str], progress: bool) -> None:
        self.out = out
        self.bar: Any = None
        self.task: Any = None
        self.spent = 0.0
        self.show = progress

    def planned(self, fleet_id: str, to_run: int, skipped: Sequence[JobResult]) -> None:
        for result in skipped:
            self._write(result)
        if skipped:
            _say(f"fleet {fleet_id}: {len(skipped)} jobs finished by an earlier run are skipped")
        if self.show and to_run:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[cost]}"),
                TimeElapsedColumn(),
                console=Console(file=sys.stderr),
                transient=True,
            )
            self.task = self.bar.add_task(f"fleet {fleet_id}", total=to_run, cost="$0.00")
            self.bar.start()

    def started(self, job: Job) -> None:
        pass

    def finished(self, result: JobResult) -> None:
        self._write(result)
        self.spent += result.cost_usd
        if self.bar is not None:
            self.bar.update(self.task, advance=1, cost=f"${self.spent:.2f}")

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None

    def _write(self, result: JobResult) -> None:
        self.out.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
        self.out.flush()


def _say(text: str) -> None:
    print(text, file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from thrifty import fleet

    if args.concurrency < 1:
        raise UsageError("--concurrency must be a positive integer")
    options = _options(args)
    executor = None
    if args.ray_address is not None:  # ray is imported only here
        from thrifty.fleet.ray_executor import RayExecutor

        try:
            executor = RayExecutor(args.ray_address, args.concurrency)
        except (fleet.FleetError, ValueError) as exc:
            raise UsageError(str(exc)) from None
    out: IO[str] = sys.stdout
    if args.out is not None:
        try:
            out = args.out.open("w", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--out {args.out}: {exc.strerror or type(exc).__name__}") from None
    events = _Output(out, progress=not args.no_progress and sys.stderr.isatty())
    try:
        summary = asyncio.run(
            fleet.run_fleet(
                args.file,
                options=options,
                fleet_id=args.fleet_id,
                concurrency=args.concurrency,
                max_cost_usd=args.max_cost_usd,
                retry_failed=args.retry_failed,
                executor=executor,
                events=events,
                via=args.via,
            )
        )
    except (fleet.FleetInputError, fleet.FleetError) as exc:
        raise UsageError(str(exc)) from None
    finally:
        events.stop()
        if out is not sys.stdout:
            out.close()
    _print_summary(summary)
    if summary.count(fleet.FAILED):
        return EXIT_JOBS_FAILED
    if summary.count(fleet.BUDGET_EXCEEDED):
        return EXIT_BUDGET
    return EXIT_OK


def _print_summary(summary: FleetSummary) -> None:
    from thrifty import fleet

    data = summary.to_json()
    path = summary.state_dir / "summary.json"
    with contextlib.suppress(OSError):
        path.write_text(json.dumps(data, indent=2) + "\n", "utf-8")
    counts = ", ".join(
        f"{summary.count(s)} {s}"
        for s in (fleet.SUCCEEDED, fleet.FAILED, fleet.BUDGET_EXCEEDED)
        if summary.count(s)
    )
    extra = [f"{summary.skipped} skipped (finished before)"] if summary.skipped else []
    if summary.reruns:
        extra.append(
            f"{summary.reruns} attempts ran a job again after an earlier one was cut short or stopped"
        )
    _say(
        f"fleet {summary.fleet_id}: {len(summary.results)} jobs: {counts}"
        + (f"; {'; '.join(extra)}" if extra else "")
    )
    unpriced = f" (+ {summary.unpriced_calls} calls with no known price)" if summary.unpriced_calls else ""
    _say(
        f"cost ${summary.total_cost_usd:f}{unpriced}: the {summary.ledger_rows} ledger rows tagged "
        f"fleet={summary.fleet_id} in {summary.ledger}"
    )
    costs = sorted(summary.job_cost_usd.items(), key=lambda kv: kv[1], reverse=True)
    shown = costs if len(costs) <= 20 else costs[:10]
    width = max(len(job) for job, _ in shown)
    for job, cost in shown:
        _say(f"  {job:<{width}}  ${cost:f}")
    if len(shown) < len(costs):
        _say(f"  ... {len(costs) - len(shown)} more; every job's cost is in {path}")
    for result in summary.results:
        if result.status != fleet.SUCCEEDED:
            _say(f"{result.id}: {result.status}: {result.error or ''}".rstrip(": "))
