"""The team ledger: one PostgreSQL database shared by everyone's thrifty.

Same rows, same answers as the SQLite ledger (both pass one conformance suite); the store just
spells values natively: NUMERIC costs (exact, and summed exactly by the server), timestamptz,
jsonb. The connection runs in autocommit, so each ``append`` is one transaction that the server
has committed, and flushed, before it returns; ``append_many`` is one explicit transaction.

Only imported once ``open_url`` has checked that psycopg is installed (it is an optional extra).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC
from typing import Any

import psycopg
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from thrifty.billing.ledger import holds
from thrifty.billing.ledger.contract import LOGGED_COST_TAG, LedgerError, Recorded
from thrifty.billing.ledger.migrations import MIGRATIONS_TABLE, migrate
from thrifty.billing.ledger.sql import Dialect, SqlLedger
from thrifty.billing.ledger.urls import mask_url, scrub, url_secrets

CONNECT_TIMEOUT_S = 10
#: pg_advisory_xact_lock key serialising migrations across every client of one database ("thrifty!").
MIGRATION_LOCK = 0x7468726966747921
#: pg_advisory_xact_lock class of the per-scope reservation locks ("thri"); the key is hashtext(scope).
HOLD_LOCK_CLASS = 0x74687269

DIALECT = Dialect(
    name="postgres",
    ph="%s",
    encode_cost=lambda c: c,
    decode_cost=lambda v: v,
    encode_time=lambda dt: dt,
    decode_time=lambda v: v.astimezone(UTC),
    encode_json=lambda value: None if value is None else Jsonb(value),
    decode_json=lambda v: None if v is None else dict(v),
    encode_bool=bool,
    has_rate_limits="rate_limits IS NOT NULL AND rate_limits <> '{}'::jsonb",
    sum_in_store=True,
    epoch_seconds="floor(extract(epoch FROM recorded_at))::bigint",
    logged_cost=f"tags->>'{LOGGED_COST_TAG}'",
    join_texts="string_agg({}, ',')",
    fence=" OFFSET 0",
)

Conn = psycopg.Connection[TupleRow]


class _Migrations:
    dialect = "postgres"

    def __init__(self, conn: Conn, location: str) -> None:
        self.conn = conn
        self.location = location

    def applied(self) -> set[str] | None:
        row = self.conn.execute("SELECT to_regclass(%s)", (MIGRATIONS_TABLE,)).fetchone()
        if row is None or row[0] is None:
            return None
        return {name for (name,) in self.conn.execute(f"SELECT name FROM {MIGRATIONS_TABLE}")}  # noqa: S608

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            yield

    def execute(self, sql: str) -> None:
        self.conn.execute(sql)

    def record(self, name: str) -> None:
        self.conn.execute(
            f"INSERT INTO {MIGRATIONS_TABLE} (name, applied_at) VALUES (%s, now())",  # noqa: S608
            (name,),
        )


class PostgresLedger(SqlLedger):
    def __init__(self, url: str) -> None:
        super().__init__(mask_url(url), DIALECT)
        self._url = url
        self._secrets = url_secrets(url)
        self._closed = False
        self._conn = self._connect()
        try:
            with self._guard():
                migrate(_Migrations(self._conn, self.location))
        except BaseException:
            self._conn.close()
            raise

    def _connect(self) -> Conn:
        extra: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT_S}
        if "connect_timeout" in self._url:
            extra = {}
        try:
            conn = psycopg.connect(self._url, autocommit=True, **extra)
        except (psycopg.Error, ValueError) as exc:
            reason = scrub(str(exc), self._secrets) or type(exc).__name__
            raise LedgerError(f"cannot connect to PostgreSQL ledger at {self.location}: {reason}") from None
        try:
            # A returned append must be durable; a server-wide "off" would make it merely likely.
            setting = conn.execute("SHOW synchronous_commit").fetchone()
            if setting is not None and setting[0] == "off":
                conn.execute("SET synchronous_commit = local")
        except psycopg.Error as exc:
            conn.close()
            reason = scrub(str(exc), self._secrets)
            raise LedgerError(f"PostgreSQL ledger at {self.location}: {reason}") from None
        return conn

    def _live(self) -> Conn:
        """The connection, reopened once if the server dropped it (a restart, an idle timeout)."""
        if self._conn.broken or (self._conn.closed and not self._closed):
            self._conn.close()
            self._conn = self._connect()
        return self._conn

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except psycopg.Error as exc:
            reason = scrub(str(exc), self._secrets) or type(exc).__name__
            raise LedgerError(f"PostgreSQL ledger at {self.location}: {reason}") from None

    def _execute(self, sql: str, params: Sequence[Any]) -> int:
        return self._live().execute(sql, params).rowcount

    def _record_many(self, records: Sequence[tuple[str, Sequence[Any]]]) -> Recorded:
        # Two pipelined passes with RETURNING, not a round trip per row: the inserts say which
        # rows were new; the rest are offered again as upserts, which say which were upgraded
        # (the upsert's WHERE re-reads a row another writer changed meanwhile).
        conn = self._live()
        with conn.transaction(), conn.cursor() as cur:
            new = self._returned(cur, self._insert, [record for _, record in records])
            rest = [record for request_id, record in records if request_id not in new]
            upgraded = self._returned(cur, self._upsert, rest) if rest else set()
        return Recorded(
            tuple(rid for rid, _ in records if rid in new),
            tuple(rid for rid, _ in records if rid in upgraded),
        )

    @staticmethod
    def _returned(cur: psycopg.Cursor[TupleRow], sql: str, records: list[Sequence[Any]]) -> set[str]:
        """The request ids ``sql`` (one record at a time) wrote."""
        cur.executemany(sql + " RETURNING request_id", records, returning=True)
        written: set[str] = set()
        while True:
            written.update(str(row[0]) for row in cur.fetchall())
            if not cur.nextset():
                return written

    def _fetch(self, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
        return list(self._live().execute(sql, params).fetchall())

    def _execute_settling(self, sql: str, params: Sequence[Any], settle: str) -> int:
        # One autocommit statement, as a plain append: the hold is deleted by a data-modifying
        # CTE of the row's upsert, so the settle adds no round trip and no second commit.
        gone = f"WITH settled AS ({holds.delete_sql(DIALECT)}) "
        return self._live().execute(gone + sql, [settle, *params]).rowcount

    @contextmanager
    def _holding(self, scopes: Sequence[str]) -> Iterator[holds.Run]:
        # A lock per scope, taken in sorted order (no deadlock between two checks): checks of one
        # scope serialise, others run side by side. The hold commits without waiting for the WAL
        # flush (synchronous_commit off, this transaction only): no extra disk wait per call.
        conn = self._live()
        with conn.transaction():
            # SET LOCAL and the locks (left to right, in sorted order) in one round trip.
            lock = f"pg_advisory_xact_lock({HOLD_LOCK_CLASS}, hashtext(%s))"
            steps = ["set_config('synchronous_commit', 'off', true)", *([lock] * len(scopes))]
            conn.execute(f"SELECT {', '.join(steps)}", list(scopes))

            def run(sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
                cur = conn.execute(sql, params)
                return list(cur.fetchall()) if cur.description else []

            yield run

    def _close(self) -> None:
        self._closed = True
        self._conn.close()
