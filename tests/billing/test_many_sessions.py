"""Many concurrent in-process sessions with the ledger on share one ledger connection.

Each session used to open its own connection (SQLite: the file, its -wal and -shm, three
descriptors) and keep it for its life: near the descriptor limit the sessions' HTTP sockets,
or the ledger opens themselves, failed. Here 200 sessions run in a child process whose soft
descriptor limit is 256 (the simulator runs in this process, outside that limit): with a
connection per session they need some 800 descriptors; with one shared connection, about 200
sockets and a handful more. Every session must end without error and every call be recorded.
On PostgreSQL a connection per session also exceeds the test server's ``max_connections`` (60).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.billing.sessions_worker import CALLS, script
from thrifty.billing.ledger import RowQuery, open_ledger
from thrifty.testing import Simulator

REPO = Path(__file__).resolve().parents[2]
SESSIONS = 200
NOFILE = 256


def _run_child(tmp_path: Path, ledger: str) -> dict[str, object]:
    work = tmp_path / "work"
    work.mkdir()
    with Simulator(script(work)) as sim:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.billing.sessions_worker",
                sim.base_url,
                sim.api_key,
                ledger,
                str(SESSIONS),
                str(NOFILE),
                str(work),
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _rows(ledger: str) -> int:
    opened = open_ledger(ledger)
    try:
        return len(opened.query(RowQuery()))
    finally:
        opened.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_many_sessions_under_a_low_descriptor_limit_all_succeed_and_are_all_recorded(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    ledger = str(tmp_path / "ledger.sqlite3") if backend == "sqlite" else request.getfixturevalue("pg_url")
    result = _run_child(tmp_path, ledger)
    assert (result["errors"], result["first_error"]) == (0, None)
    assert _rows(ledger) == SESSIONS * CALLS
