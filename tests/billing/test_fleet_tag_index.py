"""A fleet's cap is checked before every call of every worker, under the store's lock, and as a
whole-life cap it reads every row of its fleet: the check must find them through the fleet tag's
own index (migration ``m005_fleet_tag_index``), not by reading the whole ledger.

The planner uses an expression index only for the very expression it was built on, so these
tests ask each store's planner about the SQL the check really runs (``holds.scope_where``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg

from thrifty.billing.ledger import open_ledger
from thrifty.billing.ledger.dialect import TABLE
from thrifty.billing.ledger.holds import scope_where
from thrifty.billing.ledger.postgres import DIALECT as POSTGRES
from thrifty.billing.ledger.sqlite import DIALECT as SQLITE


def _spent_sql(where: str) -> str:
    return f"SELECT cost_usd FROM {TABLE} WHERE {where} AND cost_usd IS NOT NULL"


def test_sqlite_finds_a_fleets_rows_through_its_index(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    open_ledger(str(path)).close()
    where, params = scope_where("tag:fleet=abc", SQLITE)
    assert params == ["abc"]
    with sqlite3.connect(path) as conn:
        plan = " ".join(str(row) for row in conn.execute(f"EXPLAIN QUERY PLAN {_spent_sql(where)}", params))
    assert f"{TABLE}_fleet" in plan, plan
    # Another tag has no index of its own: its key stays a parameter, never text in the SQL.
    other, other_params = scope_where("tag:team=x'; DROP TABLE x; --", SQLITE)
    assert "DROP" not in other and other_params == ["team", "x'; DROP TABLE x; --"]


def test_postgres_finds_a_fleets_rows_through_its_index(pg_url: str) -> None:
    open_ledger(pg_url).close()
    where, params = scope_where("tag:fleet=abc", POSTGRES)
    with psycopg.connect(pg_url) as conn:
        conn.execute("SET enable_seqscan = off")  # a small table would be scanned whatever the index
        plan = " ".join(row[0] for row in conn.execute(f"EXPLAIN {_spent_sql(where)}", params))
    assert f"{TABLE}_fleet" in plan, plan
