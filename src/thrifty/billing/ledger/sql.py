"""What the SQLite and PostgreSQL ledgers share: the column list, row <-> record, query text, the methods.

The two stores differ in how a value is spelled (a cost is exact TEXT in SQLite and NUMERIC in
PostgreSQL; a time is fixed-width ISO text in one and timestamptz in the other) and in how a
transaction is opened. Those differences live in a ``Dialect`` and four small hooks; everything
that decides *which* rows a call sees is written once here, so the backends cannot drift apart.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import MAX_PREC, Decimal, localcontext
from typing import Any

from thrifty.billing.ledger.rows import MODES, LedgerRow, RowQuery

TABLE = "thrifty_calls"
#: Column names are the field names, in field order: a field added to ``LedgerRow`` without a
#: migration fails loudly at the first insert instead of being silently dropped.
COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(LedgerRow))


@dataclass(frozen=True)
class Dialect:
    name: str
    #: The driver's positional placeholder.
    ph: str
    encode_cost: Callable[[Decimal | None], Any]
    decode_cost: Callable[[Any], Decimal | None]
    encode_time: Callable[[datetime], Any]
    decode_time: Callable[[Any], datetime]
    encode_json: Callable[[dict[str, str] | None], Any]
    decode_json: Callable[[Any], dict[str, str] | None]
    encode_bool: Callable[[bool], Any]
    #: SQL true for a ``rate_limits`` value that carries at least one header.
    has_rate_limits: str
    #: Whether ``spend`` may ask the store for the sum (only exact in NUMERIC, not in SQLite's REAL).
    sum_in_store: bool


def utc(dt: datetime, what: str = "recorded_at") -> datetime:
    """A naive time is a bug upstream (whose clock?), so refuse it instead of guessing."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {dt.isoformat()}")
    return dt.astimezone(UTC)


def to_record(row: LedgerRow, d: Dialect) -> tuple[Any, ...]:
    if row.mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {row.mode!r}")
    if row.cost_usd is not None and not row.cost_usd.is_finite():
        raise ValueError(f"cost_usd must be finite, got {row.cost_usd}")
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
    )
    return LedgerRow(**values)


def insert_sql(d: Dialect) -> str:
    marks = ", ".join([d.ph] * len(COLUMNS))
    return (
        f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({marks}) "  # noqa: S608 - constants only
        "ON CONFLICT (request_id) DO NOTHING"
    )


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
    """The ``Ledger`` methods over four driver hooks; one lock because one connection is not shared-safe."""

    location: str
    dialect: Dialect

    def __init__(self, location: str, dialect: Dialect) -> None:
        self.location = location
        self.dialect = dialect
        self._insert = insert_sql(dialect)
        self._lock = threading.Lock()

    # -- hooks ------------------------------------------------------------------------------------
    def _guard(self) -> AbstractContextManager[None]:
        """Turn the driver's errors into ``LedgerError`` (with nothing secret in the message)."""
        raise NotImplementedError

    def _execute(self, sql: str, params: Sequence[Any]) -> int:
        """Run one statement as its own durable transaction; its rowcount."""
        raise NotImplementedError

    def _execute_many(self, sql: str, records: Iterator[Sequence[Any]]) -> int:
        """Run the statement for every record in one durable transaction; total rowcount."""
        raise NotImplementedError

    def _fetch(self, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError

    # -- Ledger -----------------------------------------------------------------------------------
    def append(self, row: LedgerRow) -> bool:
        record = to_record(row, self.dialect)
        with self._lock, self._guard():
            return self._execute(self._insert, record) == 1

    def append_many(self, rows: Iterable[LedgerRow]) -> int:
        # Encode everything first: a bad row must fail before the transaction opens, not halfway.
        records = [to_record(row, self.dialect) for row in rows]
        if not records:
            return 0
        with self._lock, self._guard():
            return self._execute_many(self._insert, iter(records))

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

    def close(self) -> None:
        with self._lock:
            self._close()

    def __enter__(self) -> SqlLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.location}>"
