"""``Ledger.aggregate`` for the SQL stores: the grouped SQL, and its records read back as buckets.

Every sum the store can take exactly is taken there (tokens, server tool requests, NUMERIC
costs); SQLite's costs come back as joined exact texts and are summed in ``Decimal`` here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import MAX_PREC, Decimal, InvalidOperation, localcontext
from typing import Any

from thrifty.billing.ledger.contract import GROUP_COLUMNS, Bucket, LoggedCosts, read_logged_cost
from thrifty.billing.ledger.dialect import TABLE, Dialect

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
#: Summed too, read back after everything else a record holds.
_TOOLS = ("web_search_requests", "web_fetch_requests")


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
            inner = [*self.by, *_TOKENS, *_TOOLS, "cost_usd", f"{d.logged_cost} AS t"]
            if self.times:
                inner.append("recorded_at")
            if self.bucket_seconds is not None:
                inner.append(f"{bucket} AS b")
            source = f"(SELECT {', '.join(inner)} FROM {source}{d.fence}) AS r"  # noqa: S608
        out += [f"SUM({name})" for name in _TOOLS]
        # The bucket first: SQLite sorts every row for a GROUP BY, and the bucket settles most
        # comparisons before the text columns are looked at.
        positions = list(range(1, len(keys) + 1))
        group = ", ".join(map(str, positions[len(self.by) :] + positions[: len(self.by)]))
        grouping = f" GROUP BY {group}" if keys else ""
        return f"SELECT {', '.join(out)} FROM {source}{grouping}"  # noqa: S608 - constants only

    def rows_sql(self, where: str, d: Dialect) -> str:
        columns = [*self.by, *_TOKENS, "cost_usd", "recorded_at", f"{d.logged_cost} AS t", *_TOOLS]
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
                searches, fetches = int(rec[-2]), int(rec[-1])  # SUM of BIGINT: NUMERIC in PostgreSQL
                sums = (calls, *tokens, cost, calls - priced, costs, first, last, searches, fetches)
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
            logged = read_logged_cost(rec[k + 7])
            sums.add(rec[k : k + 5], d.decode_cost(rec[k + 5]), at, logged, rec[k + 8 :])
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
        self.tools = [0] * len(_TOOLS)
        self.cost = self.logged = self.unlogged = _ZERO
        self.first: datetime | None = None
        self.last: datetime | None = None

    def add(
        self,
        tokens: Sequence[int],
        cost: Decimal | None,
        at: datetime,
        logged: Decimal | None,
        tools: Sequence[int],
    ) -> None:
        self.calls += 1
        self.tokens = [a + int(b) for a, b in zip(self.tokens, tokens, strict=True)]
        self.tools = [a + int(b) for a, b in zip(self.tools, tools, strict=True)]
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
            *self.tools,
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
