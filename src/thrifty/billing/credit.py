"""The monthly Agent SDK credit: how much of it this billing cycle's headless plan usage has drawn.

From June 15, 2026, Agent SDK and ``claude -p`` usage on a Claude plan no longer counts toward
the plan's 5-hour and weekly windows (those stay for interactive use). It draws a separate
monthly credit at standard API rates, per user, claimed once in the Claude account, refreshed at
the start of each billing cycle, never rolled over, drained first. Past it, usage goes to usage
credits at API rates if the user enabled them; otherwise Agent SDK requests stop until the
refresh. Source: https://support.claude.com/en/articles/15036540-use-the-claude-agent-sdk-with-your-claude-plan
(checked 2026-12-06).

What draws the credit here: ledger rows of mode ``plan`` that are automated
(``LedgerRow.automated``: thrifty's own runs, Claude Code's ``sdk-*`` entry
points), recorded on or after max(2026-06-15, the cycle's start). A row's ``cost_usd`` is its
API-equivalent cost, which is what the credit is drawn at; a row without a known price is counted
apart, and the used amount then reads "at least".

Entry points: ``credit_state(ledger, settings, now).describe()`` for ``thrifty status``;
``check_credit(state, settings.stop_at, next_cost)`` (or ``BudgetGuard(credit=...)``) for a run.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date, datetime, time, tzinfo
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from thrifty.billing.ledger.contract import Ledger
from thrifty.billing.ledger.rows import RowQuery
from thrifty.billing.plan_settings import PlanSettings, stop_fraction

__all__ = [
    "ARTICLE",
    "CREDIT_START",
    "CreditState",
    "check_credit",
    "credit_start",
    "credit_state",
    "cycle_bounds",
    "cycle_start_on",
    "short_date",
]

#: The day Agent SDK usage stopped counting toward plan windows and started drawing the credit.
CREDIT_START = date(2026, 6, 15)
ARTICLE = "https://support.claude.com/en/articles/15036540-use-the-claude-agent-sdk-with-your-claude-plan"
CENT = Decimal("0.01")


def _money(amount: Decimal) -> str:
    return f"${amount.quantize(CENT, rounding=ROUND_HALF_UP):,}"


def short_date(day: date) -> str:
    """``Dec 14`` (``Dec 14 2027`` would be ambiguous only across years, which a cycle never spans)."""
    return f"{calendar.month_abbr[day.month]} {day.day}"


def _anchor(year: int, month: int, day: int) -> date:
    """The cycle day in that month, clamped to the month's last day (the 31st in April is the 30th)."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _shift(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def cycle_start_on(day: date, cycle_day: int) -> tuple[date, date]:
    """The billing cycle holding local date ``day``: ``(start, next_refresh)``."""
    this = _anchor(day.year, day.month, cycle_day)
    if day >= this:
        return this, _anchor(*_shift(day.year, day.month, 1), cycle_day)
    return _anchor(*_shift(day.year, day.month, -1), cycle_day), this


def cycle_bounds(settings: PlanSettings, now: datetime, tz: tzinfo | None = None) -> tuple[date, date]:
    """``(start, next_refresh)`` of the cycle ``now`` is in, as local dates (``tz`` None: system zone).

    The cycle starts on ``settings.billing_cycle_day``; in a month without that day (the 29th-31st),
    on the month's last day.
    """
    return cycle_start_on(now.astimezone(tz).date(), settings.billing_cycle_day)


def _midnight(day: date, tz: tzinfo | None) -> datetime:
    naive = datetime.combine(day, time())
    return naive.astimezone() if tz is None else naive.replace(tzinfo=tz)


def credit_start(tz: tzinfo | None = None) -> datetime:
    """``CREDIT_START`` as an instant: local midnight (``tz`` None: the system's zone)."""
    return _midnight(CREDIT_START, tz)


@dataclass(frozen=True)
class CreditState:
    """One billing cycle's Agent SDK credit. Money is the API-equivalent at list prices."""

    plan_label: str
    #: The monthly credit; ``None`` when the plan has none (not eligible, or unknown).
    credit: Decimal | None
    #: Known cost drawn this cycle (headless plan usage since max(cycle start, 2026-06-15)).
    used: Decimal
    #: Calls counted in ``used`` and calls with no known price (so ``used`` is "at least").
    calls: int
    unpriced_calls: int
    cycle_start: date
    refreshes_on: date
    claimed: bool
    usage_credits: bool

    @property
    def remaining(self) -> Decimal:
        """What is left of the credit (at most this, when some costs are unknown); 0 once spent."""
        return max((self.credit or Decimal(0)) - self.used, Decimal(0))

    @property
    def overage_used(self) -> Decimal:
        """Known usage past the credit: drawn from usage credits at API rates (or refused)."""
        return max(self.used - (self.credit or Decimal(0)), Decimal(0))

    @property
    def percent_remaining(self) -> int:
        """Whole percent of the credit left, rounded down so it never promises more than there is."""
        if not self.credit:
            return 0
        return int((self.remaining * 100 / self.credit).to_integral_value(rounding=ROUND_FLOOR))

    @property
    def spent(self) -> bool:
        return self.credit is not None and self.used >= self.credit

    def with_spend(self, extra: Decimal) -> CreditState:
        """The state with ``extra`` more used (a run's own spend not yet in the ledger)."""
        return replace(self, used=self.used + extra)

    def describe(self) -> str:
        """Lines for ``thrifty status``; the first is the one-line summary."""
        refresh = short_date(self.refreshes_on)
        if self.credit is None:
            return (
                f"{self.plan_label} has no monthly Agent SDK credit (not eligible, or unknown to "
                "thrifty): headless plan usage goes to usage credits at API rates if enabled, "
                f"otherwise Anthropic stops it ({ARTICLE})"
            )
        if not self.claimed:
            return (
                f"Your monthly Agent SDK credit ({_money(self.credit)}, {self.plan_label}) is not claimed: "
                "Anthropic refuses headless plan runs (Agent SDK, claude -p, thrifty on your plan) until "
                "you claim it once in your Claude account settings (see "
                f"{ARTICLE}), then run `thrifty login --credit-claimed`"
            )
        lower = self.unpriced_calls > 0
        at_most = "at most " if lower else ""
        lines = [
            f"{at_most}{self.percent_remaining}% of your monthly Agent SDK credit remaining "
            f"({at_most}{_money(self.remaining)} of {_money(self.credit)}, refreshes on {refresh})"
        ]
        if lower:
            n = self.unpriced_calls
            lines.append(
                f"at least {_money(self.used)} used this cycle: {n:,} call{'s' if n != 1 else ''} "
                "with no known price not counted"
            )
        if self.spent:
            if self.usage_credits:
                least = "at least " if lower else ""
                lines.append(
                    f"Agent SDK credit spent: {least}{_money(self.overage_used)} past it "
                    f"drawn from usage credits at API rates since {short_date(self.cycle_start)}"
                )
            else:
                lines.append(
                    "Agent SDK credit spent and usage credits are off: Anthropic stops Agent SDK requests "
                    f"until the credit refreshes on {refresh}"
                )
        return "\n".join(lines)


def credit_state(
    ledger: Ledger, settings: PlanSettings, now: datetime, tz: tzinfo | None = None
) -> CreditState:
    """The credit drawn in the cycle holding ``now``, from the ledger's headless plan rows."""
    start, refresh = cycle_bounds(settings, now, tz)
    since = max(_midnight(start, tz), credit_start(tz))
    until = _midnight(refresh, tz)
    used = Decimal(0)
    calls = unpriced = 0
    if since < until:
        for row in ledger.query(RowQuery(since=since, until=until, mode="plan")):
            if not row.automated:
                continue
            if row.cost_usd is None:
                unpriced += 1
            else:
                calls += 1
                used += row.cost_usd
    plan = settings.definition
    return CreditState(
        plan_label=plan.label,
        credit=plan.sdk_credit_usd,
        used=used,
        calls=calls,
        unpriced_calls=unpriced,
        cycle_start=start,
        refreshes_on=refresh,
        claimed=settings.claimed,
        usage_credits=settings.usage_credits,
    )


def check_credit(state: CreditState, stop_at: str, next_cost: Decimal | None = None) -> str | None:
    """The one line refusing a headless plan request, or ``None`` when it may go ahead.

    Refused: the credit is not claimed (Anthropic would refuse it); with ``stop_at`` ``"credit"``,
    when the credit is spent or ``next_cost`` would take the usage past it; with ``"never"``, when
    the credit is spent and usage credits are off (Anthropic stops requests until the refresh).
    A plan without a credit is not checked here.
    """
    if state.credit is None:
        return None
    refresh = short_date(state.refreshes_on)
    if not state.claimed:
        return (
            f"the monthly Agent SDK credit of your {state.plan_label} plan is not claimed, and Anthropic "
            "refuses headless plan runs until it is: claim it once in your Claude account settings "
            f"(see {ARTICLE}), then run `thrifty login --credit-claimed`"
        )
    used = f"{_money(state.used)} of {_money(state.credit)} used this cycle"
    share = stop_fraction(stop_at)
    if share is not None:
        limit = state.credit * share
        if state.used >= limit or state.used + (next_cost or Decimal(0)) > limit:
            what = (
                "the monthly Agent SDK credit" if share == 1 else f"{stop_at} of the monthly Agent SDK credit"
            )
            reached = "is spent" if share == 1 else "is reached"
            where = reached if state.used >= limit else "would be passed by the next request"
            return (
                f'Stopped at {what} ({used}; the limit {where}, stopAt is "{stop_at}"); '
                f"it refreshes on {refresh}"
            )
        return None
    if state.spent and not state.usage_credits:
        return (
            f"The monthly Agent SDK credit is spent ({used}) and usage credits are off: Agent SDK "
            f"requests would stop until {refresh}"
        )
    return None
