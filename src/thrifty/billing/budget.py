"""Budgets are checked before each request, never after the bill.

Three kinds of limit stop a run: the per-run ``--max-budget-usd``, configured daily and monthly
caps per billing mode (summed from the ledger, so concurrent runs count against each other),
and, for plans, a usage window past its configured stop level. Each check adds a conservative
estimate of the call about to be made, so spend can pass a cap by at most that one call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from thrifty.agent.endings import BudgetExceeded
from thrifty.billing.config import Budget
from thrifty.billing.ledger import Ledger
from thrifty.billing.windows import WARN_AT, WindowState


def _money(value: Decimal) -> str:
    return f"${value.quantize(Decimal('0.01'))}"


def day_start(now: datetime) -> datetime:
    local = now.astimezone()
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def month_start(now: datetime) -> datetime:
    return day_start(now).replace(day=1)


@dataclass
class BudgetGuard:
    mode: str
    run_cap: Decimal | None = None
    caps: Budget = field(default_factory=Budget)
    ledger: Ledger | None = None
    warn_at: float = WARN_AT
    stop_at: float | None = None
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    _warned: set[str] = field(default_factory=set)

    def check(self, run_spent: Decimal, estimate: Decimal | None) -> None:
        """Raise ``BudgetExceeded`` if the next call could take spend past any cap."""
        guess = estimate or Decimal(0)
        if self.run_cap is not None and (run_spent >= self.run_cap or run_spent + guess > self.run_cap):
            raise BudgetExceeded(f"Reached maximum budget (${self.run_cap})")
        if self.ledger is None:
            return
        now = self.now()
        for period, cap, since in (
            ("daily", self.caps.daily, day_start(now)),
            ("monthly", self.caps.monthly, month_start(now)),
        ):
            if cap is None:
                continue
            spent = self.ledger.spend(mode=self.mode, since=since)
            if spent >= cap or spent + guess > cap:
                raise BudgetExceeded(
                    f"Reached the {period} {self.mode} budget ({_money(cap)}; {_money(spent)} spent "
                    f"{'today' if period == 'daily' else 'this month'})"
                )

    def check_windows(self, states: Sequence[WindowState]) -> list[str]:
        """Stop at ``stop_at``; otherwise return warnings for windows newly past ``warn_at``."""
        notices = []
        for state in states:
            if self.stop_at is not None and state.used >= self.stop_at:
                raise BudgetExceeded(
                    f"Plan {state.label} is {round(state.used * 100)}% used (stop level "
                    f"{round(self.stop_at * 100)}%); {state.describe()}"
                )
            if state.used >= self.warn_at and state.name not in self._warned:
                self._warned.add(state.name)
                used = round(state.used * 100)
                notices.append(f"{used}% of your plan's {state.label} used: {state.describe()}")
        return notices
