"""The grouped usage views (daily, weekly, monthly, session, model) from sums the ledger takes.

Loading every row as a ``LedgerRow`` to group it here costs seconds and hundreds of MB on a
large Claude Code history. ``Ledger.aggregate`` sums in the store instead, exactly, by billing
mode, model and (for the calendar views) a time bucket; this module folds those sums into
the very ``Report`` that ``build_report`` makes from the rows, field for field:

- Calendar views: a bucket is placed on the local day of its first instant. A zone with one
  UTC offset around the report (UTC, Kolkata's +05:30, Kathmandu's +05:45) gets buckets that
  are days of its own clock; one with several gets buckets whose length divides a day and
  every offset (an hour for New York). Either way no local midnight falls inside a bucket. Each
  bucket is checked all the same (its first and last instant on one local day, at one offset);
  if one is not (an offset the guess missed), the sums are taken again in 15-minute UTC buckets,
  which fit every offset in use today, and if even those cannot be placed (a historical offset
  of odd minutes) the caller builds the report from the rows.
- Cost modes: ``calculate`` reads the calculated sums; ``auto`` the logged costs plus the
  calculated costs of the calls without one; ``display`` the logged costs alone, except that a
  thrifty call's logged cost is its calculated one (``costs.logged_cost``), so it groups by
  source too.
- ``--project``: each stored spelling of the project is its own exact-match query.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import MAX_PREC, Decimal, localcontext
from math import gcd

from thrifty.billing.ledger import MODES, Bucket, Ledger, RowQuery
from thrifty.core.usage import Usage
from thrifty.usage.costs import COST_MODES
from thrifty.usage.filters import to_local
from thrifty.usage.reports import Report, ReportBuilder, Sums, week_first_day, week_key

__all__ = ["FINEST_BUCKET", "TIME_VIEWS", "aggregated_report", "buckets_for"]

TIME_VIEWS = ("daily", "weekly", "monthly")
#: Every UTC offset in use today is a multiple of 15 minutes.
FINEST_BUCKET = 15 * 60
_DAY = 24 * 60 * 60
#: How far back ``buckets_for`` looks for the zone's offsets (a ledger rarely holds older calls;
#: a bucket that does not fit is caught anyway).
_LOOK_BACK = timedelta(days=3 * 366)

_Key = tuple[str, str, str, str | None]


def buckets_for(tz: tzinfo | None, moments: Iterable[datetime]) -> tuple[int, int]:
    """The longest buckets no local midnight falls inside, given the UTC offsets ``tz``
    (``None``: system local) has at ``moments``: (length, offset) for ``Ledger.aggregate``.

    A zone with one offset gets days of its own clock (UTC's, Kolkata's); one with several,
    buckets whose length divides a day and each offset (an hour for New York)."""
    offsets = {
        (to_local(moment, tz).utcoffset() or timedelta(0)) // timedelta(seconds=1) for moment in moments
    }
    if len(offsets) == 1:
        (offset,) = offsets
        if -_DAY < offset < _DAY:
            return _DAY, offset
    n = _DAY
    for offset in offsets:
        n = gcd(n, offset)
    return n, 0


def _around(query: RowQuery, now: datetime) -> list[datetime]:
    """Instants whose offsets stand for the report's: weekly over the last years, and its bounds."""
    weeks = int(_LOOK_BACK / timedelta(weeks=1))
    moments = [now - timedelta(weeks=w) for w in range(weeks + 1)]
    return moments + [bound for bound in (query.since, query.until) if bound is not None]


def _time_keys(
    buckets: list[Bucket], view: str, tz: tzinfo | None, first_day: int, n: int
) -> list[str] | None:
    """Each bucket's day, week or month, as ``build_report`` keys its calls; None when a bucket
    spans two local days (or a change of UTC offset), so its calls cannot be placed together."""
    last = timedelta(seconds=n) - timedelta(microseconds=1)
    cache: dict[datetime | None, str | None] = {}
    out = []
    for bucket in buckets:
        start = bucket.start
        if start in cache:
            key = cache[start]
        else:
            assert start is not None
            first, end = to_local(start, tz), to_local(start + last, tz)
            key = None
            if first.date() == end.date() and first.utcoffset() == end.utcoffset():
                if view == "daily":
                    key = first.date().isoformat()
                elif view == "weekly":
                    key = week_key(first.date(), first_day)
                else:
                    key = first.strftime("%Y-%m")
            cache[start] = key
        if key is None:
            return None
        out.append(key)
    return out


def _cost(bucket: Bucket, cost_mode: str) -> tuple[Decimal, int]:
    """The bucket's cost in ``cost_mode`` (exact sum of what is known) and its unpriced calls."""
    if cost_mode == "calculate":
        return bucket.cost_usd, bucket.unpriced_calls
    logged = bucket.logged
    assert logged is not None
    if cost_mode == "display" and bucket.source != "thrifty":
        return logged.cost_usd, bucket.calls - logged.calls
    return logged.cost_usd + logged.unlogged_cost_usd, logged.unlogged_unpriced_calls


def aggregated_report(
    ledger: Ledger,
    query: RowQuery,
    *,
    view: str,
    tz: tzinfo | None = None,
    modes: Iterable[str] = MODES,
    breakdown: bool = False,
    week_start: str = "monday",
    cost_mode: str = "auto",
    projects: frozenset[str] | None = None,
    now: datetime | None = None,
) -> Report | None:
    """The report ``build_report(view, rows, ...)`` makes from the rows matching ``query`` (kept
    only if their project is one of ``projects``; costs as ``apply_cost_mode(rows, cost_mode)``
    picks them); None when the calls cannot be placed on local days from the ledger's sums."""
    if cost_mode not in COST_MODES:
        raise ValueError(f"unknown cost mode {cost_mode!r}; expected one of {', '.join(COST_MODES)}")
    first_day = week_first_day(week_start)
    builder = ReportBuilder(view, modes=modes, breakdown=breakdown)
    session = view == "session"
    # The store sorts by these, in this order: the most distinct first sorts fastest.
    by = ["session_id", "project", "mode", "model"] if session else ["mode", "model"]
    if cost_mode == "display":
        by.append("source")
    queries = [query] if projects is None else [replace(query, project=p) for p in sorted(projects)]

    def fetch(n: int | None, offset: int = 0) -> list[Bucket]:
        logged = cost_mode != "calculate"
        return [
            bucket
            for q in queries
            for bucket in ledger.aggregate(
                q, by=by, bucket_seconds=n, bucket_offset=offset, times=session, logged=logged
            )
        ]

    keys: list[str] | None
    if view in TIME_VIEWS:
        n, offset = buckets_for(tz, _around(query, now or datetime.now(UTC)))
        buckets = fetch(n, offset)
        keys = _time_keys(buckets, view, tz, first_day, n)
        if keys is None and n > FINEST_BUCKET:  # an offset the guess missed
            buckets = fetch(FINEST_BUCKET, 0)
            keys = _time_keys(buckets, view, tz, first_day, FINEST_BUCKET)
        if keys is None:
            return None
    else:
        buckets = fetch(None)
        key_of: Callable[[Bucket], str | None] = (lambda b: b.session_id) if session else (lambda b: b.model)
        keys = [key_of(bucket) or "" for bucket in buckets]
    with localcontext(prec=MAX_PREC):  # exact, as build_report sums
        _fold(builder, buckets, keys, cost_mode)
    return builder.report()


class _Sums:
    """One report group's share of one model (and project): the sums of its buckets."""

    __slots__ = ("calls", "cost", "first_at", "last_at", "unpriced", "usage")

    def __init__(self) -> None:
        self.calls = self.unpriced = 0
        self.usage = Usage()
        self.cost = Decimal(0)
        self.first_at: datetime | None = None
        self.last_at: datetime | None = None

    def add(self, bucket: Bucket, cost: Decimal, unpriced: int) -> None:
        self.calls += bucket.calls
        self.usage += bucket.usage
        self.cost += cost
        self.unpriced += unpriced
        if bucket.first_at is not None and (self.first_at is None or bucket.first_at < self.first_at):
            self.first_at = bucket.first_at
        if bucket.last_at is not None and (self.last_at is None or bucket.last_at > self.last_at):
            self.last_at = bucket.last_at

    def sums(self) -> Sums:
        return (self.calls, self.usage, self.cost, self.unpriced)


def _fold(builder: ReportBuilder, buckets: list[Bucket], keys: list[str], cost_mode: str) -> None:
    """Merge the buckets of each (mode, key, model, project) first: a report has far fewer
    groups than the ledger has buckets, and adding to a report group is the slower step."""
    merged: dict[_Key, _Sums] = {}
    for bucket, key in zip(buckets, keys, strict=True):
        group = (bucket.mode or "", key, bucket.model or "", bucket.project)
        sums = merged.get(group)
        if sums is None:
            sums = merged[group] = _Sums()
        sums.add(bucket, *_cost(bucket, cost_mode))
    for (mode, key, model, project), sums in merged.items():
        builder.add_sums(mode, key, model, project, sums.sums(), sums.first_at, sums.last_at)
