"""What every ledger backend promises: the ``Ledger`` protocol, its sums and its one error.

It lives apart from the package's ``__init__`` so that the backends (and the SQL they share) can
import the contract without importing ``open_ledger``, which in turn imports the backends: the
package only re-exports these names, and the arrows run one way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import NamedTuple, Protocol

from thrifty.billing.ledger.rows import LedgerRow, RowQuery
from thrifty.core.usage import Usage

#: What ``Ledger.aggregate`` can group by (besides a time bucket).
GROUP_COLUMNS = ("mode", "model", "source", "session_id", "project", "account")
#: The tag holding the cost the calling tool logged for a call (Claude Code's ``costUSD``).
LOGGED_COST_TAG = "logged_cost_usd"


class LedgerError(RuntimeError):
    """The ledger cannot be opened or written (bad URL, missing driver, unreachable server)."""


class LedgerBusy(LedgerError):
    """Only inside a ledger's ``immediate()`` block: the statement would have had to wait (for
    another process's write lock, or for this connection in use on another thread). Nothing was
    written; run it again where waiting is allowed."""


def read_logged_cost(text: str | None) -> Decimal | None:
    """A ``logged_cost_usd`` tag as an exact amount; ``None`` when absent, unreadable or not finite."""
    if text is None:
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


class LoggedCosts(NamedTuple):
    """A group's logged costs (the ``logged_cost_usd`` tag, read by ``read_logged_cost``)."""

    #: Exact sum of the logged costs, and how many calls had one.
    cost_usd: Decimal
    calls: int
    #: Exact sum of the calculated costs of the calls *without* a logged cost, and how many of
    #: those had no calculated cost either: "logged, else calculated" is ``cost_usd`` plus this.
    unlogged_cost_usd: Decimal
    unlogged_unpriced_calls: int


class Bucket(NamedTuple):
    """The sums of one group of rows, as ``Ledger.aggregate`` returns them.

    A column the rows were not grouped by is ``None``; so is ``start`` without a time bucket,
    ``first_at``/``last_at`` without ``times`` and ``logged`` without ``logged``.
    """

    mode: str | None
    model: str | None
    source: str | None
    session_id: str | None
    project: str | None
    account: str | None
    #: The start of the time bucket, as a UTC instant.
    start: datetime | None
    calls: int
    input_tokens: int
    output_tokens: int
    cache_write_5m_tokens: int
    cache_write_1h_tokens: int
    cache_read_tokens: int
    #: Exact sum of the known calculated costs; ``unpriced_calls`` had none (``cost_usd`` None).
    cost_usd: Decimal
    unpriced_calls: int
    logged: LoggedCosts | None
    first_at: datetime | None
    last_at: datetime | None
    #: Summed server tool requests (last, with defaults, so positional builders of the older
    #: shape still work).
    web_search_requests: int = 0
    web_fetch_requests: int = 0

    @property
    def usage(self) -> Usage:
        """The group's summed counts as a ``Usage``."""
        return Usage(
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cache_read_tokens=self.cache_read_tokens,
            cache_write_5m_tokens=self.cache_write_5m_tokens,
            cache_write_1h_tokens=self.cache_write_1h_tokens,
            web_search_requests=self.web_search_requests,
            web_fetch_requests=self.web_fetch_requests,
        )


class Recorded(NamedTuple):
    """What ``Ledger.record_many`` changed: the request ids of the rows it added, and of those it
    replaced with a more complete copy (``rows.completeness``). Rows in neither were already held
    as complete or more, and changed nothing."""

    new: tuple[str, ...]
    upgraded: tuple[str, ...]


#: The kinds of scope a budget cap and a reservation name: ``mode:api``, ``project:payments``,
#: ``account:ANTHROPIC_API_KEY``, ``tag:team=infra`` (a row is in a tag scope when its tags map the
#: key to that value).
SCOPE_KINDS = ("mode", "project", "account", "tag")


def scope_parts(scope: str) -> tuple[str, str, str]:
    """``(kind, key, value)`` of a scope; ``key`` is empty except for a tag. ``ValueError`` if malformed."""
    kind, colon, rest = scope.partition(":")
    if not colon or kind not in SCOPE_KINDS or not rest:
        raise ValueError(f"scope must be one of {', '.join(k + ':...' for k in SCOPE_KINDS)}, got {scope!r}")
    if kind != "tag":
        return kind, "", rest
    key, eq, value = rest.partition("=")
    if not eq or not key or '"' in key or "\\" in key:
        raise ValueError(f"tag scope must be tag:KEY=VALUE (no quote or backslash in KEY), got {scope!r}")
    return kind, key, value


class CapCheck(NamedTuple):
    """One cap ``Ledger.reserve`` checks: known spend of ``scope`` since ``since``, plus its live
    reservations, plus the new amount, must stay within ``cap``."""

    scope: str
    since: datetime
    cap: Decimal
    #: What the caller calls this cap (e.g. ``"daily"``); echoed back in a ``Refusal``.
    name: str = ""


class Reservation(NamedTuple):
    """An amount held against every scope of a call in flight until it is settled, released or expires."""

    id: str
    amount: Decimal
    expires_at: datetime


class Refusal(NamedTuple):
    """Why ``Ledger.reserve`` held nothing: the first cap the amount would pass, and what it found."""

    check: CapCheck
    #: Known cost of the scope's calls since ``check.since``.
    spent: Decimal
    #: Live reservations of other calls in flight in the scope.
    reserved: Decimal


class ScopeSpend(NamedTuple):
    spent: Decimal
    reserved: Decimal


class Ledger(Protocol):
    #: Where the ledger lives, for display: a file path or a URL with any password masked.
    location: str

    def append(self, row: LedgerRow, *, settle: str | None = None) -> bool:
        """Commit one row durably before returning: True if it was written, new or replacing a
        less complete copy of its call (``rows.completeness``); False when the ledger already
        held its request_id at least as complete (then nothing changed).

        ``settle``: a reservation (``reserve``) this row's call was made under, deleted in the
        same transaction, so the call is counted once at every instant: held, then recorded."""
        ...

    def append_many(self, rows: Iterable[LedgerRow]) -> int:
        """``record_many``, counting the rows written (new plus upgraded)."""
        ...

    def record_many(self, rows: Iterable[LedgerRow]) -> Recorded:
        """Commit rows in one transaction, each as ``append`` would (of several rows for one
        request_id, the most complete, the first on a tie); which were new and which replaced
        a less complete copy."""
        ...

    def query(self, q: RowQuery) -> list[LedgerRow]:
        """Matching rows, oldest first (by recorded_at, then request_id)."""
        ...

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
        """The rows matching ``q``, grouped by the ``by`` columns (``GROUP_COLUMNS``) and, with
        ``bucket_seconds``, by time buckets of that length: counted from the epoch on a clock
        ``bucket_offset`` seconds ahead of UTC (so with 86400 and 19800 a bucket is a day in
        +05:30). One ``Bucket`` per non-empty group, in no particular order; cost sums are exact.

        ``times`` adds each group's first and last ``recorded_at``; ``logged`` its logged costs.
        Both cost the store work, so a report asks only for what it shows.
        """
        ...

    def spend(self, *, mode: str, since: datetime, until: datetime | None = None) -> Decimal:
        """Sum of known costs of ``mode`` rows in [since, until); unknown (None) costs add nothing."""
        ...

    def latest_rate_limits(self, account: str) -> tuple[datetime, dict[str, str]] | None:
        """The newest row of ``account`` that carried plan-window headers, with when it was seen."""
        ...

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
        """Atomically, against every other writer of the store: for each check, the scope's known
        spend since ``check.since`` plus its live (unexpired at ``now``) reservations; if none is
        at its cap nor would pass it by ``amount``, hold ``amount`` against every one of ``scopes``
        until ``now + ttl`` and return the ``Reservation``, else the first ``Refusal``.

        ``replaces``: a reservation of the caller's, released in the same transaction whatever the
        answer. An ``amount`` of 0 only checks (it holds nothing, and its id is empty). The hold
        need not be durable: a crash loses it and its call with it."""
        ...

    def release(self, reservation_id: str) -> None:
        """Drop a reservation whose call will not be recorded (it failed, or never went out)."""
        ...

    def scope_spend(self, scope: str, *, since: datetime, now: datetime) -> ScopeSpend:
        """Known spend of ``scope`` since ``since``, and its reservations live at ``now``."""
        ...

    def close(self) -> None: ...
