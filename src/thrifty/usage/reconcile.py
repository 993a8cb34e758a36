"""The ledger against the organisation's bill, per UTC day, model and service tier.

Pure: the caller reads the ledger rows and the Admin API's report lines
(``thrifty.usage.admin_report``); this module sums each side per key and says, for each key,
whether the two agree within a tolerance:

- ``match``: tokens and cost agree within the tolerance;
- ``missing-locally``: the organisation was billed for more than the ledger holds (calls made
  outside thrifty, or never imported);
- ``over-counted``: the ledger holds more than the organisation was billed for;
- ``missing-remotely``: the ledger has usage the report has none of at all;
- ``unattributed``: a cost the report ties to no model and the ledger does not record (code
  execution); shown, never failing.

Web search fees are on the bill apart from the model's tokens, so they are compared apart: the
ledger's share of each row's cost that is server-tool fees goes to the day's ``(web_search)``
line, against the bill's ``web_search`` costs.

Only rows billed per token are on the organisation's bill: ``api`` rows are the ``standard``
tier and ``batch`` rows the ``batch`` tier; ``plan`` rows are left out (a subscription paid for
them). The ledger does not keep the service tier, so priority-tier usage shows up locally as
``standard`` (docs/reconcile.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation

from thrifty.billing.ledger import LedgerRow
from thrifty.usage.admin_report import CostLine, UsageLine

MATCH = "match"
MISSING_LOCALLY = "missing-locally"
OVER_COUNTED = "over-counted"
MISSING_REMOTELY = "missing-remotely"
UNATTRIBUTED = "unattributed"
STATUSES = (MATCH, MISSING_LOCALLY, OVER_COUNTED, MISSING_REMOTELY, UNATTRIBUTED)
TIER_OF_MODE = {"api": "standard", "batch": "batch"}
TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens")
DEFAULT_TOLERANCE = "1%"
#: The line of a day's web search fees, which the bill ties to no model.
WEB_SEARCH = "(web_search)"
NO_TIER = "-"
#: The server-tool fees in a ledger row's cost (``PriceTable.fees`` of its usage).
Fees = Callable[[LedgerRow], Decimal]
_TOLERANCE = re.compile(r"^\s*(\$?)\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(%?)\s*$")


class ToleranceError(ValueError):
    """A ``--tolerance`` that cannot be read."""


@dataclass(frozen=True)
class Tolerance:
    """How far the two sides may differ and still match: a share of the larger side (``2%``,
    applied to every token count and to the cost) or an amount of money (``0.05`` or ``$0.05``,
    applied to the cost; token counts must then agree exactly where a cost is unknown). ``0``
    means exact: every token count and the cost."""

    percent: Decimal | None = None
    usd: Decimal | None = None

    @classmethod
    def parse(cls, text: str) -> Tolerance:
        match = _TOLERANCE.match(text)
        if match is None or (match.group(1) and match.group(3)):
            raise ToleranceError(
                f"--tolerance: cannot read '{text}'; use a percentage (1%) or dollars (0.05)"
            )
        try:
            value = Decimal(match.group(2))
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            raise ToleranceError(f"--tolerance: cannot read '{text}'") from None
        if match.group(3) or value == 0:  # a bare 0 is "exact", whatever the unit
            if value > 100:
                raise ToleranceError("--tolerance: a percentage is at most 100%")
            return cls(percent=value)
        return cls(usd=value)

    def __str__(self) -> str:
        return f"{self.percent:f}%" if self.percent is not None else f"${self.usd:f}"

    def _close(self, local: Decimal, remote: Decimal) -> bool:
        assert self.percent is not None
        return abs(local - remote) <= self.percent / 100 * max(abs(local), abs(remote))

    def tokens_close(self, local: Totals, remote: Totals) -> bool:
        if self.percent is None:
            return all(getattr(local, f) == getattr(remote, f) for f in TOKEN_FIELDS)
        return all(self._close(Decimal(getattr(local, f)), Decimal(getattr(remote, f))) for f in TOKEN_FIELDS)

    def cost_close(self, local: Decimal, remote: Decimal) -> bool:
        if self.usd is not None:
            return abs(local - remote) <= self.usd
        return self._close(local, remote)


@dataclass(frozen=True)
class Totals:
    """One side's sums for a key. ``cost`` None: unknown (an unpriced call, or no cost line)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    cost: Decimal | None = Decimal(0)
    calls: int | None = None

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_write_tokens + self.cache_read_tokens

    def __add__(self, other: Totals) -> Totals:
        cost = None if self.cost is None or other.cost is None else self.cost + other.cost
        calls = None if self.calls is None or other.calls is None else self.calls + other.calls
        return Totals(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            cost,
            calls,
        )


@dataclass(frozen=True)
class Key:
    day: date
    model: str
    service_tier: str


@dataclass(frozen=True)
class Line:
    key: Key
    local: Totals | None
    remote: Totals | None
    status: str

    @property
    def failing(self) -> bool:
        return self.status not in (MATCH, UNATTRIBUTED)

    def difference(self) -> dict[str, int | Decimal | None]:
        return difference(self.local, self.remote)


def difference(local: Totals | None, remote: Totals | None) -> dict[str, int | Decimal | None]:
    """Local minus remote, per token kind and for the cost (None when either cost is unknown)."""
    mine, theirs = local or Totals(calls=0), remote or Totals()
    out: dict[str, int | Decimal | None] = {f: getattr(mine, f) - getattr(theirs, f) for f in TOKEN_FIELDS}
    out["cost"] = None if mine.cost is None or theirs.cost is None else mine.cost - theirs.cost
    return out


@dataclass(frozen=True)
class Reconciliation:
    lines: list[Line]
    tolerance: Tolerance
    local_total: Totals = field(default_factory=Totals)
    remote_total: Totals = field(default_factory=Totals)

    @property
    def within_tolerance(self) -> bool:
        return not any(line.failing for line in self.lines)

    def counts(self) -> dict[str, int]:
        return {status: sum(1 for line in self.lines if line.status == status) for status in STATUSES}


def _add(out: dict[Key, Totals], key: Key, one: Totals) -> None:
    out[key] = out[key] + one if key in out else one


def local_totals(rows: Iterable[LedgerRow], fees: Fees | None = None) -> dict[Key, Totals]:
    """The ledger's calls that are on the organisation's bill, summed per UTC day, model and tier.

    ``fees`` says what part of a row's cost is server-tool fees (web searches): the bill shows
    them apart from the model's tokens, so they are moved to the day's ``(web_search)`` line."""
    out: dict[Key, Totals] = {}
    for row in rows:
        tier = TIER_OF_MODE.get(row.mode)
        if tier is None:
            continue
        fee = fees(row) if fees is not None else Decimal(0)
        cost = None if row.cost_usd is None else row.cost_usd - fee
        one = Totals(
            row.input_tokens,
            row.output_tokens,
            row.cache_write_5m_tokens + row.cache_write_1h_tokens,
            row.cache_read_tokens,
            cost,
            1,
        )
        _add(out, Key(row.recorded_at.date(), row.model, tier), one)
        if fee:
            _add(out, Key(row.recorded_at.date(), WEB_SEARCH, NO_TIER), Totals(cost=fee, calls=1))
    return out


def remote_totals(
    usage: Iterable[UsageLine], costs: Iterable[CostLine]
) -> tuple[dict[Key, Totals], list[Line]]:
    """The report's tokens and token costs per key, and the costs it ties to no model."""
    money: dict[Key, Decimal] = {}
    loose: dict[tuple[date, str], Decimal] = {}
    for cost in costs:
        if cost.model and cost.service_tier and cost.cost_type in (None, "tokens"):
            key = Key(cost.day, cost.model, cost.service_tier)
            money[key] = money.get(key, Decimal(0)) + cost.usd
        elif cost.cost_type == "web_search":
            key = Key(cost.day, WEB_SEARCH, NO_TIER)
            money[key] = money.get(key, Decimal(0)) + cost.usd
        else:
            what = cost.cost_type or "other"
            loose[(cost.day, what)] = loose.get((cost.day, what), Decimal(0)) + cost.usd
    out: dict[Key, Totals] = {}
    for line in usage:
        key = Key(line.day, line.model, line.service_tier)
        one = Totals(
            line.input_tokens, line.output_tokens, line.cache_write_tokens, line.cache_read_tokens, None
        )
        if key in out:
            one = out[key] + one
        out[key] = one
    for key in out:
        # The cost report leaves out priority-tier usage: its cost stays unknown.
        out[key] = replace(out[key], cost=money.get(key))
    for key, usd in money.items():
        if key not in out:  # a cost with no usage row: still on the bill
            out[key] = Totals(cost=usd)
    extra = [
        Line(Key(day, f"({what})", NO_TIER), None, Totals(cost=usd), UNATTRIBUTED)
        for (day, what), usd in sorted(loose.items())
    ]
    return out, extra


def _empty(totals: Totals | None) -> bool:
    return totals is None or (totals.total_tokens == 0 and not totals.cost)


def status_of(local: Totals | None, remote: Totals | None, tolerance: Tolerance) -> str:
    if _empty(remote):
        return MATCH if _empty(local) else MISSING_REMOTELY
    if local is None or _empty(local):
        return MISSING_LOCALLY
    assert remote is not None
    mine, theirs = local.cost, remote.cost
    if mine is not None and theirs is not None:
        if tolerance.usd is not None:
            close = tolerance.cost_close(mine, theirs)
        else:
            close = tolerance.tokens_close(local, remote) and tolerance.cost_close(mine, theirs)
        if close:
            return MATCH
        if mine != theirs:
            return OVER_COUNTED if mine > theirs else MISSING_LOCALLY
    elif tolerance.tokens_close(local, remote):
        return MATCH
    return OVER_COUNTED if local.total_tokens > remote.total_tokens else MISSING_LOCALLY


def reconcile(
    rows: Iterable[LedgerRow],
    usage: Iterable[UsageLine],
    costs: Iterable[CostLine],
    tolerance: Tolerance,
    fees: Fees | None = None,
) -> Reconciliation:
    local = local_totals(rows, fees)
    remote, extra = remote_totals(usage, costs)
    lines = []
    for key in sorted(set(local) | set(remote), key=lambda k: (k.day, k.model, k.service_tier)):
        mine, theirs = local.get(key), remote.get(key)
        lines.append(Line(key, mine, theirs, status_of(mine, theirs, tolerance)))
    lines.extend(extra)
    local_total = sum(local.values(), Totals(calls=0))
    billed_rows = sum(t.calls or 0 for k, t in local.items() if k.service_tier != NO_TIER)
    local_total = replace(local_total, calls=billed_rows)
    remote_total = sum((line.remote for line in lines if line.remote is not None), Totals())
    return Reconciliation(
        sorted(
            lines,
            key=lambda ln: (
                ln.key.day,
                ln.key.service_tier == NO_TIER,
                ln.status == UNATTRIBUTED,
                ln.key.model,
                ln.key.service_tier,
            ),
        ),
        tolerance,
        local_total,
        remote_total,
    )
