"""What the SQLite and PostgreSQL ledgers share: row <-> record, the statements, the methods.

The two stores differ in how a value is spelled (a cost is exact TEXT in SQLite and NUMERIC in
PostgreSQL; a time is fixed-width ISO text in one and timestamptz in the other) and in how a
transaction is opened. Those differences live in a ``Dialect`` and a few small hooks; everything
that decides *which* rows a call sees is written once here, so the backends cannot drift apart.

Writing a row that is already held (same ``request_id``) keeps the more complete of the two
(``rows.completeness``, compared by the store itself in ``RANK``), in one statement: an upsert
whose update only fires when the new copy ranks higher, so two writers racing on one call end
with the better copy whichever commits last, and a write never downgrades a row.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from decimal import MAX_PREC, Decimal, localcontext
from typing import Any

from thrifty.billing.ledger import holds
from thrifty.billing.ledger.aggregation import _Aggregation, _Unreadable
from thrifty.billing.ledger.contract import (
    GROUP_COLUMNS,
    Bucket,
    CapCheck,
    Recorded,
    Refusal,
    Reservation,
    ScopeSpend,
)
from thrifty.billing.ledger.dialect import COLUMNS, TABLE, Dialect, utc
from thrifty.billing.ledger.rows import LIVE_SOURCE, MODES, LedgerRow, RowQuery, completeness

__all__ = [
    "COLUMNS",
    "TABLE",
    "Dialect",
    "SqlLedger",
    "_Aggregation",
    "from_record",
    "insert_sql",
    "to_record",
    "upsert_sql",
    "utc",
]

#: A row's ``rows.completeness`` as SQL over the row named ``{t}`` (the stored row or ``excluded``).
RANK = (
    "(CASE WHEN {t}.source = '" + LIVE_SOURCE + "' THEN 1 ELSE 0 END, "
    "CASE WHEN {t}.complete THEN 1 ELSE 0 END, "
    "{t}.output_tokens, "
    "{t}.input_tokens + {t}.output_tokens + {t}.cache_write_5m_tokens + {t}.cache_write_1h_tokens"
    " + {t}.cache_read_tokens, "
    "{t}.web_search_requests + {t}.web_fetch_requests)"
)


def to_record(row: LedgerRow, d: Dialect) -> tuple[Any, ...]:
    if row.mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {row.mode!r}")
    if row.cost_usd is not None and not row.cost_usd.is_finite():
        raise ValueError(f"cost_usd must be finite, got {row.cost_usd}")
    for name in ("web_search_requests", "web_fetch_requests"):
        count = getattr(row, name)
        if type(count) is not int or count < 0:
            raise ValueError(f"{name} must be a count (an int >= 0), got {count!r}")
    values = {
        **{name: getattr(row, name) for name in COLUMNS},
        "cost_usd": d.encode_cost(row.cost_usd),
        "recorded_at": d.encode_time(utc(row.recorded_at)),
        "tags": d.encode_json(dict(row.tags)),
        "rate_limits": d.encode_json(None if row.rate_limits is None else dict(row.rate_limits)),
        "complete": d.encode_bool(row.complete),
    }
    return tuple(values[name] for name in COLUMNS)


def from_record(rec: Sequence[Any], d: Dialect) -> LedgerRow:
    values = dict(zip(COLUMNS, rec, strict=True))
    values.update(
        cost_usd=d.decode_cost(values["cost_usd"]),
        recorded_at=d.decode_time(values["recorded_at"]),
        tags=d.decode_json(values["tags"]) or {},
        rate_limits=d.decode_json(values["rate_limits"]),
        complete=bool(values["complete"]),
        web_search_requests=int(values["web_search_requests"]),
        web_fetch_requests=int(values["web_fetch_requests"]),
    )
    return LedgerRow(**values)


def insert_sql(d: Dialect) -> str:
    """A new row only: nothing happens when its request_id is held."""
    marks = ", ".join([d.ph] * len(COLUMNS))
    return (
        f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({marks}) "  # noqa: S608 - constants only
        "ON CONFLICT (request_id) DO NOTHING"
    )


def upsert_sql(d: Dialect) -> str:
    """A new row, or the whole stored row replaced when this copy is more complete (``RANK``)."""
    updates = ", ".join(f"{name} = excluded.{name}" for name in COLUMNS if name != "request_id")
    return (
        insert_sql(d).removesuffix("DO NOTHING")
        + f"DO UPDATE SET {updates} WHERE {RANK.format(t='excluded')} > {RANK.format(t=TABLE)}"
    )


def most_complete(rows: Iterable[LedgerRow]) -> list[LedgerRow]:
    """One row per request_id, the most complete (the first on a tie), in first-seen order."""
    best: dict[str, LedgerRow] = {}
    for row in rows:
        held = best.get(row.request_id)
        if held is None or completeness(row) > completeness(held):
            best[row.request_id] = row
    return list(best.values())


def where_sql(q: RowQuery, d: Dialect) -> tuple[str, list[Any]]:
    """``WHERE ...`` (or nothing) and its parameters; only placeholders carry user values."""
    clauses: list[str] = []
    params: list[Any] = []
    if q.since is not None:
        clauses.append(f"recorded_at >= {d.ph}")
        params.append(d.encode_time(utc(q.since, "since")))
    if q.until is not None:
        clauses.append(f"recorded_at < {d.ph}")
        params.append(d.encode_time(utc(q.until, "until")))
    for column, value in (
        ("mode", q.mode),
        ("project", q.project),
        ("session_id", q.session_id),
        ("model", q.model),
        ("account", q.account),
        ("source", q.source),
        ("request_id", q.request_id),
        ("message_id", q.message_id),
    ):
        if value is not None:
            clauses.append(f"{column} = {d.ph}")
            params.append(value)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def exact_sum(values: Iterable[Decimal]) -> Decimal:
    """Decimal's default context keeps 28 digits; a ledger total must keep them all."""
    total = Decimal(0)
    with localcontext(prec=MAX_PREC):
        for value in values:
            total += value
    return total


class SqlLedger:
    """The ``Ledger`` methods over a few driver hooks; one lock because one connection is not shared-safe."""

    location: str
    dialect: Dialect

    def __init__(self, location: str, dialect: Dialect) -> None:
        self.location = location
        self.dialect = dialect
        self._insert = insert_sql(dialect)
        self._upsert = upsert_sql(dialect)
        # Re-entrant: a backend's ``immediate()`` holds it around statements that take it again.
        self._lock = threading.RLock()

    # -- hooks ------------------------------------------------------------------------------------
    def _guard(self) -> AbstractContextManager[None]:
        """Turn the driver's errors into ``LedgerError`` (with nothing secret in the message)."""
        raise NotImplementedError

    def _execute(self, sql: str, params: Sequence[Any]) -> int:
        """Run one statement as its own durable transaction; its rowcount."""
        raise NotImplementedError

    def _record_many(self, records: Sequence[tuple[str, Sequence[Any]]]) -> Recorded:
        """In one durable transaction: each (request_id, record) inserted with ``self._insert``,
        and each that was not new offered again with ``self._upsert``; which did what."""
        raise NotImplementedError

    def _fetch(self, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
        raise NotImplementedError

    def _execute_settling(self, sql: str, params: Sequence[Any], settle: str) -> int:
        """``_execute``, and the reservation ``settle`` deleted, in one durable transaction."""
        raise NotImplementedError

    def _holding(self, scopes: Sequence[str]) -> AbstractContextManager[holds.Run]:
        """A transaction serialising every other ``_holding`` of any of ``scopes`` (the store's
        write lock will do), committed on exit; it need not wait for the disk (see ``holds``)."""
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    # -- Ledger -----------------------------------------------------------------------------------
    def append(self, row: LedgerRow, *, settle: str | None = None) -> bool:
        record = to_record(row, self.dialect)
        with self._lock, self._guard():
            if settle:
                return self._execute_settling(self._upsert, record, settle) == 1
            return self._execute(self._upsert, record) == 1

    def append_many(self, rows: Iterable[LedgerRow]) -> int:
        recorded = self.record_many(rows)
        return len(recorded.new) + len(recorded.upgraded)

    def record_many(self, rows: Iterable[LedgerRow]) -> Recorded:
        # Encode everything first: a bad row must fail before the transaction opens, not halfway.
        # One copy per call (the one the ledger would keep), so each is counted once: new or
        # upgraded, never both.
        records = [(row.request_id, to_record(row, self.dialect)) for row in most_complete(rows)]
        if not records:
            return Recorded((), ())
        with self._lock, self._guard():
            return self._record_many(records)

    def query(self, q: RowQuery) -> list[LedgerRow]:
        where, params = where_sql(q, self.dialect)
        sql = f"SELECT {', '.join(COLUMNS)} FROM {TABLE}{where} ORDER BY recorded_at, request_id"  # noqa: S608
        with self._lock, self._guard():
            records = self._fetch(sql, params)
        return [from_record(rec, self.dialect) for rec in records]

    def spend(self, *, mode: str, since: datetime, until: datetime | None = None) -> Decimal:
        where, params = where_sql(RowQuery(since=since, until=until, mode=mode), self.dialect)
        what = "SUM(cost_usd)" if self.dialect.sum_in_store else "cost_usd"
        sql = f"SELECT {what} FROM {TABLE}{where} AND cost_usd IS NOT NULL"  # noqa: S608
        with self._lock, self._guard():
            records = self._fetch(sql, params)
        costs = (self.dialect.decode_cost(rec[0]) for rec in records)
        return exact_sum(cost for cost in costs if cost is not None)

    def aggregate(
        self,
        q: RowQuery,
        *,
        by: Sequence[str] = (),
        bucket_seconds: int | None = None,
        bucket_offset: int = 0,
        times: bool = True,
        logged: bool = True,
    ) -> list[Bucket]:
        by = tuple(by)
        unknown = [column for column in by if column not in GROUP_COLUMNS]
        if unknown or len(set(by)) != len(by):
            raise ValueError(f"aggregate: group by distinct columns of {', '.join(GROUP_COLUMNS)}, got {by}")
        if bucket_seconds is not None and (type(bucket_seconds) is not int or bucket_seconds <= 0):
            raise ValueError(f"aggregate: bucket_seconds must be a positive int, got {bucket_seconds!r}")
        if type(bucket_offset) is not int or not -86_400 < bucket_offset < 86_400:
            raise ValueError(
                f"aggregate: bucket_offset must be an int of seconds under a day, got {bucket_offset!r}"
            )
        plan = _Aggregation(by, bucket_seconds, bucket_offset if bucket_seconds else 0, times, logged)
        d = self.dialect
        where, params = where_sql(q, d)
        records = None
        if d.can_group:
            with self._lock, self._guard():
                records = self._fetch(plan.grouped_sql(where, d), params)
        if records is not None:
            try:
                return plan.from_groups(records, d)
            except _Unreadable:  # a logged cost tag that is not a plain decimal: read row by row
                pass
        with self._lock, self._guard():
            records = self._fetch(plan.rows_sql(where, d), params)
        return plan.from_rows(records, d)

    def latest_rate_limits(self, account: str) -> tuple[datetime, dict[str, str]] | None:
        d = self.dialect
        sql = (
            f"SELECT recorded_at, rate_limits FROM {TABLE} "  # noqa: S608
            f"WHERE account = {d.ph} AND {d.has_rate_limits} "
            "ORDER BY recorded_at DESC, request_id DESC LIMIT 1"
        )
        with self._lock, self._guard():
            records = self._fetch(sql, [account])
        if not records:
            return None
        limits = d.decode_json(records[0][1])
        return d.decode_time(records[0][0]), dict(limits or {})

    # -- reservations (``holds``) -------------------------------------------------------------
    def _total(self, values: Iterable[Any]) -> Decimal:
        decode = self.dialect.decode_cost
        return exact_sum(cost for cost in (decode(v) for v in values if v is not None) if cost is not None)

    def reserve(
        self,
        scopes: Sequence[str],
        amount: Decimal,
        checks: Sequence[CapCheck],
        *,
        ttl: timedelta,
        now: datetime,
        session_id: str = "",
        replaces: str | None = None,
    ) -> Reservation | Refusal:
        holds.check_arguments(scopes, amount, checks, ttl)
        locked = sorted({*scopes, *(check.scope for check in checks)})
        with self._lock, self._guard(), self._holding(locked) as run:
            return holds.reserve(
                run,
                self.dialect,
                self._total,
                scopes=scopes,
                amount=amount,
                checks=checks,
                ttl=ttl,
                now=now,
                session_id=session_id,
                replaces=replaces,
            )

    def release(self, reservation_id: str) -> None:
        if not reservation_id:
            return
        with self._lock, self._guard(), self._holding(()) as run:
            run(holds.delete_sql(self.dialect), [reservation_id])

    def scope_spend(self, scope: str, *, since: datetime, now: datetime) -> ScopeSpend:
        holds.check_arguments((scope,), Decimal(0), (), timedelta(seconds=1))

        def run(sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
            return self._fetch(sql, params)

        with self._lock, self._guard():
            return holds.scope_spend(run, self.dialect, scope, since, now, self._total)

    def close(self) -> None:
        with self._lock:
            self._close()

    def __enter__(self) -> SqlLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.location}>"
