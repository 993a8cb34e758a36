"""A fleet of one-turn agent jobs on the embedded executor, against the simulator: time and CPU.

    .venv/bin/python bench/fleet_bench.py [--jobs 200] [--concurrency 8] [--cli]

The simulator runs in its own process (``thrifty sim serve``), so its CPU is not this process's.
Each job is a full in-process session (setup, one model call, metering into a SQLite ledger in a
temp dir, the journal's fsynced lines). ``--cli`` runs ``thrifty fleet run`` as a subprocess
instead of calling ``thrifty.fleet.run_fleet``.

Printed: wall time, jobs/s, CPU seconds per job (this process and its children, the simulator
excluded), and the check that matters: ledger rows tagged with the fleet id == jobs, and the
summary's total == the sum of those rows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import thrifty
from thrifty.fleet import run_fleet
from thrifty.testing import DEFAULT_API_KEY


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--cli", action="store_true", help="run `thrifty fleet run` as a subprocess")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sim, base_url = serve(work)
        env = {"ANTHROPIC_API_KEY": DEFAULT_API_KEY, "ANTHROPIC_BASE_URL": base_url}
        os.environ.update(THRIFTY_DATA_DIR=str(work / "data"), THRIFTY_CONFIG_DIR=str(work / "config"))
        ledger = work / "ledger.sqlite3"
        jobs = [{"id": f"j{i:04d}", "prompt": f"job {i}: say done"} for i in range(args.jobs)]
        (work / "jobs.jsonl").write_text("".join(json.dumps(j) + "\n" for j in jobs))
        try:
            cpu0, started = cpu_seconds(), time.perf_counter()
            if args.cli:
                cmd = [sys.executable, "-m", "thrifty", "fleet", "run", "jobs.jsonl", "--fleet-id", "bench"]
                cmd += [
                    "--concurrency",
                    str(args.concurrency),
                    "--ledger",
                    str(ledger),
                    "--out",
                    "results.jsonl",
                ]
                done = subprocess.run(
                    cmd, cwd=work, env={**os.environ, **env}, capture_output=True, text=True
                )
                assert done.returncode == 0, done.stderr[-2000:]
                total = Decimal(
                    next(x for x in done.stderr.splitlines() if x.startswith("cost $")).split()[1][1:-1]
                )
                ok = sum(
                    1 for line in (work / "results.jsonl").read_text().splitlines() if '"succeeded"' in line
                )
            else:
                options = thrifty.Options(cwd=work, env=env, ledger=str(ledger))
                summary = asyncio.run(
                    run_fleet(jobs, options=options, fleet_id="bench", concurrency=args.concurrency)
                )
                total, ok = summary.total_cost_usd, summary.count("succeeded")
            wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu0
        finally:
            sim.terminate()
            sim.wait()
        rows, summed = ledger_rows(ledger, "bench")
    how = "thrifty fleet run (subprocess)" if args.cli else "run_fleet (in-process)"
    print(f"{how}: {args.jobs} jobs, concurrency {args.concurrency}, python {sys.version.split()[0]}")
    print(
        f"  succeeded {ok}/{args.jobs}; ledger rows tagged fleet=bench: {rows}; "
        f"total ${total} (rows sum ${summed})"
    )
    print(f"  wall {wall:.2f} s, {args.jobs / wall:.1f} jobs/s, CPU {1000 * cpu / args.jobs:.1f} ms per job")
    assert ok == rows == args.jobs and total == summed


if __name__ == "__main__":
    main()
