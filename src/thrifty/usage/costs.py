"""Which cost a report shows for a call, and the calls whose logged and calculated costs disagree.

Every row has thrifty's *calculated* cost, ``cost_usd``: the price table's rates applied to the
row's tokens when the row was recorded or imported (``None`` for a model with no known price).
Some rows also have a *logged* cost, the one the tool that made the call wrote down:

- Claude Code rows whose transcript carried a ``costUSD`` keep it in the ``logged_cost_usd`` tag;
- thrifty's own rows: thrifty logged ``cost_usd`` itself, at the time of the call.

The three cost modes are ccusage's:

- ``auto`` (default): the logged cost where there is one, else the calculated one;
- ``calculate``: always the calculated cost;
- ``display``: only logged costs. ccusage shows 0 for a call without one; thrifty keeps its rule
  that an unknown cost is never zero, so such a call adds nothing to the sum *and* counts as
  unpriced: the total reads "≥ $x", where $x is ccusage's figure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal

from thrifty.billing.ledger import LOGGED_COST_TAG, LedgerRow, read_logged_cost

__all__ = [
    "COST_MODES",
    "DEFAULT_TOLERANCE",
    "LOGGED_COST_TAG",
    "Mismatch",
    "MismatchReport",
    "apply_cost_mode",
    "cost_in_mode",
    "find_mismatches",
    "logged_cost",
]

COST_MODES = ("auto", "calculate", "display")
#: Absolute difference in USD above which a logged and a calculated cost disagree.
DEFAULT_TOLERANCE = Decimal("0.001")


def _tag_cost(row: LedgerRow) -> Decimal | None:
    # The ledger reads the tag the same way when it sums logged costs itself (``aggregate``).
    return read_logged_cost(row.tags.get(LOGGED_COST_TAG))


def logged_cost(row: LedgerRow) -> Decimal | None:
    """The cost the calling tool wrote down, or ``None`` when it wrote none (or an unreadable one)."""
    tagged = _tag_cost(row)
    if tagged is not None:
        return tagged
    return row.cost_usd if row.source == "thrifty" else None


def cost_in_mode(row: LedgerRow, mode: str) -> Decimal | None:
    if mode == "calculate":
        return row.cost_usd
    logged = logged_cost(row)
    if mode == "display":
        return logged
    if mode == "auto":
        return logged if logged is not None else row.cost_usd
    raise ValueError(f"unknown cost mode {mode!r}; expected one of {', '.join(COST_MODES)}")


def apply_cost_mode(rows: Iterable[LedgerRow], mode: str) -> list[LedgerRow]:
    """The rows with ``cost_usd`` replaced by the cost ``mode`` picks, so every report reads it alike."""
    if mode not in COST_MODES:
        raise ValueError(f"unknown cost mode {mode!r}; expected one of {', '.join(COST_MODES)}")
    out = []
    for row in rows:
        cost = cost_in_mode(row, mode)
        out.append(row if cost is row.cost_usd else replace(row, cost_usd=cost))
    return out


@dataclass(frozen=True)
class Mismatch:
    row: LedgerRow
    logged: Decimal
    calculated: Decimal

    @property
    def difference(self) -> Decimal:
        """Logged minus calculated: positive when the tool logged more than the price table gives."""
        return self.logged - self.calculated


@dataclass(frozen=True)
class MismatchReport:
    tolerance: Decimal
    #: Rows with both a tagged logged cost and a calculated one.
    compared: int
    #: Rows with a logged cost but no calculated one (a model the price table does not know).
    not_comparable: int
    #: Sums over the compared rows.
    logged_total: Decimal
    calculated_total: Decimal
    #: Oldest first.
    mismatches: list[Mismatch]


def find_mismatches(rows: Iterable[LedgerRow], tolerance: Decimal = DEFAULT_TOLERANCE) -> MismatchReport:
    """Rows whose logged cost (the ``logged_cost_usd`` tag) and calculated cost differ by more
    than ``tolerance`` USD. thrifty's own untagged rows are not compared: their logged cost *is*
    the calculated one."""
    if not tolerance.is_finite() or tolerance < 0:
        raise ValueError("the tolerance must be a non-negative amount in USD")
    compared = not_comparable = 0
    logged_total = calculated_total = Decimal(0)
    found = []
    for row in sorted(rows, key=lambda r: (r.recorded_at, r.request_id)):
        logged = _tag_cost(row)
        if logged is None:
            continue
        if row.cost_usd is None:
            not_comparable += 1
            continue
        compared += 1
        logged_total += logged
        calculated_total += row.cost_usd
        if abs(logged - row.cost_usd) > tolerance:
            found.append(Mismatch(row, logged, row.cost_usd))
    return MismatchReport(tolerance, compared, not_comparable, logged_total, calculated_total, found)
