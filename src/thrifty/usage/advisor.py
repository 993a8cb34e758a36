"""Plan or API key? The numbers for one period of usage, and a verdict anyone can recompute from them.

Pure computation over ledger rows; ``thrifty advise`` prints what ``advise`` returns. The figures:

- **API-equivalent cost**: the sum of the calls' calculated ``cost_usd`` over every mode (what
  the same calls cost, or would have cost, on an API key at list prices, with the cache reads
  and writes that actually happened). Calls with no known price are counted apart, and make
  every API figure a lower bound. Also the same calls priced as if nothing had been cached, to
  show what caching saved.
- **Per month**: a figure for the period times ``30 / days in the period``, rounded to the cent.
  The verdict compares these rounded figures, so the printed numbers reproduce it exactly.
- **Plan windows**, rebuilt from the calls the way the service counts: a window opens with the
  first call at or after the previous window's end and lasts 5 hours (or 7 days); its use is
  weighted tokens (input + cache writes + output, cache reads free). A window *passes* a plan
  when its use is above the plan's limit (for presets, thrifty's estimate of it).
- **Automated usage**: thrifty's own calls and Claude Code's headless / SDK entry points
  (``thrifty.usage.filters.is_automated``); the rest is interactive.

The verdict rule (also in docs/usage.md):

1. Options: *API key* for everything (its monthly API-equivalent cost); *plan P* for everything
   (P's fee), eligible only if no 5-hour window and no week of all usage passed P's limits;
   *hybrid P* (P's fee + the automated usage's monthly API cost), eligible only if there is both
   automated and interactive usage and no window of the interactive usage alone passed P's limits.
2. The verdict is the eligible option with the lowest monthly cost; on a tie the API key wins,
   then a plan, then a hybrid; between plans, the lower fee, then the name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal

from thrifty.billing.ledger.rows import MODES, LedgerRow
from thrifty.billing.plan_presets import PlanDefinition
from thrifty.billing.prices import MILLION, PriceTable, bundled_prices
from thrifty.billing.windows import FIVE_HOURS, ONE_WEEK, weighted_tokens
from thrifty.usage.filters import is_automated, to_local

__all__ = [
    "MONTH_DAYS",
    "Advice",
    "Option",
    "PlanCheck",
    "Slice",
    "Windows",
    "advise",
    "monthly",
    "rebuild_windows",
]

MONTH_DAYS = Decimal(30)
CENT = Decimal("0.01")
_MICRO = timedelta(microseconds=1)
_DAY_US = Decimal(86_400_000_000)
#: Tie order of the option kinds: the one without a commitment first.
KIND_ORDER = ("api", "plan", "hybrid")


def monthly(amount: Decimal, days: Decimal) -> Decimal:
    """``amount`` spent over ``days`` days, scaled to a 30-day month and rounded to the cent."""
    return (amount * MONTH_DAYS / days).quantize(CENT, rounding=ROUND_HALF_UP)


def money(amount: Decimal) -> str:
    return f"${amount.quantize(CENT, rounding=ROUND_HALF_UP):,}"


@dataclass(frozen=True)
class Slice:
    """Sums over one share of the period's calls: all of them, the automated or the interactive ones."""

    name: str
    calls: int
    weighted_tokens: int
    total_tokens: int
    #: API-equivalent at list prices with the cache discounts that happened (known prices only).
    cost_usd: Decimal
    #: The same calls priced as if every cached token had been plain input.
    no_cache_cost_usd: Decimal
    #: Calls whose model has no known price: left out of both costs above.
    unpriced_calls: int
    unpriced_weighted_tokens: int
    #: ``cost_usd`` and ``no_cache_cost_usd`` scaled to 30 days, to the cent.
    monthly_cost_usd: Decimal
    monthly_no_cache_usd: Decimal

    @property
    def cache_saving_usd(self) -> Decimal:
        return self.no_cache_cost_usd - self.cost_usd

    @property
    def cost_complete(self) -> bool:
        return self.unpriced_calls == 0


@dataclass(frozen=True)
class Windows:
    """Plan windows of one length rebuilt from calls: each window's start and weighted use."""

    length: timedelta
    starts: tuple[datetime, ...]
    weighted: tuple[int, ...]

    @property
    def count(self) -> int:
        return len(self.starts)

    @property
    def peak(self) -> int:
        return max(self.weighted, default=0)

    def over(self, limit: int) -> int:
        """How many windows used more than ``limit`` weighted tokens."""
        return sum(1 for used in self.weighted if used > limit)


def rebuild_windows(rows: Iterable[LedgerRow], length: timedelta) -> Windows:
    """A window opens with the first call at or after the previous window's end and lasts ``length``."""
    starts: list[datetime] = []
    used: list[int] = []
    for row in sorted(rows, key=lambda r: (r.recorded_at, r.request_id)):
        if not starts or row.recorded_at >= starts[-1] + length:
            starts.append(row.recorded_at)
            used.append(0)
        used[-1] += weighted_tokens(row)
    return Windows(length, tuple(starts), tuple(used))


def _fraction(used: int, limit: int) -> Decimal:
    return (Decimal(used) / Decimal(limit)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class PlanCheck:
    """One plan against the period: how often its (estimated) limits would have been passed."""

    plan: PlanDefinition
    five_hour_over: int
    weekly_over: int
    #: The busiest window's weighted tokens as a fraction of the limit (1.0 = exactly at it).
    peak_five_hour: Decimal
    peak_weekly: Decimal
    #: The same with only the interactive calls.
    interactive_five_hour_over: int
    interactive_weekly_over: int
    interactive_peak_five_hour: Decimal
    interactive_peak_weekly: Decimal

    @property
    def fits_all(self) -> bool:
        return self.five_hour_over == 0 and self.weekly_over == 0

    @property
    def fits_interactive(self) -> bool:
        return self.interactive_five_hour_over == 0 and self.interactive_weekly_over == 0


@dataclass(frozen=True)
class Option:
    kind: str  # "api" | "plan" | "hybrid"
    plan: PlanDefinition | None
    #: What the option costs per month, to the cent: the plan fee and/or the API figure.
    monthly_usd: Decimal
    eligible: bool
    #: Why an option is not eligible (empty when it is).
    why_not: str = ""

    @property
    def name(self) -> str:
        if self.plan is None:
            return "API key"
        if self.kind == "plan":
            return f"Plan {self.plan.label}"
        return f"Hybrid: {self.plan.label} + API key for automation"

    def sort_key(self) -> tuple[Decimal, int, Decimal, str]:
        fee = self.plan.monthly_fee_usd if self.plan else Decimal(0)
        return (self.monthly_usd, KIND_ORDER.index(self.kind), fee, self.plan.name if self.plan else "")


@dataclass(frozen=True)
class Advice:
    since: datetime
    until: datetime
    #: Length of the period in days (exact), and the factor that scales it to 30 days.
    days: Decimal
    first_at: datetime
    last_at: datetime
    active_days: int
    all: Slice
    automated: Slice
    interactive: Slice
    #: The API-equivalent cost split by the mode the calls were made in.
    by_mode: dict[str, Slice]
    five_hour: Windows
    weekly: Windows
    interactive_five_hour: Windows
    interactive_weekly: Windows
    plans: list[PlanCheck]
    #: Every option the rule weighed, cheapest first (the rule's order).
    options: list[Option]
    verdict: Option
    verdict_text: str

    @property
    def scale(self) -> Decimal:
        return MONTH_DAYS / self.days

    @property
    def automated_share_cost(self) -> Decimal | None:
        """Automated share of the known API-equivalent cost (``None`` when that is zero)."""
        if not self.all.cost_usd:
            return None
        return (self.automated.cost_usd / self.all.cost_usd).quantize(Decimal("0.0001"), ROUND_HALF_UP)

    @property
    def automated_share_weighted(self) -> Decimal | None:
        if not self.all.weighted_tokens:
            return None
        share = Decimal(self.automated.weighted_tokens) / Decimal(self.all.weighted_tokens)
        return share.quantize(Decimal("0.0001"), ROUND_HALF_UP)


def _no_cache_extra(row: LedgerRow, table: PriceTable) -> Decimal | None:
    """What caching saved on ``row`` (positive) or cost (negative: writes dearer than reads saved).

    Priced as if every cache write and read had been plain input, at the rates the call's prompt
    length selects (the same tier either way: the prompt is as long); output costs the same in
    both, so only the cached tokens' difference remains. ``None`` when the model has no price.
    """
    writes = row.cache_write_5m_tokens + row.cache_write_1h_tokens
    if not writes and not row.cache_read_tokens:
        return Decimal(0)
    base = table.price(row.model)
    if base is None:
        return None
    price = base.for_prompt(row.prompt_tokens)
    extra = (
        row.cache_write_5m_tokens * (price.input - price.cache_write_5m)
        + row.cache_write_1h_tokens * (price.input - price.cache_write_1h)
        + row.cache_read_tokens * (price.input - price.cache_read)
    ) / MILLION
    return extra * table.batch_discount if row.mode == "batch" else extra


@dataclass(frozen=True)
class _Priced:
    """A call with what the advisor needs of it, worked out once."""

    row: LedgerRow
    weighted: int
    #: The cost without caching; the recorded cost when the current table cannot price the model.
    no_cache: Decimal | None


def _priced(row: LedgerRow, table: PriceTable) -> _Priced:
    no_cache = None
    if row.cost_usd is not None:
        # A model the current table no longer prices keeps its recorded cost, without a discount.
        no_cache = row.cost_usd + (_no_cache_extra(row, table) or 0)
    return _Priced(row, weighted_tokens(row), no_cache)


def _slice(name: str, calls_: Sequence[_Priced], days: Decimal) -> Slice:
    calls = weighted = total = unpriced = unpriced_weighted = 0
    cost = no_cache = Decimal(0)
    for call in calls_:
        row = call.row
        calls += 1
        weighted += call.weighted
        total += row.prompt_tokens + row.output_tokens
        if row.cost_usd is None or call.no_cache is None:
            unpriced += 1
            unpriced_weighted += call.weighted
            continue
        cost += row.cost_usd
        no_cache += call.no_cache
    return Slice(
        name=name,
        calls=calls,
        weighted_tokens=weighted,
        total_tokens=total,
        cost_usd=cost,
        no_cache_cost_usd=no_cache,
        unpriced_calls=unpriced,
        unpriced_weighted_tokens=unpriced_weighted,
        monthly_cost_usd=monthly(cost, days),
        monthly_no_cache_usd=monthly(no_cache, days),
    )


def _check(plan: PlanDefinition, windows: tuple[Windows, Windows, Windows, Windows]) -> PlanCheck:
    five, week, i_five, i_week = windows
    return PlanCheck(
        plan=plan,
        five_hour_over=five.over(plan.five_hour_tokens),
        weekly_over=week.over(plan.weekly_tokens),
        peak_five_hour=_fraction(five.peak, plan.five_hour_tokens),
        peak_weekly=_fraction(week.peak, plan.weekly_tokens),
        interactive_five_hour_over=i_five.over(plan.five_hour_tokens),
        interactive_weekly_over=i_week.over(plan.weekly_tokens),
        interactive_peak_five_hour=_fraction(i_five.peak, plan.five_hour_tokens),
        interactive_peak_weekly=_fraction(i_week.peak, plan.weekly_tokens),
    )


def _passed(five: int, week: int) -> str:
    parts = []
    if five:
        parts.append(f"{five} 5-hour window{'s' if five != 1 else ''}")
    if week:
        parts.append(f"{week} week{'s' if week != 1 else ''}")
    return " and ".join(parts)


def _options(all_: Slice, automated: Slice, interactive: Slice, checks: list[PlanCheck]) -> list[Option]:
    options = [Option("api", None, all_.monthly_cost_usd, True)]
    for check in checks:
        plan = check.plan
        over = _passed(check.five_hour_over, check.weekly_over)
        why = f"would have passed its estimated limits in {over}" if plan.estimate else f"passed {over}"
        options.append(
            Option("plan", plan, plan.monthly_fee_usd, check.fits_all, "" if check.fits_all else why)
        )
    for check in checks:
        plan = check.plan
        cost = plan.monthly_fee_usd + automated.monthly_cost_usd
        if not automated.calls or not interactive.calls:
            why = "no automated usage to move" if not automated.calls else "no interactive usage to keep"
            options.append(Option("hybrid", plan, cost, False, why))
            continue
        over = _passed(check.interactive_five_hour_over, check.interactive_weekly_over)
        why = f"interactive usage alone passed its {'estimated ' if plan.estimate else ''}limits in {over}"
        fits = check.fits_interactive
        options.append(Option("hybrid", plan, cost, fits, "" if fits else why))
    return sorted(options, key=lambda o: (not o.eligible, *o.sort_key()))


def _verdict_text(verdict: Option, options: list[Option], all_: Slice, automated: Slice) -> str:
    api = all_.monthly_cost_usd
    others = [o for o in options if o.eligible and o.kind != "api"]
    if verdict.kind == "api":
        if others:
            best = others[0]
            text = f"API key is cheaper: {money(api)}/mo vs {money(best.monthly_usd)}/mo for {best.name}"
        else:
            text = f"API key: {money(api)}/mo; no plan fits this usage within its limits"
    elif verdict.kind == "plan":
        assert verdict.plan is not None
        text = (
            f"Plan {verdict.plan.label} is cheaper: {money(verdict.monthly_usd)}/mo vs {money(api)}/mo "
            "on an API key"
        )
    else:
        assert verdict.plan is not None
        fee = verdict.plan.monthly_fee_usd
        text = (
            f"Hybrid: keep plan {verdict.plan.label} for interactive, API for automation: "
            f"{money(fee)} + {money(automated.monthly_cost_usd)} = {money(verdict.monthly_usd)}/mo "
            f"vs {money(api)}/mo API only"
        )
        plan_only = [o for o in others if o.kind == "plan"]
        if plan_only:
            text += f", {money(plan_only[0].monthly_usd)}/mo {plan_only[0].name} for everything"
    if all_.unpriced_calls:
        n = all_.unpriced_calls
        text += f" (API figures are lower bounds: {n:,} call{'s' if n != 1 else ''} with no known price)"
    return text


def advise(
    rows: Sequence[LedgerRow],
    plans: Sequence[PlanDefinition],
    *,
    since: datetime,
    until: datetime,
    tz: tzinfo | None = None,
    prices: PriceTable | None = None,
) -> Advice:
    """The advice for the calls in ``rows`` over ``[since, until)``; ``rows`` must not be empty."""
    if until <= since:
        raise ValueError("the period must end after it starts")
    if not rows:
        raise ValueError("no usage in the period")
    table = prices or bundled_prices()
    days = Decimal((until - since) // _MICRO) / _DAY_US
    priced = [_priced(row, table) for row in rows]
    automated_calls = [call for call in priced if is_automated(call.row)]
    interactive_calls = [call for call in priced if not is_automated(call.row)]
    interactive_rows = [call.row for call in interactive_calls]
    all_ = _slice("all", priced, days)
    automated = _slice("automated", automated_calls, days)
    interactive = _slice("interactive", interactive_calls, days)
    by_mode = {
        mode: _slice(mode, [call for call in priced if call.row.mode == mode], days)
        for mode in MODES
        if any(row.mode == mode for row in rows)
    }
    windows = (
        rebuild_windows(rows, FIVE_HOURS),
        rebuild_windows(rows, ONE_WEEK),
        rebuild_windows(interactive_rows, FIVE_HOURS),
        rebuild_windows(interactive_rows, ONE_WEEK),
    )
    checks = [_check(plan, windows) for plan in plans]
    options = _options(all_, automated, interactive, checks)
    verdict = options[0]  # the API key is always eligible, so the first is
    times = [row.recorded_at for row in rows]
    return Advice(
        since=since,
        until=until,
        days=days,
        first_at=min(times),
        last_at=max(times),
        active_days=len({to_local(t, tz).date() for t in times}),
        all=all_,
        automated=automated,
        interactive=interactive,
        by_mode=by_mode,
        five_hour=windows[0],
        weekly=windows[1],
        interactive_five_hour=windows[2],
        interactive_weekly=windows[3],
        plans=checks,
        options=options,
        verdict=verdict,
        verdict_text=_verdict_text(verdict, options, all_, automated),
    )
