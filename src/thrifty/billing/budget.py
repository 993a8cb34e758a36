"""Budgets are checked before each request, never after the bill.

Three kinds of limit stop a run: the per-run ``--max-budget-usd``, configured daily, monthly and
total (whole-life) caps per billing mode or scope (summed from the ledger, so concurrent runs
count against each other),
and, for plans, a usage window past its configured stop level. Each check adds a conservative
estimate of the call about to be made, so spend can pass a cap by at most that one call.

A cap that cannot be checked does not pass: while any cap is in force, a model with no known
price is refused before its first request (``require_price``, called at setup and when the model
changes), and ``check`` stops the run if an estimate or a call's cost is unknown all the same.
Without a cap, unpriced models run and their cost is reported as unknown.

A plan run can also carry its Agent SDK credit (``credit``: the cycle's ``CreditState`` when the
run started, ``credit_stop_at``: the ``"plan"`` config's ``agentSdkCredit.stopAt``). Each check then
adds the run's own spend so far to the credit used and refuses, before the first request or
mid-run, when ``thrifty.billing.credit.check_credit`` says so. With ``stopAt`` ``"credit"`` the
credit is a cap like the others: an unknown price stops the run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from thrifty.billing.config import Budget
from thrifty.billing.ledger import CapCheck, Ledger, Refusal, Reservation
from thrifty.billing.prices import PriceTable, bundled_prices
from thrifty.billing.windows import WARN_AT, WindowState
from thrifty.core.endings import BudgetExceeded

if TYPE_CHECKING:
    from thrifty.billing.credit import CreditState


def _money(value: Decimal) -> str:
    return f"${value.quantize(Decimal('0.01'))}"


def day_start(now: datetime) -> datetime:
    local = now.astimezone()
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def month_start(now: datetime) -> datetime:
    return day_start(now).replace(day=1)


#: Where a ``total`` cap starts counting: before any row a ledger can hold, so no calendar
#: boundary (a month's turn, a rerun weeks later) ever drops spend out of it.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def period_start(period: str, now: datetime) -> datetime:
    """Since when a ``period`` cap counts spend (``daily``, ``monthly`` or ``total``)."""
    if period == "daily":
        return day_start(now)
    if period == "monthly":
        return month_start(now)
    if period == "total":
        return EPOCH
    raise ValueError(f"unknown budget period {period!r}")


#: How long a call's reservation holds if nothing settles or releases it (its worker died): longer
#: than any one request may take (the client's own timeout is 10 minutes).
RESERVATION_TTL = timedelta(minutes=15)
PERIOD_WORDS = {"daily": "today", "monthly": "this month", "total": "in all"}


def run_scopes(
    mode: str, project: str | None, account: str | None, tags: Mapping[str, str]
) -> tuple[str, ...]:
    """The budget scopes a call belongs to: its mode, project, account and each of its tags."""
    scopes = [f"mode:{mode}"]
    if project:
        scopes.append(f"project:{project}")
    if account:
        scopes.append(f"account:{account}")
    scopes.extend(
        f"tag:{key}={value}" for key, value in sorted(tags.items()) if '"' not in key and "\\" not in key
    )
    return tuple(scopes)


def refusal_line(refusal: Refusal, mode: str) -> str:
    """The one line a ``Refusal`` stops a run with."""
    check = refusal.check
    period = check.name or "daily"
    scope = check.scope
    what = f"the {period} {mode} budget" if scope == f"mode:{mode}" else f"the {period} budget of {scope}"
    held = f", {_money(refusal.reserved)} held by calls in flight" if refusal.reserved else ""
    return (
        f"Reached {what} ({_money(check.cap)}; {_money(refusal.spent)} spent "
        f"{PERIOD_WORDS.get(period, 'in the period')}{held})"
    )


class UnpricedModel(ValueError):
    """A budget cap is in force and the model has no known price: one line saying how to price it."""


def unpriced_line(model: str | None, cap: str, user_file: str, *, what: str = "") -> str:
    """The one line that refuses an unpriced model under ``cap`` and says how to price it.

    ``model`` None: the model is not known here; ``what`` then says what had no price.
    """
    if model is None:
        return (
            f"{what} has no known price, so {cap} cannot be checked; give its model a price under "
            f'"prices" in .thrifty.json or {user_file} (USD per million tokens)'
        )
    name = model.removesuffix("[1m]")
    example = json.dumps({"prices": {name: {"input": "3", "output": "15"}}})
    return (
        f"model {model!r} has no known price, so {cap} cannot be checked; give it a price in "
        f".thrifty.json or {user_file}, e.g. {example[1:-1]} (USD per million tokens)"
    )


@dataclass
class BudgetGuard:
    mode: str
    run_cap: Decimal | None = None
    caps: Budget = field(default_factory=Budget)
    ledger: Ledger | None = None
    warn_at: float = WARN_AT
    stop_at: float | None = None
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    #: The prices the run meters with (the bundled table plus the user's overrides).
    prices: PriceTable = field(default_factory=bundled_prices)
    #: The model of the next request, for naming it when it has no price.
    model: Callable[[], str] | None = None
    #: Where the user's config file is, for telling them where to put a price.
    user_file: str = "config.json"
    #: The Agent SDK credit at the run's start (plan runs only; ``None``: not checked).
    credit: CreditState | None = None
    #: ``"credit"``, a share such as ``"80%"``, or ``"never"``: ``agentSdkCredit.stopAt`` in config.
    credit_stop_at: str = "credit"
    #: Caps of scopes other than the mode (``project:...``, ``tag:k=v``, ``account:...``).
    scope_caps: Mapping[str, Budget] = field(default_factory=dict)
    #: The run's scopes besides its mode and tags (``project:...``, ``account:...``).
    scopes: tuple[str, ...] = ()
    #: How long a reservation holds if nothing settles or releases it.
    reservation_ttl: timedelta = RESERVATION_TTL
    #: Stamped on the run's reservations (who holds them).
    session_id: str = ""
    #: The reservation made for the request about to go out (or in flight), until its row lands.
    held: Reservation | None = None
    _warned: set[str] = field(default_factory=set)

    def caps_in_force(self) -> list[str]:
        """The caps this run checks before each request, as words: empty when nothing caps it."""
        caps = [] if self.run_cap is None else [f"the run's maximum budget (${self.run_cap})"]
        if self.ledger is not None:
            for period, cap in self.caps.periods():
                caps.append(f"the {period} {self.mode} budget ({_money(cap)})")
            for scope, budget in self.scope_caps.items():
                if scope in self.scopes or scope.startswith("tag:"):
                    for period, cap in budget.periods():
                        caps.append(f"the {period} budget of {scope} ({_money(cap)})")
        if self._credit_capped():
            assert self.credit is not None and self.credit.credit is not None
            from thrifty.billing.plan_settings import stop_fraction

            share = stop_fraction(self.credit_stop_at) or Decimal(1)
            what = (
                "the monthly Agent SDK credit"
                if share == 1
                else f"{self.credit_stop_at} of the monthly Agent SDK credit"
            )
            caps.append(f"{what} ({_money(self.credit.credit)})")
        return caps

    def _credit_checked(self) -> bool:
        return self.mode == "plan" and self.credit is not None and self.credit.credit is not None

    def _credit_capped(self) -> bool:
        # Plan modules load only for a plan run that carries its credit: never on an API run.
        if not self._credit_checked():
            return False
        from thrifty.billing.plan_settings import stop_fraction

        return stop_fraction(self.credit_stop_at) is not None

    def credit_refusal(self, run_spent: Decimal = Decimal(0), estimate: Decimal | None = None) -> str | None:
        """Why the next request of this plan run may not draw on the Agent SDK credit, or None."""
        if not self._credit_checked():
            return None
        assert self.credit is not None
        from thrifty.billing.credit import check_credit

        return check_credit(self.credit.with_spend(run_spent), self.credit_stop_at, estimate)

    def unpriced(self, model: str) -> str | None:
        """Why ``model`` may not be asked under this run's caps (it has no price), or None."""
        caps = self.caps_in_force()
        if not caps or self.prices.price(model) is not None:
            return None
        return unpriced_line(model, caps[0], self.user_file)

    def require_price(self, model: str) -> None:
        """Raise ``UnpricedModel`` if a cap is in force and ``model`` has no known price."""
        problem = self.unpriced(model)
        if problem is not None:
            raise UnpricedModel(problem)

    def check(
        self, run_spent: Decimal | None, estimate: Decimal | None, *, tags: Mapping[str, str] | None = None
    ) -> None:
        """Raise ``BudgetExceeded`` if the next call could take spend past any cap.

        ``run_spent`` is None when a call of this run came back without a known cost, and
        ``estimate`` is None when the next call's model has no known price: under a cap, either
        stops the run, since an unknown amount must never count as $0.

        The ledger's caps (the mode's, and those of the run's project, account and ``tags``) are
        checked and the estimate reserved in one atomic step (``Ledger.reserve``), so workers
        sharing a cap cannot all take the same headroom: the reservation is ``held`` until the
        call's row settles it (``take``), the next check replaces it, or ``release`` drops it.
        """
        if self._credit_checked() and run_spent is not None:
            refusal = self.credit_refusal(run_spent, estimate)
            if refusal is not None:
                raise BudgetExceeded(refusal)
        caps = self.caps_in_force()
        if not caps:
            return
        if estimate is None:
            model = self.model() if self.model is not None else None
            raise BudgetExceeded(unpriced_line(model, caps[0], self.user_file, what="the next request"))
        if run_spent is None:
            raise BudgetExceeded(unpriced_line(None, caps[0], self.user_file, what="a call of this run"))
        guess = estimate
        if self.run_cap is not None and (run_spent >= self.run_cap or run_spent + guess > self.run_cap):
            raise BudgetExceeded(f"Reached maximum budget (${self.run_cap})")
        if self.ledger is None:
            return
        now = self.now()
        scopes = (*run_scopes(self.mode, None, None, tags or {}), *self.scopes)
        checks = self._cap_checks(scopes, now)
        if not checks:
            return
        held, self.held = self.held, None
        answer = self.ledger.reserve(
            scopes,
            guess,
            checks,
            ttl=self.reservation_ttl,
            now=now,
            session_id=self.session_id,
            replaces=held.id if held is not None else None,
        )
        if isinstance(answer, Refusal):
            raise BudgetExceeded(refusal_line(answer, self.mode))
        self.held = answer if answer.id else None

    def _cap_checks(self, scopes: Sequence[str], now: datetime) -> list[CapCheck]:
        checks = []
        capped = [(f"mode:{self.mode}", self.caps)]
        capped += [(scope, self.scope_caps[scope]) for scope in scopes if scope in self.scope_caps]
        for scope, budget in capped:
            for period, cap in budget.periods():
                checks.append(CapCheck(scope, period_start(period, now), cap, period))
        return checks

    def take(self) -> str | None:
        """The held reservation's id, for the row of the call it was made for to settle; it is
        no longer this guard's to release."""
        held, self.held = self.held, None
        return held.id if held is not None else None

    def release(self) -> None:
        """Drop the held reservation (its call failed, or the run ends before sending it)."""
        held, self.held = self.held, None
        if held is not None and self.ledger is not None:
            self.ledger.release(held.id)

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


@dataclass(frozen=True)
class CapStanding:
    """One configured cap against what its scope has spent and holds now (``thrifty status``)."""

    #: The ``budgets`` key as configured (``api``, ``project:payments``, ``tag:team=infra``, ...).
    key: str
    period: str
    cap: Decimal
    spent: Decimal
    reserved: Decimal

    def to_json(self) -> dict[str, str]:
        return {
            "scope": self.key,
            "period": self.period,
            "capUsd": str(self.cap),
            "spentUsd": str(self.spent),
            "reservedUsd": str(self.reserved),
        }

    def line(self) -> str:
        held = f" (+{_money(self.reserved)} held by calls in flight)" if self.reserved else ""
        word = PERIOD_WORDS.get(self.period, self.period)
        return f"{self.key} {self.period}: {_money(self.spent)} of {_money(self.cap)} {word}{held}"


def cap_standings(budgets: Mapping[str, Budget], ledger: Ledger, now: datetime) -> list[CapStanding]:
    """Every configured cap (modes and scopes), with its scope's spend in the period and live holds."""
    out = []
    for key, budget in sorted(budgets.items()):
        scope = key if ":" in key else f"mode:{key}"
        for period, cap in budget.periods():
            found = ledger.scope_spend(scope, since=period_start(period, now), now=now)
            out.append(CapStanding(key, period, cap, found.spent, found.reserved))
    return out
