"""The SQLite ledger: the conformance suite, plus what only a file can get wrong."""

from __future__ import annotations

import sqlite3
import stat
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.billing import workers
from tests.billing.factory import make_row
from tests.billing.ledger_conformance import Harness, LedgerConformance
from thrifty.billing import paths
from thrifty.billing.ledger import RowQuery, open_ledger
from thrifty.billing.ledger.migrations import MIGRATIONS, migrate
from thrifty.billing.ledger.sqlite import SqliteLedger, _Migrations


def _raw(path: Path):
    def sql(statement: str) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(path)) as conn:
            rows = conn.execute(statement).fetchall()
            conn.commit()
            return rows

    return sql


class TestSqliteConformance(LedgerConformance):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> Harness:
        path = tmp_path / "ledger.sqlite3"
        return Harness(url=str(path), sql=_raw(path))


def test_file_and_its_wal_are_private(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    ledger = open_ledger(str(path))
    ledger.append(make_row("r1"))
    for p in (path, path.with_name(path.name + "-wal")):
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    ledger.close()


def test_wal_and_synchronous_full(tmp_path: Path) -> None:
    ledger = SqliteLedger(tmp_path / "ledger.sqlite3")
    assert ledger._conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert ledger._conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    assert ledger._conn.execute("PRAGMA busy_timeout").fetchone() == (30000,)
    ledger.close()


def test_storage_is_exact_text_that_sorts_as_time(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    ledger = open_ledger(str(path))
    ledger.append(make_row("r1", tags={"k": "é"}))
    ledger.append(make_row("r2", cost_usd=None))
    ledger.close()
    rows = _raw(path)(
        "SELECT typeof(cost_usd), cost_usd, recorded_at, tags FROM thrifty_calls ORDER BY request_id"
    )
    assert rows[0] == ("text", "0.012345", "2025-03-01T12:00:00.123456Z", '{"k": "é"}')
    assert rows[1][:2] == ("null", None)


def test_default_location_is_created_under_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THRIFTY_DATA_DIR", str(tmp_path / "deep" / "data"))
    ledger = open_ledger(None)
    assert ledger.location == str(paths.default_ledger_path())
    assert paths.default_ledger_path().exists()
    ledger.close()


def test_sqlite_url_and_plain_path_are_the_same_ledger(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    one = open_ledger(f"sqlite://{path}")
    assert one.location == str(path)
    one.append(make_row("r1"))
    one.close()
    two = open_ledger(str(path))
    assert [r.request_id for r in two.query(RowQuery())] == ["r1"]
    two.close()


def test_eight_processes_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    workers.run_writers(str(tmp_path / "ledger.sqlite3"), processes=8, rows=200, shared=50)


def test_sigkill_mid_append_loses_no_acknowledged_row(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    reported = workers.kill_mid_append(str(path))
    assert _raw(path)("PRAGMA integrity_check") == [("ok",)]
    workers.check_reported_rows(str(path), reported)


def test_in_memory_ledger_for_tests_and_tools() -> None:
    ledger = open_ledger(":memory:")
    assert ledger.append(make_row("r1")) and not ledger.append(make_row("r1"))
    assert ledger.location == ":memory:"
    ledger.close()


def test_migrate_applies_everything_once(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "l.sqlite3", isolation_level=None)
    target = _Migrations(conn, "test")
    assert migrate(target) == [m.name for m in MIGRATIONS]
    assert migrate(target) == []
    conn.close()
