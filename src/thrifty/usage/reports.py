"""Ledger rows grouped into the usage views: daily, weekly, monthly, session and model.

Pure functions over ``list[LedgerRow]`` so the arithmetic is tested without a database. Two
rules shape every view:

- billing modes never share a row or a total: ``plan`` costs are API-equivalent estimates of a
  flat fee, and adding them to ``api`` dollars would invent a bill nobody received;
- an unknown price (``cost_usd is None``) is never read as zero: a group keeps the sum of the
  costs it knows and counts the calls it could not price, so a reader sees "at least $x".

With ``breakdown=True`` every group (and every total) also carries one row per model, with the
same sums, so ``--breakdown`` shows which model the tokens and dollars went to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, tzinfo
from decimal import MAX_PREC, Decimal, localcontext

from thrifty.billing.ledger.rows import MODES, LedgerRow
from thrifty.core.usage import Usage
from thrifty.usage.filters import to_local

__all__ = [
    "VIEWS",
    "WEEK_STARTS",
    "Report",
    "ReportBuilder",
    "ReportRow",
    "build_report",
    "filter_projects",
    "summarize",
]

VIEWS = ("daily", "weekly", "monthly", "session", "model")
#: ``--start-of-week`` values, in ``date.weekday()`` order.
WEEK_STARTS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: A group of calls already summed: (calls, their summed usage, known cost, unpriced calls).
Sums = tuple[int, Usage, Decimal, int]


@dataclass(frozen=True)
class ReportRow:
    #: The group: ``YYYY-MM-DD`` (a day, or the first day of a week), ``YYYY-MM``, a session id,
    #: a model id, or ``total``.
    key: str
    mode: str
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    #: 5-minute and 1-hour cache writes together: both are input written to the cache.
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    #: Server tool uses: each web search is billed per search (its fee is in ``cost_usd``).
    web_search_requests: int = 0
    web_fetch_requests: int = 0
    #: The sum of the costs that are known; see ``cost_complete``.
    cost_usd: Decimal = Decimal(0)
    #: Calls whose model had no known price; their cost is missing from ``cost_usd``.
    unpriced_calls: int = 0
    models: tuple[str, ...] = ()
    #: Session view only (and its totals): where and when the session ran.
    project: str | None = None
    first_at: datetime | None = None
    last_at: datetime | None = None
    #: With ``breakdown=True``: the same sums per model (``key`` is the model id), sorted by model.
    breakdown: tuple[ReportRow, ...] = ()

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_write_tokens + self.cache_read_tokens

    @property
    def weighted_tokens(self) -> int:
        """What plan windows meter: input + cache writes + output; cache reads are free."""
        return self.input_tokens + self.cache_write_tokens + self.output_tokens

    @property
    def cost_complete(self) -> bool:
        return self.unpriced_calls == 0

    @property
    def cost_known(self) -> bool:
        """False when no call of the group had a price, so even a lower bound would mislead."""
        return self.calls == 0 or self.unpriced_calls < self.calls


@dataclass(frozen=True)
class Report:
    view: str
    #: Ordered by mode (``MODES`` order), then by the view's natural order.
    rows: list[ReportRow]
    #: One total per mode asked for, present even when the mode has no calls.
    totals: dict[str, ReportRow]

    def rows_of(self, mode: str) -> list[ReportRow]:
        return [row for row in self.rows if row.mode == mode]


@dataclass
class _Group:
    """Running sums for one (key, mode); frozen into a ``ReportRow`` at the end."""

    calls: int = 0
    usage: Usage = field(default_factory=Usage)
    cost_usd: Decimal = Decimal(0)
    unpriced_calls: int = 0
    models: set[str] = field(default_factory=set)
    projects: set[str] = field(default_factory=set)
    first_at: datetime | None = None
    last_at: datetime | None = None
    #: Per-model sub-groups, kept only when a breakdown was asked for.
    by_model: dict[str, _Group] | None = None

    def add(self, row: LedgerRow, usage: Usage | None = None) -> None:
        """Count ``row``; ``usage`` is its ``row.usage`` when the caller already has it."""
        if usage is None:
            usage = row.usage
        if self.by_model is not None:
            self.by_model.setdefault(row.model, _Group()).add(row, usage)
        self.calls += 1
        self.usage += usage
        if row.cost_usd is None:
            self.unpriced_calls += 1
        else:
            self.cost_usd += row.cost_usd
        self.models.add(row.model)
        self.projects.add(row.project)
        if self.first_at is None or row.recorded_at < self.first_at:
            self.first_at = row.recorded_at
        if self.last_at is None or row.recorded_at > self.last_at:
            self.last_at = row.recorded_at

    def add_sums(
        self,
        model: str,
        project: str | None,
        sums: Sums,
        first_at: datetime | None = None,
        last_at: datetime | None = None,
    ) -> None:
        """Add a group of ``model``'s calls already summed: (calls, their summed usage, known
        cost, unpriced calls); ``project`` is None when not known."""
        if self.by_model is not None:
            self.by_model.setdefault(model, _Group()).add_sums(model, project, sums, first_at, last_at)
        calls, usage, cost, unpriced = sums
        self.calls += calls
        self.usage += usage
        self.cost_usd += cost
        self.unpriced_calls += unpriced
        self.models.add(model)
        if project is not None:
            self.projects.add(project)
        if first_at is not None and (self.first_at is None or first_at < self.first_at):
            self.first_at = first_at
        if last_at is not None and (self.last_at is None or last_at > self.last_at):
            self.last_at = last_at

    def freeze(self, key: str, mode: str, *, with_session: bool) -> ReportRow:
        return ReportRow(
            key=key,
            mode=mode,
            calls=self.calls,
            input_tokens=self.usage.input_tokens,
            output_tokens=self.usage.output_tokens,
            cache_write_tokens=self.usage.cache_write_tokens,
            cache_read_tokens=self.usage.cache_read_tokens,
            web_search_requests=self.usage.web_search_requests,
            web_fetch_requests=self.usage.web_fetch_requests,
            cost_usd=self.cost_usd,
            unpriced_calls=self.unpriced_calls,
            models=tuple(sorted(self.models)),
            # A session normally runs in one project; if not, say so instead of picking one.
            project=(", ".join(sorted(self.projects)) or None) if with_session else None,
            first_at=self.first_at if with_session else None,
            last_at=self.last_at if with_session else None,
            breakdown=tuple(
                sub.freeze(model, mode, with_session=False) for model, sub in sorted(self.by_model.items())
            )
            if self.by_model is not None
            else (),
        )


def summarize(
    rows: Iterable[LedgerRow], *, key: str, mode: str, breakdown: bool = False, with_times: bool = False
) -> ReportRow:
    """One ``ReportRow`` with the sums of ``rows`` (all assumed to be of ``mode``).

    ``with_times`` keeps the first and last call times and the project(s), as the session view does.
    """
    group = _Group(by_model={} if breakdown else None)
    with localcontext(prec=MAX_PREC):
        for row in rows:
            group.add(row)
    return group.freeze(key, mode, with_session=with_times)


def week_start_of(moment: datetime, tz: tzinfo | None, first_day: int = 0) -> str:
    """The local date (``YYYY-MM-DD``) of the first day of the week ``moment`` falls in.

    ``first_day`` is a ``date.weekday()`` number: 0 for weeks starting Monday, 6 for Sunday.
    """
    return week_key(to_local(moment, tz).date(), first_day)


def week_key(day: date, first_day: int = 0) -> str:
    """The first day (``YYYY-MM-DD``) of the week ``day`` is in."""
    return (day - timedelta(days=(day.weekday() - first_day) % 7)).isoformat()


def _key_function(view: str, tz: tzinfo | None, first_day: int) -> Callable[[LedgerRow], str]:
    if view == "daily":
        return lambda row: to_local(row.recorded_at, tz).date().isoformat()
    if view == "weekly":
        return lambda row: week_start_of(row.recorded_at, tz, first_day)
    if view == "monthly":
        return lambda row: to_local(row.recorded_at, tz).strftime("%Y-%m")
    if view == "session":
        return lambda row: row.session_id
    if view == "model":
        return lambda row: row.model
    raise ValueError(f"unknown view {view!r}; expected one of {', '.join(VIEWS)}")


def build_report(
    view: str,
    rows: Iterable[LedgerRow],
    *,
    tz: tzinfo | None = None,
    modes: Iterable[str] = MODES,
    breakdown: bool = False,
    week_start: str = "monday",
) -> Report:
    """Group ``rows`` for ``view``; ``tz`` (``None``: system local) decides which day a call is on.

    ``modes`` lists the modes to report (and to total, even at zero); rows of other modes are
    left out, which is how ``--mode`` narrows a report without a second code path.
    ``breakdown`` adds per-model rows to every group and total; ``week_start`` (a day name,
    ``WEEK_STARTS``) is the first day of a week in the weekly view.
    """
    key_of = _key_function(view, tz, week_first_day(week_start))
    builder = ReportBuilder(view, modes=modes, breakdown=breakdown)
    with localcontext(prec=MAX_PREC):  # sums stay exact past Decimal's default 28 digits
        for row in rows:
            builder.add_row(key_of, row)
    return builder.report()


def week_first_day(week_start: str) -> int:
    """``--start-of-week`` as a ``date.weekday()`` number."""
    if week_start not in WEEK_STARTS:
        raise ValueError(f"unknown week start {week_start!r}; expected one of {', '.join(WEEK_STARTS)}")
    return WEEK_STARTS.index(week_start)


class ReportBuilder:
    """The groups of one report as they fill, from rows (``build_report``) or from sums the
    ledger took (``thrifty.usage.aggregate``): both end in the same ``Report``. Add under an
    exact Decimal context (``MAX_PREC``), as ``build_report`` does."""

    def __init__(self, view: str, *, modes: Iterable[str] = MODES, breakdown: bool = False) -> None:
        if view not in VIEWS:
            raise ValueError(f"unknown view {view!r}; expected one of {', '.join(VIEWS)}")
        self.view = view
        self.breakdown = breakdown
        self.groups: dict[tuple[str, str], _Group] = {}
        wanted = set(modes)
        self.totals = {mode: self._new() for mode in MODES if mode in wanted}

    def _new(self) -> _Group:
        return _Group(by_model={} if self.breakdown else None)

    def _group(self, mode: str, key: str) -> _Group:
        group = self.groups.get((mode, key))
        if group is None:
            group = self.groups[(mode, key)] = self._new()
        return group

    def add_row(self, key_of: Callable[[LedgerRow], str], row: LedgerRow) -> None:
        total = self.totals.get(row.mode)
        if total is None:
            return
        usage = row.usage
        self._group(row.mode, key_of(row)).add(row, usage)
        total.add(row, usage)

    def add_sums(
        self,
        mode: str,
        key: str,
        model: str,
        project: str | None,
        sums: Sums,
        first_at: datetime | None = None,
        last_at: datetime | None = None,
    ) -> None:
        """Calls of ``mode`` and ``model`` in group ``key``, already summed (``_Group.add_sums``)."""
        total = self.totals.get(mode)
        if total is None:
            return
        self._group(mode, key).add_sums(model, project, sums, first_at, last_at)
        total.add_sums(model, project, sums, first_at, last_at)

    def report(self) -> Report:
        with_session = self.view == "session"
        frozen = [
            group.freeze(key, mode, with_session=with_session) for (mode, key), group in self.groups.items()
        ]

        def order(row: ReportRow) -> tuple[int, datetime | str, str]:
            natural: datetime | str = row.first_at if with_session and row.first_at else row.key
            return (MODES.index(row.mode), natural, row.key)

        return Report(
            view=self.view,
            rows=sorted(frozen, key=order),
            totals={
                mode: replace(group.freeze("total", mode, with_session=with_session), project=None)
                for mode, group in self.totals.items()
            },
        )


def filter_projects(rows: Iterable[LedgerRow], projects: frozenset[str] | None) -> list[LedgerRow]:
    """Keep rows whose project is one of ``projects`` (``None``: keep all)."""
    return [row for row in rows if projects is None or row.project in projects]
