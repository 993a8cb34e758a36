"""Real processes writing one ledger: the concurrency and SIGKILL tests for every backend.

The child side runs as ``python -m tests.billing.workers MODE URL ...`` from the repository root.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from tests.billing.factory import at, make_row
from thrifty.billing.ledger import RowQuery, open_ledger

REPO = Path(__file__).resolve().parents[2]


def _child_append(url: str, worker: int, rows: int, shared: int) -> None:
    """Wait for "go" so every process opens the (fresh) ledger at the same moment, then append."""
    print("ready", flush=True)
    sys.stdin.readline()
    ledger = open_ledger(url)
    new = 0
    batch = []
    for i in range(rows):
        rid = f"shared-{i:05d}" if i < shared else f"w{worker}-{i:05d}"
        row = make_row(rid, session_id=f"worker-{worker}", recorded_at=at(i / 1000))
        if i % 4 != 3:  # mostly one by one; every fourth row through append_many in small batches
            new += ledger.append(row)
        else:
            batch.append(row)
            if len(batch) == 5:
                new += ledger.append_many(batch)
                batch = []
    new += ledger.append_many(batch)
    ledger.close()
    print(f"new={new}", flush=True)


def _child_loop(url: str) -> None:
    """Append until killed; a request_id is printed only once ``append`` has returned."""
    ledger = open_ledger(url)
    i = 0
    while True:
        rid = f"loop-{i:07d}"
        ledger.append(make_row(rid, recorded_at=at(i / 1000)))
        print(rid, flush=True)
        i += 1


def spawn(*args: str, module: str = "tests.billing.workers") -> subprocess.Popen[str]:
    """A worker process running ``module``'s command line with ``args``."""
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@contextmanager
def reaped(procs: list[subprocess.Popen[str]]) -> Iterator[None]:
    try:
        yield
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def run_writers(url: str, *, processes: int = 8, rows: int = 200, shared: int = 50) -> None:
    """``processes`` writers, ``shared`` request_ids written by all of them; checks the ledger after."""
    procs = [spawn("append", url, str(k), str(rows), str(shared)) for k in range(processes)]
    with reaped(procs):
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready", proc.stderr
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        credited = 0
        for proc in procs:
            out, err = proc.communicate(timeout=240)
            assert proc.returncode == 0, err
            credited += int(out.strip().rpartition("new=")[2])
    expected = {f"shared-{i:05d}" for i in range(shared)} | {
        f"w{k}-{i:05d}" for k in range(processes) for i in range(shared, rows)
    }
    ledger = open_ledger(url)
    got = Counter(r.request_id for r in ledger.query(RowQuery()))
    ledger.close()
    assert set(got) == expected, f"lost {len(expected - set(got))}, extra {len(set(got) - expected)}"
    assert max(got.values()) == 1
    # Each row was reported new by exactly one process: append's answer is right under contention.
    assert credited == len(expected)


def kill_mid_append(url: str, *, after: int = 150) -> list[str]:
    """Start an appending child, SIGKILL it once it has reported ``after`` rows; the rows it reported."""
    proc = spawn("loop", url)
    reported: list[str] = []
    with reaped([proc]):
        assert proc.stdout is not None
        deadline = time.monotonic() + 120
        while len(reported) < after:
            line = proc.stdout.readline()
            assert line, f"child ended early: {proc.stderr.read() if proc.stderr else ''}"
            reported.append(line.strip())
            assert time.monotonic() < deadline
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        # Lines already in the pipe were printed after their append returned: they count too.
        reported += [line.strip() for line in proc.stdout.read().splitlines() if line.strip()]
    assert proc.returncode == -signal.SIGKILL
    return reported


def check_reported_rows(url: str, reported: list[str]) -> None:
    ledger = open_ledger(url)
    got = Counter(r.request_id for r in ledger.query(RowQuery()))
    missing = [rid for rid in reported if got[rid] != 1]
    assert not missing, f"{len(missing)} acknowledged rows lost, e.g. {missing[:3]}"
    # The ledger still takes writes after the crash.
    assert ledger.append(replace(make_row("after-kill"), recorded_at=at(10_000)))
    ledger.close()


def main(argv: list[str]) -> None:
    mode, url, *rest = argv
    if mode == "append":
        worker, rows, shared = (int(x) for x in rest)
        _child_append(url, worker, rows, shared)
    elif mode == "loop":
        _child_loop(url)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1:])
