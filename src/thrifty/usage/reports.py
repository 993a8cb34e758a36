"""Ledger rows grouped into the four usage views: daily, monthly, session and model.

Pure functions over ``list[LedgerRow]`` so the arithmetic is tested without a database. Two
rules shape every view:

- billing modes never share a row or a total: ``plan`` costs are API-equivalent estimates of a
  flat fee, and adding them to ``api`` dollars would invent a bill nobody received;
- an unknown price (``cost_usd is None``) is never read as zero: a group keeps the sum of the
  costs it knows and counts the calls it could not price, so a reader sees "at least $x".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from decimal import Decimal

from thrifty.billing.ledger.rows import MODES, LedgerRow
from thrifty.usage.filters import to_local

__all__ = ["VIEWS", "Report", "ReportRow", "build_report", "filter_projects"]

VIEWS = ("daily", "monthly", "session", "model")


@dataclass(frozen=True)
class ReportRow:
    #: The group: ``YYYY-MM-DD``, ``YYYY-MM``, a session id, a model id, or ``total``.
    key: str
    mode: str
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    #: 5-minute and 1-hour cache writes together: both are input written to the cache.
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    #: The sum of the costs that are known; see ``cost_complete``.
    cost_usd: Decimal = Decimal(0)
    #: Calls whose model had no known price; their cost is missing from ``cost_usd``.
    unpriced_calls: int = 0
    models: tuple[str, ...] = ()
    #: Session view only (and its totals): where and when the session ran.
    project: str | None = None
    first_at: datetime | None = None
    last_at: datetime | None = None

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_write_tokens + self.cache_read_tokens

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
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    unpriced_calls: int = 0
    models: set[str] = field(default_factory=set)
    projects: set[str] = field(default_factory=set)
    first_at: datetime | None = None
    last_at: datetime | None = None

    def add(self, row: LedgerRow) -> None:
        self.calls += 1
        self.input_tokens += row.input_tokens
        self.output_tokens += row.output_tokens
        self.cache_write_tokens += row.cache_write_5m_tokens + row.cache_write_1h_tokens
        self.cache_read_tokens += row.cache_read_tokens
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

    def freeze(self, key: str, mode: str, *, with_session: bool) -> ReportRow:
        return ReportRow(
            key=key,
            mode=mode,
            calls=self.calls,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cache_write_tokens=self.cache_write_tokens,
            cache_read_tokens=self.cache_read_tokens,
            cost_usd=self.cost_usd,
            unpriced_calls=self.unpriced_calls,
            models=tuple(sorted(self.models)),
            # A session normally runs in one project; if not, say so instead of picking one.
            project=(", ".join(sorted(self.projects)) or None) if with_session else None,
            first_at=self.first_at if with_session else None,
            last_at=self.last_at if with_session else None,
        )


def _key_function(view: str, tz: tzinfo | None) -> Callable[[LedgerRow], str]:
    if view == "daily":
        return lambda row: to_local(row.recorded_at, tz).date().isoformat()
    if view == "monthly":
        return lambda row: to_local(row.recorded_at, tz).strftime("%Y-%m")
    if view == "session":
        return lambda row: row.session_id
    if view == "model":
        return lambda row: row.model
    raise ValueError(f"unknown view {view!r}; expected one of {', '.join(VIEWS)}")


def build_report(
    view: str, rows: Iterable[LedgerRow], *, tz: tzinfo | None = None, modes: Iterable[str] = MODES
) -> Report:
    """Group ``rows`` for ``view``; ``tz`` (``None``: system local) decides which day a call is on.

    ``modes`` lists the modes to report (and to total, even at zero); rows of other modes are
    left out, which is how ``--mode`` narrows a report without a second code path.
    """
    key_of = _key_function(view, tz)
    wanted = [mode for mode in MODES if mode in set(modes)]
    groups: dict[tuple[str, str], _Group] = {}
    totals = {mode: _Group() for mode in wanted}
    for row in rows:
        if row.mode not in totals:
            continue
        groups.setdefault((row.mode, key_of(row)), _Group()).add(row)
        totals[row.mode].add(row)
    with_session = view == "session"
    frozen = [group.freeze(key, mode, with_session=with_session) for (mode, key), group in groups.items()]

    def order(row: ReportRow) -> tuple[int, datetime | str, str]:
        natural: datetime | str = row.first_at if with_session and row.first_at else row.key
        return (MODES.index(row.mode), natural, row.key)

    return Report(
        view=view,
        rows=sorted(frozen, key=order),
        totals={
            mode: replace(group.freeze("total", mode, with_session=with_session), project=None)
            for mode, group in totals.items()
        },
    )


def filter_projects(rows: Iterable[LedgerRow], projects: frozenset[str] | None) -> list[LedgerRow]:
    """Keep rows whose project is one of ``projects`` (``None``: keep all)."""
    return [row for row in rows if projects is None or row.project in projects]
