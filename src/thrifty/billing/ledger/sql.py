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
from datetime import UTC, datetime, timedelta
from decimal import MAX_PREC, Decimal, InvalidOperation, localcontext
from typing import Any

from thrifty.billing.ledger.contract import GROUP_COLUMNS, Bucket, LoggedCosts, read_logged_cost
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
    #: ``aggregate``: whole seconds from the epoch to ``recorded_at``, floored (before 1970 too).
    epoch_seconds: str
    #: ``aggregate``: the ``logged_cost_usd`` tag as text (NULL when absent).
    logged_cost: str
    #: ``aggregate``: the texts of a group joined with commas, ``{}`` standing for the expression.
    join_texts: str
    #: ``aggregate``: appended to a subquery so the planner runs it once per row instead of
    #: inlining it (and evaluating its expressions again) in every aggregate that uses them.
    fence: str
    #: ``aggregate``: whether the store can group (FILTER clauses); else rows are summed here.
    can_group: bool = True
    #: ``aggregate``: ``recorded_at`` is fixed-width ISO text (``encode_time``), so a UTC day,
    #: hour or minute is a prefix of it, no date arithmetic needed.
    text_time: bool = False


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


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Seconds from 0001-01-01 to the epoch, and a day more for a bucket offset: a bucket number is
#: counted from before that, never negative, so the stores' integer division (which truncates) floors.
_SHIFT = 62_135_596_800 + 86_400
_ZERO = Decimal(0)
#: Buckets that are a prefix of fixed-width ISO text: a day, an hour, a minute.
_TIME_PREFIXES = {86_400: 10, 3_600: 13, 60: 16}
_TOKENS = (
    "input_tokens",
    "output_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "cache_read_tokens",
)


class _Unreadable(Exception):
    """A group's joined texts are not a list of finite decimals: the rows are summed here instead."""


class _Aggregation:
    """One ``aggregate`` call: what to group by and which sums to take, and the SQL for it."""

    def __init__(
        self, by: tuple[str, ...], bucket_seconds: int | None, bucket_offset: int, times: bool, logged: bool
    ) -> None:
        self.by = by
        self.bucket_seconds = bucket_seconds
        self.bucket_offset = bucket_offset
        self.times = times
        self.logged = logged
        n = bucket_seconds or 1
        #: Added to (epoch seconds + offset) before dividing: the first multiple of n past _SHIFT.
        self.shift = -(-_SHIFT // n) * n

    def start(self, number: int | str) -> datetime:
        """The UTC start of the bucket the store numbered ``number`` (or named by a time prefix)."""
        if isinstance(number, str):  # "2025-03-01", "2025-03-01T12" or "2025-03-01T12:15"
            hour = int(number[11:13]) if len(number) > 11 else 0
            minute = int(number[14:16]) if len(number) > 14 else 0
            return datetime(int(number[:4]), int(number[5:7]), int(number[8:10]), hour, minute, tzinfo=UTC)
        assert self.bucket_seconds is not None
        seconds = number * self.bucket_seconds - self.shift - self.bucket_offset
        return EPOCH + timedelta(seconds=seconds)

    def bucket_sql(self, d: Dialect) -> str:
        prefix = _TIME_PREFIXES.get(self.bucket_seconds or 0)
        if d.text_time and prefix and not self.bucket_offset:
            return f"substr(recorded_at, 1, {prefix})"  # a UTC day, hour or minute
        return f"({d.epoch_seconds} + {self.shift + self.bucket_offset}) / {self.bucket_seconds}"

    def grouped_sql(self, where: str, d: Dialect) -> str:
        """Every sum taken by the store: exact in NUMERIC; in SQLite, whose numbers are binary
        floats, the exact cost texts of each group come back joined and are summed in Decimal."""

        def total(expr: str, condition: str | None = None) -> str:
            only = f" FILTER (WHERE {condition})" if condition else ""
            return (f"SUM({expr})" if d.sum_in_store else d.join_texts.format(expr)) + only

        keys = list(self.by)
        bucket = self.bucket_sql(d)
        if self.bucket_seconds is not None:
            keys.append("b" if self.logged else bucket)
        sums = [f"SUM({name})" for name in _TOKENS]
        out = [*keys, "COUNT(*)", *sums, "COUNT(cost_usd)"]
        if self.logged:
            out += [total("cost_usd", "t IS NULL"), total("cost_usd", "t IS NOT NULL")]
        else:
            out.append(total("cost_usd"))
        if self.times:
            out += ["MIN(recorded_at)", "MAX(recorded_at)"]
        source = f"{TABLE}{where}"
        if self.logged:
            out += ["COUNT(t)", "COUNT(cost_usd) FILTER (WHERE t IS NULL)", d.join_texts.format("t")]
            inner = [*self.by, *_TOKENS, "cost_usd", f"{d.logged_cost} AS t"]
            if self.times:
                inner.append("recorded_at")
            if self.bucket_seconds is not None:
                inner.append(f"{bucket} AS b")
            source = f"(SELECT {', '.join(inner)} FROM {source}{d.fence}) AS r"  # noqa: S608
        # The bucket first: SQLite sorts every row for a GROUP BY, and the bucket settles most
        # comparisons before the text columns are looked at.
        positions = list(range(1, len(keys) + 1))
        group = ", ".join(map(str, positions[len(self.by) :] + positions[: len(self.by)]))
        grouping = f" GROUP BY {group}" if keys else ""
        return f"SELECT {', '.join(out)} FROM {source}{grouping}"  # noqa: S608 - constants only

    def rows_sql(self, where: str, d: Dialect) -> str:
        columns = [*self.by, *_TOKENS, "cost_usd", "recorded_at", f"{d.logged_cost} AS t"]
        return f"SELECT {', '.join(columns)} FROM {TABLE}{where}"  # noqa: S608 - constants only

    def _bucket(self, values: Sequence[Any], start: datetime | None, sums: Sequence[Any]) -> Bucket:
        group = dict(zip(self.by, values, strict=True))
        return Bucket._make((*(group.get(column) for column in GROUP_COLUMNS), start, *sums))

    def from_groups(self, records: list[Sequence[Any]], d: Dialect) -> list[Bucket]:
        """The store's groups as buckets; ``_Unreadable`` when a group's texts are not decimals."""
        k = len(self.by)
        n = self.bucket_seconds
        times, logged = self.times, self.logged
        # Where each of GROUP_COLUMNS is in a record (None: not grouped by).
        places = [self.by.index(column) if column in self.by else None for column in GROUP_COLUMNS]
        starts: dict[int, datetime] = {}
        numeric = d.sum_in_store  # NUMERIC sums: tokens come back as Decimal
        decode_time = d.decode_time
        out = []
        with localcontext(prec=MAX_PREC):
            for rec in records:
                start = None
                i = k
                if n is not None:
                    number = rec[i]
                    start = starts.get(number)
                    if start is None:
                        start = starts[number] = self.start(number)
                    i += 1
                calls, priced = rec[i], rec[i + 6]
                if not calls:  # no GROUP BY: the one row of an empty selection
                    continue
                tokens = rec[i + 1 : i + 6]
                if numeric:
                    tokens = [int(v) for v in tokens]
                    calls, priced = int(calls), int(priced)
                costs = None
                if logged:
                    j = i + (11 if times else 9)
                    tagged, priced_untagged = rec[j], rec[j + 1]
                    untagged_cost = _total(rec[i + 7], priced_untagged, d)
                    cost = untagged_cost + _total(rec[i + 8], priced - priced_untagged, d)
                    costs = LoggedCosts(
                        _joined(rec[j + 2], tagged), tagged, untagged_cost, calls - tagged - priced_untagged
                    )
                    i += 9
                else:
                    cost = _total(rec[i + 7], priced, d)
                    i += 8
                first = last = None
                if times:
                    first, last = decode_time(rec[i]), decode_time(rec[i + 1])
                group = [None if place is None else rec[place] for place in places]
                sums = (calls, *tokens, cost, calls - priced, costs, first, last)
                out.append(Bucket._make((*group, start, *sums)))
        return out

    def from_rows(self, records: list[Sequence[Any]], d: Dialect) -> list[Bucket]:
        """The same buckets from one record per row: for what the store cannot sum exactly."""
        k = len(self.by)
        n = self.bucket_seconds
        groups: dict[tuple[Any, ...], _Sums] = {}
        for rec in records:
            at = d.decode_time(rec[k + 6])
            key = tuple(rec[:k])
            if n is not None:
                number = (at - EPOCH + timedelta(seconds=self.bucket_offset + self.shift)) // timedelta(
                    seconds=n
                )
                key += (number,)
            sums = groups.get(key)
            if sums is None:
                sums = groups[key] = _Sums()
            sums.add(rec[k : k + 5], d.decode_cost(rec[k + 5]), at, read_logged_cost(rec[k + 7]))
        out = []
        for key, sums in groups.items():
            start = self.start(key[k]) if n is not None else None
            out.append(self._bucket(key[:k], start, sums.freeze(times=self.times, logged=self.logged)))
        return out


class _Sums:
    """Running sums of one group, row by row (``_Aggregation.from_rows``)."""

    def __init__(self) -> None:
        self.calls = self.unpriced = self.logged_calls = self.unlogged_unpriced = 0
        self.tokens = [0] * len(_TOKENS)
        self.cost = self.logged = self.unlogged = _ZERO
        self.first: datetime | None = None
        self.last: datetime | None = None

    def add(self, tokens: Sequence[int], cost: Decimal | None, at: datetime, logged: Decimal | None) -> None:
        self.calls += 1
        self.tokens = [a + int(b) for a, b in zip(self.tokens, tokens, strict=True)]
        with localcontext(prec=MAX_PREC):
            if cost is None:
                self.unpriced += 1
            else:
                self.cost += cost
            if logged is not None:
                self.logged += logged
                self.logged_calls += 1
            elif cost is None:
                self.unlogged_unpriced += 1
            else:
                self.unlogged += cost
        self.first = at if self.first is None else min(self.first, at)
        self.last = at if self.last is None else max(self.last, at)

    def freeze(self, *, times: bool, logged: bool) -> tuple[Any, ...]:
        costs = LoggedCosts(self.logged, self.logged_calls, self.unlogged, self.unlogged_unpriced)
        return (
            self.calls,
            *self.tokens,
            self.cost,
            self.unpriced,
            costs if logged else None,
            self.first if times else None,
            self.last if times else None,
        )


def _total(value: Any, count: int, d: Dialect) -> Decimal:
    """A sum of costs as the store gave it: NUMERIC's exact SUM, or SQLite's joined cost texts."""
    if d.sum_in_store:
        return _ZERO if value is None else value
    return _joined(value, count)


def _joined(text: str | None, count: int) -> Decimal:
    """The exact sum of ``count`` decimal texts joined with commas (read as ``read_logged_cost``
    reads one); ``_Unreadable`` when they are not ``count`` finite decimals."""
    if not count:
        return _ZERO
    parts = text.split(",") if text is not None else []
    if len(parts) != count:  # a text held a comma
        raise _Unreadable
    try:
        # Decimal() itself ignores surrounding whitespace, as read_logged_cost's strip() does.
        total = sum(map(Decimal, parts), _ZERO)
    except (InvalidOperation, ValueError, TypeError):
        raise _Unreadable from None
    if not total.is_finite():  # NaN or an infinity among them
        raise _Unreadable
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

    def close(self) -> None:
        with self._lock:
            self._close()

    def __enter__(self) -> SqlLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.location}>"
