"""A fleet of one-turn agent jobs against the simulator, on the embedded executor and on Ray.

    .venv/bin/python bench/fleet_bench.py [--jobs 200] [--concurrency 8] [--cli] [--no-ray]

The simulator runs in its own process (``thrifty sim serve``), so its CPU is not this process's.
Each job is a full session (setup, one model call, metering into a SQLite ledger in a temp dir,
the journal's fsynced lines). One run times the same fleet twice, each under its own fleet id in
one ledger: on the embedded executor (in-process sessions), then on a local Ray instance started
here (``RayExecutor``; Ray's start is timed apart, the fleet's wall leaves it out). ``--cli`` runs
``thrifty fleet run`` as a subprocess instead of calling ``thrifty.fleet.run_fleet`` (for Ray,
``--ray-address local``: its start is then in the wall). ``--no-ray``: the embedded run only.

Printed per run: wall time, jobs/s, CPU per job (this process and its waited-for children, the
simulator excluded; on Ray the sessions run in Ray's workers, whose CPU this cannot see), and
the check that matters: ledger rows tagged with the fleet id == jobs, and the summary's total ==
the sum of those rows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import thrifty
from thrifty.fleet import EmbeddedExecutor, Executor, run_fleet
from thrifty.testing import DEFAULT_API_KEY

Outcome = tuple[Decimal, int]  # the summary's total, jobs succeeded


def serve(work: Path) -> tuple[subprocess.Popen[str], str]:
    script = work / "script.json"
    script.write_text(json.dumps([{"text": "done"}]))
    cmd = [sys.executable, "-m", "thrifty", "sim", "serve", "--port", "0", "--script", str(script)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=work)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip().split()[-1]


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def ledger_rows(path: Path, fleet_id: str) -> tuple[int, Decimal]:
    db = sqlite3.connect(path)
    try:
        found = db.execute("SELECT cost_usd, tags FROM thrifty_calls").fetchall()
    finally:
        db.close()
    mine = [Decimal(str(cost)) for cost, tags in found if json.loads(tags or "{}").get("fleet") == fleet_id]
    return len(mine), sum(mine, Decimal(0))


def run_cli(work: Path, env: dict[str, str], fleet_id: str, concurrency: int, ray: bool) -> Outcome:
    cmd = [sys.executable, "-m", "thrifty", "fleet", "run", "jobs.jsonl", "--fleet-id", fleet_id]
    cmd += ["--concurrency", str(concurrency), "--ledger", str(work / "ledger.sqlite3")]
    cmd += ["--out", f"{fleet_id}.jsonl", "--no-progress"]
    extra = {}
    if ray:
        cmd += ["--ray-address", "local"]
        extra["RAY_TMPDIR"] = str(work)  # Ray's session files go with the temp dir
    done = subprocess.run(cmd, cwd=work, env={**os.environ, **env, **extra}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    total = Decimal(next(x for x in done.stderr.splitlines() if x.startswith("cost $")).split()[1][1:-1])
    lines = (work / f"{fleet_id}.jsonl").read_text().splitlines()
    return total, sum(1 for line in lines if '"succeeded"' in line)


def run_sdk(
    work: Path, env: dict[str, str], fleet_id: str, jobs: list[dict[str, str]], executor: Executor
) -> Outcome:
    options = thrifty.Options(cwd=work, env=env, ledger=str(work / "ledger.sqlite3"))
    summary = asyncio.run(run_fleet(jobs, options=options, fleet_id=fleet_id, executor=executor))
    return summary.total_cost_usd, summary.count("succeeded")


def report(
    how: str,
    args: argparse.Namespace,
    work: Path,
    fleet_id: str,
    outcome: Outcome,
    wall: float,
    cpu: float | None,
) -> None:
    total, ok = outcome
    rows, summed = ledger_rows(work / "ledger.sqlite3", fleet_id)
    per_job = f"CPU {1000 * cpu / args.jobs:.1f} ms per job" if cpu is not None else "CPU in Ray's workers"
    print(f"{how}: {args.jobs} jobs, concurrency {args.concurrency}")
    print(
        f"  succeeded {ok}/{args.jobs}; ledger rows tagged fleet={fleet_id}: {rows}; "
        f"total ${total} (rows sum ${summed})"
    )
    print(f"  wall {wall:.2f} s, {args.jobs / wall:.1f} jobs/s, {per_job}")
    assert ok == rows == args.jobs and total == summed


def bench_embedded(
    args: argparse.Namespace, work: Path, env: dict[str, str], jobs: list[dict[str, str]]
) -> None:
    cpu0, started = cpu_seconds(), time.perf_counter()
    if args.cli:
        outcome = run_cli(work, env, "embedded", args.concurrency, ray=False)
    else:
        outcome = run_sdk(work, env, "embedded", jobs, EmbeddedExecutor(args.concurrency))
    wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu0
    how = "thrifty fleet run (subprocess)" if args.cli else "run_fleet (in-process)"
    report(f"{how}, embedded", args, work, "embedded", outcome, wall, cpu)


def bench_ray(args: argparse.Namespace, work: Path, env: dict[str, str], jobs: list[dict[str, str]]) -> None:
    if args.cli:
        started = time.perf_counter()
        outcome = run_cli(work, env, "on-ray", args.concurrency, ray=True)
        how = "thrifty fleet run --ray-address local (subprocess, Ray's start included)"
        report(how, args, work, "on-ray", outcome, time.perf_counter() - started, None)
        return
    import ray

    from thrifty.fleet.ray_executor import RayExecutor

    started = time.perf_counter()
    quiet: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
    ray.init(include_dashboard=False, _temp_dir=str(work / "ray"), **quiet)
    try:
        cpus = ray.cluster_resources().get("CPU", 0)  # type: ignore[no-untyped-call]
        print(f"local Ray instance ({cpus:g} CPUs) started in {time.perf_counter() - started:.2f} s")
        started = time.perf_counter()
        outcome = run_sdk(work, env, "on-ray", jobs, RayExecutor("auto", args.concurrency))
        wall = time.perf_counter() - started
    finally:
        ray.shutdown()
    report("run_fleet on Ray (RayExecutor, that instance)", args, work, "on-ray", outcome, wall, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--cli", action="store_true", help="run `thrifty fleet run` as a subprocess")
    parser.add_argument("--no-ray", action="store_true", help="the embedded executor only")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    # In /tmp and short: Ray's unix socket paths (at most ~107 bytes) live under it.
    with tempfile.TemporaryDirectory(prefix="fleetb-", dir="/tmp") as tmp:
        work = Path(tmp)
        sim, base_url = serve(work)
        env = {"ANTHROPIC_API_KEY": DEFAULT_API_KEY, "ANTHROPIC_BASE_URL": base_url}
        os.environ.update(THRIFTY_DATA_DIR=str(work / "data"), THRIFTY_CONFIG_DIR=str(work / "config"))
        jobs = [{"id": f"j{i:04d}", "prompt": f"job {i}: say done"} for i in range(args.jobs)]
        (work / "jobs.jsonl").write_text("".join(json.dumps(j) + "\n" for j in jobs))
        try:
            bench_embedded(args, work, env, jobs)
            if not args.no_ray:
                bench_ray(args, work, env, jobs)
        finally:
            sim.terminate()
            sim.wait()


if __name__ == "__main__":
    main()
