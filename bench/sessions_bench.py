"""Many concurrent in-process sessions with the ledger on, under ``ulimit -n 1024``.

    .venv/bin/python bench/sessions_bench.py [--sizes 200,1000] [--nofile 1024]
                                             [--postgres URL | --no-postgres] [--per-session-ledger]

Each session is ``thrifty.query`` with two model calls (a Read tool call, then text) against the
simulator, which runs in its own process (``thrifty sim serve``) so that neither its descriptors
nor its CPU count here. This process lowers its own soft descriptor limit to ``--nofile`` first.
For each ledger (SQLite in a temp dir; PostgreSQL at ``--postgres URL``, else a throwaway server
from ``tests/pg.py`` when its binaries are installed) and each size, on a fresh ledger:

- ``errors``: sessions that raised or ended in an error result (goal: 0);
- ``rows``: ledger rows afterwards (goal: sessions x 2);
- ``wall_s``, ``cpu_ms/session`` (this process, all threads: the loop and the ledger writer);
- ``cpu_ratio``: CPU per session at this size over that at the first size (goal: <= 1.2).

``--per-session-ledger`` measures the old way for comparison: every session opens (and holds)
its own ledger connection and writes on the event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests import pg  # noqa: E402 - the repository root must be on the path first
from tests.billing.sessions_worker import CALLS, lower_nofile, run_sessions, script  # noqa: E402

from thrifty.billing.ledger import RowQuery, open_ledger  # noqa: E402
from thrifty.testing import DEFAULT_API_KEY  # noqa: E402


@contextlib.contextmanager
def simulator(work: Path) -> Iterator[str]:
    """``thrifty sim serve`` in its own process (its own descriptor limit); yields its URL."""
    path = work / "script.json"
    path.write_text(json.dumps(script(work)))
    cmd = [sys.executable, "-m", "thrifty", "sim", "serve", "--port", "0", "--script", str(path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        url = line.split()[-1] if line else ""
        if not url.startswith("http"):
            raise SystemExit(f"the simulator did not start (printed {line!r})")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextlib.contextmanager
def postgres(args: argparse.Namespace) -> Iterator[Any]:
    """A factory of fresh PostgreSQL ledger URLs, or None (with a message) when there is none."""
    if args.no_postgres:
        yield None
        return
    if args.postgres:
        import psycopg

        url: str = args.postgres

        def fresh_db() -> str:
            # A fresh ledger per size: the bench clears its database (which it was given to own).
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("DROP TABLE IF EXISTS thrifty_calls, thrifty_migrations")
            return url

        yield fresh_db
        return
    try:
        server = pg.start(durable=True)
    except pg.PgUnavailable as exc:
        print(f"postgres figures skipped: {exc}", file=sys.stderr)
        yield None
        return
    try:
        names = iter(range(1_000_000))
        yield lambda: server.create_database(f"sessions_{next(names)}")
    finally:
        server.stop()


def count_rows(url: str) -> int:
    ledger = open_ledger(url)
    try:
        return len(ledger.query(RowQuery()))
    finally:
        ledger.close()


def measure(backend: str, url: str, sessions: int, base_url: str, work: Path) -> dict[str, Any]:
    result = asyncio.run(run_sessions(base_url, DEFAULT_API_KEY, url, sessions, work))
    return {
        "ledger": backend,
        **result,
        "rows": count_rows(url),
        "expected_rows": sessions * CALLS,
        "cpu_ms_per_session": round(result["cpu_s"] / sessions * 1000, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--sizes", default="200,1000", help="comma-separated session counts")
    ap.add_argument("--nofile", type=int, default=1024, help="soft RLIMIT_NOFILE of this process")
    ap.add_argument("--postgres", metavar="URL", help="a PostgreSQL database the bench may clear")
    ap.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL figures")
    ap.add_argument("--per-session-ledger", action="store_true", help="the old way: a connection per session")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.per_session_ledger:
        import thrifty.billing.context as context

        setattr(context, "shared_ledger", open_ledger)  # noqa: B010 - patching a module for the baseline
    work = Path(tempfile.mkdtemp(prefix="thrifty-sessions-bench-"))
    os.environ["THRIFTY_DATA_DIR"] = str(work / "data")  # never the user's ledger or config
    os.environ["THRIFTY_CONFIG_DIR"] = str(work / "config")
    os.environ["THRIFTY_KEYRING"] = "0"
    results: list[dict[str, Any]] = []
    try:
        with simulator(work) as base_url, postgres(args) as fresh_pg:
            lower_nofile(args.nofile)
            # Warm-up: imports and first-use costs out of the first measured size.
            asyncio.run(run_sessions(base_url, DEFAULT_API_KEY, str(work / "warm.sqlite3"), 5, work))
            ledgers: list[tuple[str, Any]] = [("sqlite", None)]
            if fresh_pg is not None:
                ledgers.append(("postgres", fresh_pg))
            for backend, fresh in ledgers:
                first: float | None = None
                for n in sizes:
                    url = str(work / f"ledger-{n}.sqlite3") if fresh is None else fresh()
                    r = measure(backend, url, n, base_url, work)
                    first = first or r["cpu_ms_per_session"]
                    r["cpu_ratio"] = round(r["cpu_ms_per_session"] / first, 2) if first else None
                    results.append(r)
                    print(json.dumps(r), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    mode = "connection per session (old)" if args.per_session_ledger else "one shared connection"
    print(f"\nulimit -n {args.nofile}, {CALLS} calls per session, ledger: {mode}")
    print(
        f"{'ledger':<10}{'sessions':>9}{'errors':>8}{'rows':>7}{'wall s':>9}"
        f"{'CPU ms/session':>16}{'ratio vs ' + str(sizes[0]):>14}"
    )
    for r in results:
        print(
            f"{r['ledger']:<10}{r['sessions']:>9}{r['errors']:>8}{r['rows']:>7}{r['wall_s']:>9.2f}"
            f"{r['cpu_ms_per_session']:>16.2f}{r['cpu_ratio']:>14.2f}"
        )
    if any(r["errors"] or r["rows"] != r["expected_rows"] for r in results):
        first_error = next((r["first_error"] for r in results if r["first_error"]), None)
        raise SystemExit(f"errors or missing rows (first error: {first_error})")


if __name__ == "__main__":
    main()
