"""The SQLite ledger: the conformance suite, plus what only a file can get wrong."""

from __future__ import annotations

import sqlite3
import stat
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.billing import workers
from tests.billing.factory import make_row
from thrifty.billing import paths
from thrifty.billing.ledger import LedgerRow, RowQuery, open_ledger
from thrifty.billing.ledger.conformance import CASES, SCHEMA_FREE_CASES, Case, Harness, run_ledger_conformance
from thrifty.billing.ledger.migrations import MIGRATIONS, migrate
from thrifty.billing.ledger.sqlite import SqliteLedger, _Migrations


def _raw(path: Path):
    def sql(statement: str) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(path)) as conn:
            rows = conn.execute(statement).fetchall()
            conn.commit()
            return rows

    return sql


@pytest.mark.parametrize("case", CASES, ids=str)
def test_conformance(case: Case, tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    case(Harness(open=lambda: open_ledger(str(path)), sql=_raw(path)))


def test_the_documented_entry_point_runs_every_case_a_schema_free_backend_can(tmp_path: Path) -> None:
    """As a third-party backend calls it: one store per case, no raw SQL to read migrations with."""
    stores: list[Path] = []

    def fresh_store() -> Harness:
        stores.append(tmp_path / f"store-{len(stores)}.sqlite3")
        path = stores[-1]
        return Harness(open=lambda: SqliteLedger(path))

    run_ledger_conformance(fresh_store)
    assert len(stores) == len(CASES) and len(SCHEMA_FREE_CASES) == len(CASES) - 1
    assert [c.name for c in CASES if c.needs_sql] == ["a_newer_thriftys_ledger_is_refused"]
    with pytest.raises(ValueError, match="a_newer_thriftys_ledger_is_refused needs a Harness with sql"):
        next(c for c in CASES if c.needs_sql)(fresh_store())


class _RoundingLedger(SqliteLedger):
    """A backend that loses digits of the cost: what the suite is there to catch."""

    def query(self, q: RowQuery) -> list[LedgerRow]:
        return [replace(r, cost_usd=r.cost_usd and round(r.cost_usd, 2)) for r in super().query(q)]


def test_a_backend_that_breaks_the_contract_fails_naming_the_case(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with pytest.raises(AssertionError) as info:
        run_ledger_conformance(lambda: Harness(open=lambda: _RoundingLedger(path)), cases=CASES[:1])
    assert info.value.__notes__ == ["in ledger conformance case round_trip_every_field_exactly"]


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


def test_a_ledger_from_before_server_tool_counts_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    """A ledger written before m003 (no web search/fetch columns) opens, gains them as 0, and
    then keeps the more complete copy of a call like any other."""
    from thrifty.billing.ledger.dialect import COLUMNS
    from thrifty.billing.ledger.migrations import migrations_table_sql
    from thrifty.billing.ledger.sql import to_record
    from thrifty.billing.ledger.sqlite import DIALECT

    path = tmp_path / "old.sqlite3"
    old = make_row("old-1", output_tokens=10)
    kept = [i for i, name in enumerate(COLUMNS) if not name.startswith("web_")]
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(migrations_table_sql("sqlite"))
        for migration in MIGRATIONS[:2]:
            for statement in migration.sqlite:
                conn.execute(statement)
            applied_at = "2025-01-01T00:00:00.000000Z"
            conn.execute("INSERT INTO thrifty_migrations VALUES (?, ?)", (migration.name, applied_at))
        record = to_record(old, DIALECT)
        names = ", ".join(COLUMNS[i] for i in kept)
        marks = ", ".join("?" for _ in kept)
        conn.execute(f"INSERT INTO thrifty_calls ({names}) VALUES ({marks})", [record[i] for i in kept])
        conn.commit()
    with closing(open_ledger(str(path))) as ledger:
        assert ledger.query(RowQuery()) == [old]
        better = replace(old, output_tokens=11, web_search_requests=4)
        assert ledger.append(better) is True
        assert ledger.query(RowQuery(message_id=old.message_id)) == [better]
    applied = _raw(path)("SELECT name FROM thrifty_migrations ORDER BY name")
    assert [name for (name,) in applied] == [m.name for m in MIGRATIONS]
