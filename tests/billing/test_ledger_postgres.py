"""The PostgreSQL ledger: the conformance suite against a real server, plus URLs and native types."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import quote

import pytest

from tests import pg
from tests.billing import workers
from tests.billing.factory import make_row
from thrifty.billing.ledger import LedgerError, RowQuery, open_ledger
from thrifty.billing.ledger.conformance import CASES, Case, Harness


def _raw(url: str):
    def sql(statement: str) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            cur = conn.execute(statement)
            return list(cur.fetchall()) if cur.description else []

    return sql


@pytest.mark.parametrize("case", CASES, ids=str)
def test_conformance(case: Case, pg_url: str, pg_server: pg.PgServer) -> None:
    case(Harness(open=lambda: open_ledger(pg_url), sql=_raw(pg_url), secret=pg_server.password))


def test_postgres_scheme_alias_and_masked_location(pg_url: str, pg_server: pg.PgServer) -> None:
    url = pg_url.replace("postgresql://", "postgres://", 1)
    ledger = open_ledger(url)
    assert (
        ledger.location == f"postgres://{pg.SUPERUSER}:***@127.0.0.1:{pg_server.port}/{url.rsplit('/', 1)[1]}"
    )
    assert pg_server.password not in ledger.location
    assert quote(pg_server.password, safe="") not in ledger.location
    ledger.close()


def test_wrong_password_is_one_line_without_either_password(pg_url: str, pg_server: pg.PgServer) -> None:
    wrong = "not-the:pw@really"
    url = pg_url.replace(quote(pg_server.password, safe=""), quote(wrong, safe=""))
    with pytest.raises(LedgerError) as info:
        open_ledger(url)
    message = str(info.value)
    assert "password authentication failed" in message and "***" in message
    for secret in (wrong, quote(wrong, safe=""), pg_server.password):
        assert secret not in message
    assert "\n" not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_columns_are_native_types(pg_url: str) -> None:
    open_ledger(pg_url).close()
    types = dict(
        _raw(pg_url)(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'thrifty_calls'"
        )
    )
    assert types["cost_usd"] == "numeric"
    assert types["recorded_at"] == "timestamp with time zone"
    assert types["tags"] == types["rate_limits"] == "jsonb"
    assert types["complete"] == "boolean"


def test_a_dropped_connection_is_reopened(pg_url: str) -> None:
    ledger = open_ledger(pg_url)
    ledger.append(make_row("before"))
    _raw(pg_url)("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                 "AND pid <> pg_backend_pid()")  # fmt: skip
    with pytest.raises(LedgerError):
        ledger.append(make_row("during"))  # the call that finds the connection gone reports it
    assert ledger.append(make_row("after"))
    assert {r.request_id for r in ledger.query(RowQuery())} == {"before", "after"}
    ledger.close()


def test_eight_processes_lose_and_duplicate_nothing(pg_url: str) -> None:
    workers.run_writers(pg_url, processes=8, rows=200, shared=50)


def test_sigkill_mid_append_loses_no_acknowledged_row(pg_url: str) -> None:
    reported = workers.kill_mid_append(pg_url)
    workers.check_reported_rows(pg_url, reported)


def test_a_ledger_from_before_server_tool_counts_is_migrated_and_keeps_its_rows(pg_url: str) -> None:
    import psycopg

    from thrifty.billing.ledger.dialect import COLUMNS
    from thrifty.billing.ledger.migrations import MIGRATIONS, migrations_table_sql
    from thrifty.billing.ledger.postgres import DIALECT
    from thrifty.billing.ledger.sql import to_record

    old = make_row("old-1", output_tokens=10)
    kept = [i for i, name in enumerate(COLUMNS) if not name.startswith("web_")]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(migrations_table_sql("postgres"))
        for migration in MIGRATIONS[:2]:
            for statement in migration.postgres:
                conn.execute(statement)
            conn.execute("INSERT INTO thrifty_migrations (name) VALUES (%s)", (migration.name,))
        record = to_record(old, DIALECT)
        names = ", ".join(COLUMNS[i] for i in kept)
        marks = ", ".join("%s" for _ in kept)
        conn.execute(f"INSERT INTO thrifty_calls ({names}) VALUES ({marks})", [record[i] for i in kept])
    ledger = open_ledger(pg_url)
    try:
        assert ledger.query(RowQuery()) == [old]
        better = replace(old, output_tokens=11, web_search_requests=4)
        assert ledger.append(better) is True
        assert ledger.query(RowQuery(message_id=old.message_id)) == [better]
    finally:
        ledger.close()
    applied = _raw(pg_url)("SELECT name FROM thrifty_migrations ORDER BY name")
    assert [name for (name,) in applied] == [m.name for m in MIGRATIONS]
