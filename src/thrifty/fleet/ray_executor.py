"""Fleets on a Ray cluster (``thrifty fleet run --ray-address``): the optional ``thrifty[ray]`` extra.

Ray is the engine DESIGN.md names for fleets that outgrow one machine; thrifty adds no scheduler
of its own. The coordinator stays where the fleet was started (journal, fleet budget, results)
and this executor only moves the sessions: each of ``concurrency`` slots sends
``run_job_sync(task)`` to a Ray worker as a task and awaits its ``ObjectRef`` on the
coordinator's loop, so ``done`` runs there, in order, as results come back. A slot pulls its
next task only when its job ends, so the fleet budget's check before each pull sees every
result that returned, as with the embedded executor.

The workers write the ledger themselves (each session's rows are tagged ``fleet`` and ``job``),
so the totals come from the ledger whoever ran the jobs. For that the workers need the same
ledger and credentials as the coordinator, and its ``ANTHROPIC_*``/``THRIFTY_*``/``CLAUDE_*``
environment goes with every task, in two parts. Plain settings (``ANTHROPIC_BASE_URL``,
``THRIFTY_BILLING_MODE``, ...) are the tasks' ``runtime_env`` ``env_vars``: the worker process
runs with them. Secrets (a name with KEY, TOKEN, SECRET, PASSWORD, CREDENTIAL or AUTH in it, a
URL with a password, and ``THRIFTY_LEDGER``, set to the ledger the coordinator resolved) go in
the task itself, under the options' ``env``, which a session reads over ``os.environ``: Ray's
runtime-env agent writes every ``runtime_env`` it creates into its log file in plain text, and
a key must not land in a log. Nothing here prints either part.

A worker that dies mid-job (killed, out of memory, its node lost) is a ``failed`` result with a
one-line reason and ``lost: true``: the journal says so, and a rerun runs it again. Ray's own
retries are off (``max_retries=0``): a retried task would reuse the attempt's session id behind
the journal's back, while a rerun journals a new attempt. Whatever the dead attempt spent is
already in the ledger, so the fleet's total stays exact.

``ray`` is imported only when this executor is built: a fleet without ``--ray-address`` never
loads it.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from thrifty.fleet.attempt import run_job_sync
from thrifty.fleet.executor import DEFAULT_CONCURRENCY, check_concurrency, run_pool
from thrifty.fleet.results import FAILED, FleetError, JobResult

if TYPE_CHECKING:
    from types import ModuleType

    from thrifty.fleet.results import JobTask
    from thrifty.sdk.options import Options

NEEDS_RAY = "fleet --ray-address needs: pip install 'thrifty[ray]'"
#: A job is mostly waiting on the model: a small CPU share lets a 2-core node run 8 at once.
TASK_CPUS = 0.25
#: The environment a worker needs to reach the API and the ledger as the coordinator does.
FORWARDED_PREFIXES = ("ANTHROPIC_", "THRIFTY_", "CLAUDE_")
#: Words in a variable's name that make its value a secret: never in a ``runtime_env``.
SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL", "AUTH")
#: ``--ray-address local``: start a Ray instance of our own here (``ray.init(address="local")``).
LOCAL = "local"


def import_ray() -> ModuleType:
    """``ray``, or the one line that says how to get it."""
    try:
        import ray
    except ImportError:
        raise FleetError(NEEDS_RAY) from None
    return ray


def worker_env(
    ledger: str | None, environ: Mapping[str, str] | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """What the coordinator's environment gives every worker: ``(plain, secret)``, the
    ``runtime_env`` ``env_vars`` and what goes in the task's options instead (see above)."""
    source = os.environ if environ is None else environ
    plain: dict[str, str] = {}
    secret: dict[str, str] = {}
    for name, value in source.items():
        if name.startswith(FORWARDED_PREFIXES):
            hidden = name == "THRIFTY_LEDGER" or any(w in name for w in SECRET_WORDS) or _has_password(value)
            (secret if hidden else plain)[name] = value
    if ledger:
        secret["THRIFTY_LEDGER"] = ledger
    return plain, secret


def _has_password(value: str) -> bool:
    """``scheme://user:password@host...``: a URL that carries its own credentials."""
    _, sep, rest = value.partition("://")
    return bool(sep) and ":" in rest.partition("/")[0].rpartition("@")[0]


class RayExecutor:
    """Each job a Ray task running ``run_job_sync``, ``concurrency`` at a time.

    ``address``: ``"local"`` starts a Ray instance here for this fleet (and stops it after);
    ``"auto"`` joins the cluster ``ray start`` runs on this machine; anything else is passed to
    ``ray.init(address=...)`` (``host:6379``, ``ray://host:10001``). If this process is already
    connected (``ray.init`` called by the program), that connection is used and left open.
    ``num_cpus``: what each task reserves; ``temp_dir``: a local instance's session folder
    (Ray's default is ``/tmp/ray``).
    """

    def __init__(
        self,
        address: str = "auto",
        concurrency: int = DEFAULT_CONCURRENCY,
        *,
        num_cpus: float = TASK_CPUS,
        temp_dir: str | None = None,
    ) -> None:
        self.concurrency = check_concurrency(concurrency)
        if not address:
            raise ValueError("a Ray address is 'local', 'auto' or host:port")
        self.address = address
        self.num_cpus = num_cpus
        self.temp_dir = temp_dir
        self.ray = import_ray()

    def _connect(self) -> bool:
        """Join or start Ray; True when this executor started the connection (it then closes it)."""
        ray = self.ray
        if ray.is_initialized():
            return False
        quiet: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
        try:
            if self.address == LOCAL:
                ray.init(address=LOCAL, include_dashboard=False, _temp_dir=self.temp_dir, **quiet)
            else:
                ray.init(address=self.address, **quiet)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise FleetError(f"cannot reach Ray at {self.address}: {_one_line(exc)}") from None
        return True

    async def run(
        self,
        next_task: Callable[[], JobTask | None],
        work: Callable[[JobTask], Awaitable[JobResult]],
        done: Callable[[JobResult], None],
    ) -> None:
        """As ``Executor.run``; ``work`` (the in-process runner) is not used: Ray runs
        ``run_job_sync`` in its workers instead."""
        opened = self._connect()
        remote = self.ray.remote(run_job_sync)
        plain: dict[str, str] = {}
        sent: dict[int, Options] = {}  # the fleet's options (one object), with the secrets added

        async def on_ray(task: JobTask) -> JobResult:
            nonlocal plain
            options = sent.get(id(task.options))
            if options is None:
                ledger = task.options.ledger if isinstance(task.options.ledger, str) else None
                plain, secret = worker_env(ledger)
                # The options' own env wins, as it does over os.environ in a session.
                options = dataclasses.replace(task.options, env={**secret, **task.options.env})
                sent[id(task.options)] = options
            return await self._one(remote, dataclasses.replace(task, options=options), plain)

        try:
            await run_pool(self.concurrency, next_task, on_ray, done)
        finally:
            if opened:
                self.ray.shutdown()

    async def _one(self, remote: Any, task: JobTask, env: dict[str, str]) -> JobResult:
        ray = self.ray
        placed = {"num_cpus": self.num_cpus, "max_retries": 0, "runtime_env": {"env_vars": env}}
        try:
            ref = remote.options(**placed).remote(task)
        except Exception as exc:  # the task cannot be sent (options that do not pickle): its end only
            return _failed(task, f"cannot send the job to Ray: {_one_line(exc)}")
        try:
            result = await ref
        except ray.exceptions.RayTaskError as exc:  # run_job_sync raised: a bug, not the job's doing
            cause = type(exc.cause).__name__ if exc.cause is not None else "an error"
            return _failed(task, f"the Ray task raised {cause}; a rerun runs the job again", lost=True)
        except ray.exceptions.RayError as exc:  # the worker, its node or the task's env was lost
            # Only the type: the text runs to lines of cluster detail (ids, addresses, log paths).
            reason = f"the Ray worker running the job was lost ({type(exc).__name__})"
            return _failed(task, f"{reason}; a rerun runs the job again", lost=True)
        if not isinstance(result, JobResult):
            return _failed(task, f"the Ray task returned {type(result).__name__}, not a JobResult")
        return result


def _failed(task: JobTask, error: str, *, lost: bool = False) -> JobResult:
    return JobResult(
        task.job.raw_id,
        FAILED,
        session_id=task.session_id,
        attempt=task.attempt,
        error=error,
        lost=True if lost else None,
    )


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


__all__ = ["LOCAL", "NEEDS_RAY", "RayExecutor", "import_ray", "worker_env"]
