"""Ledger appends per second from 8 processes: SQLite (ours), PostgreSQL (ours), naive SQLite (peer).

    .venv/bin/python bench/ledger_bench.py [--rows 400] [--processes 8] [--no-postgres]

Every process appends ``--rows`` rows one ``append`` at a time (one durable transaction each, as
the agent records calls). The figures:

- ``thrifty-sqlite``: our default ledger (WAL, synchronous=FULL, 30 s busy timeout);
- ``thrifty-postgres``: our team ledger on a throwaway server started here (``tests/pg.py``,
  fsync on, synchronous_commit on), over loopback TCP;
- ``thrifty-sqlite-async`` / ``thrifty-postgres-async``: the same through the path a session
  takes: the process's shared handle (``shared_ledger``), each ``append_async`` awaited. With
  one handle per process (one session), a SQLite write runs on the loop when it can take the
  lock at once and goes to the ledger's writer thread when another process holds it; a
  PostgreSQL write always runs on the writer thread (still one transaction per append);
- ``naive-sqlite``: the peer in the same run, the same table and INSERTs through a plain
  ``sqlite3.connect`` (rollback journal, default 5 s timeout); its "database is locked" failures
  are counted, not retried.

The clock runs from the moment all processes are told to go (each has already opened its
ledger) until the last one finishes.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests import pg  # noqa: E402 - the repository root must be on the path first
from tests.billing.factory import at, make_row  # noqa: E402

from thrifty.billing.ledger import open_ledger, shared_ledger  # noqa: E402
from thrifty.billing.ledger.migrations import MIGRATIONS  # noqa: E402
from thrifty.billing.ledger.sql import to_record, upsert_sql  # noqa: E402
from thrifty.billing.ledger.sqlite import DIALECT  # noqa: E402


def worker(kind: str, url: str, k: int, rows: int) -> None:
    """One writer process: open, say ready, wait for go, append, report (ok, errors)."""
    ok = errors = 0
    records = [make_row(f"w{k}-{i:06d}", session_id=f"w{k}", recorded_at=at(i / 1000)) for i in range(rows)]
    if kind == "naive-sqlite":
        conn = sqlite3.connect(url)
        sql = upsert_sql(DIALECT)  # the statement append runs
        print("ready", flush=True)
        sys.stdin.readline()
        for row in records:
            try:
                conn.execute(sql, to_record(row, DIALECT))
                conn.commit()
                ok += 1
            except sqlite3.OperationalError:
                conn.rollback()
                errors += 1
        conn.close()
    elif kind.endswith("-async"):
        # What a session does: the process's shared handle, each append awaited off the loop.
        shared = shared_ledger(url)
        print("ready", flush=True)
        sys.stdin.readline()

        async def append_all() -> int:
            return sum([await shared.append_async(row) for row in records])

        ok = asyncio.run(append_all())
        shared.close()
    else:
        ledger = open_ledger(url)
        print("ready", flush=True)
        sys.stdin.readline()
        for row in records:
            ok += ledger.append(row)
        ledger.close()
    print(f"{ok} {errors}", flush=True)


def measure(kind: str, url: str, processes: int, rows: int) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, url]
    procs = [
        subprocess.Popen([*cmd, str(k), str(rows)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for k in range(processes)
    ]
    try:
        for p in procs:
            if p.stdout is None or p.stdout.readline().strip() != "ready":
                raise SystemExit(f"{kind}: a worker failed to start")
        t0 = time.perf_counter()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        outs = [p.communicate(timeout=600)[0] for p in procs]
        seconds = time.perf_counter() - t0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    if any(p.returncode for p in procs):
        raise SystemExit(f"{kind}: a worker failed")
    ok = sum(int(out.split()[0]) for out in outs)
    errors = sum(int(out.split()[1]) for out in outs)
    return {
        "ledger": kind,
        "rows": ok,
        "errors": errors,
        "seconds": seconds,
        "appends_s": ok / seconds,
        "per_process_s": ok / seconds / processes,
    }


def naive_ledger(path: Path) -> str:
    """The peer's file: our table and indexes, SQLite's defaults for everything else."""
    with sqlite3.connect(path) as conn:
        for migration in MIGRATIONS:
            for statement in migration.sqlite:
                conn.execute(statement)
    return str(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=400, help="rows appended by each process")
    ap.add_argument("--processes", type=int, default=8)
    ap.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL figure")
    ap.add_argument("--worker", nargs=4, metavar=("KIND", "URL", "K", "ROWS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        kind, url, k, rows = args.worker
        worker(kind, url, int(k), int(rows))
        return
    work = Path(tempfile.mkdtemp(prefix="thrifty-ledger-bench-"))
    results = []
    try:
        ours = work / "thrifty.sqlite3"
        open_ledger(str(ours)).close()  # created and migrated before the clock starts
        results.append(measure("thrifty-sqlite", str(ours), args.processes, args.rows))
        ours_async = work / "thrifty-async.sqlite3"
        open_ledger(str(ours_async)).close()
        results.append(measure("thrifty-sqlite-async", str(ours_async), args.processes, args.rows))
        naive = naive_ledger(work / "naive.sqlite3")
        results.append(measure("naive-sqlite", naive, args.processes, args.rows))
        if not args.no_postgres:
            try:
                server = pg.start(durable=True)
            except pg.PgUnavailable as exc:
                print(f"postgres figure skipped: {exc}", file=sys.stderr)
            else:
                try:
                    url = server.create_database("bench")
                    open_ledger(url).close()
                    results.append(measure("thrifty-postgres", url, args.processes, args.rows))
                    url = server.create_database("bench_async")
                    open_ledger(url).close()
                    results.append(measure("thrifty-postgres-async", url, args.processes, args.rows))
                finally:
                    server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{args.processes} processes x {args.rows} appends each, one transaction per append")
    print(f"{'ledger':<24}{'rows':>8}{'errors':>8}{'seconds':>10}{'appends/s':>12}{'per process/s':>15}")
    for r in results:
        print(
            f"{r['ledger']:<24}{r['rows']:>8}{r['errors']:>8}{r['seconds']:>10.2f}"
            f"{r['appends_s']:>12.0f}{r['per_process_s']:>15.0f}"
        )
    by = {r["ledger"]: r for r in results}
    if by.get("naive-sqlite", {}).get("appends_s"):
        for name in ("thrifty-sqlite", "thrifty-sqlite-async", "thrifty-postgres", "thrifty-postgres-async"):
            if name in by:
                ratio = by[name]["appends_s"] / by["naive-sqlite"]["appends_s"]
                print(f"ratio {name}/naive-sqlite appends/s: {ratio:.2f}")


if __name__ == "__main__":
    main()
