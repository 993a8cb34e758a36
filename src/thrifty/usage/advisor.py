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
  when its use is above the plan's limit. Anthropic publishes no window sizes, so each limit is
  the user's (``plan.limits``), calibrated from the server's utilisation headers, or thrifty's
  estimate, in that order (``thrifty.billing.calibrate``); ``Advice.limit_lines`` says which.
- **Automated usage**: thrifty's own calls and Claude Code's headless / SDK entry points
  (``thrifty.usage.filters.is_automated``); the rest is interactive.
- **Two rule sets, split at 2026-06-15** (local midnight; ``thrifty.billing.credit``). Before it,
  every call on a plan counted toward the plan windows. From it, automated calls no longer count
  toward the windows: each billing cycle they draw the plan's monthly Agent SDK credit
  (``PlanDefinition.sdk_credit_usd``) at API rates, then usage credits at API rates if enabled,
  else they stop until the refresh. Windows are rebuilt from the calls that count toward them
  (everything before the date, interactive calls from it).
- **Credit per cycle**: the part of the period from the date is cut at the billing cycle's start
  day (``cycle_day``); a piece covering a fraction of its cycle gets that fraction of the credit
  (rounded to the cent), and its automated usage past that is the overage. The plan option's
  monthly overage is ``monthly(sum of overages, days)``.

The verdict rule (also in docs/usage.md):

1. Options: *API key* for everything (its monthly API-equivalent cost); *plan P* for everything
   (P's fee + its monthly overage when usage credits are on), eligible only if no 5-hour window
   and no week of the usage counted toward windows passed P's limits and, with usage credits
   off, the automated usage never passed the credit (it would have stopped); *hybrid P* (P's fee
   + the automated usage's monthly API cost), eligible only if there is both automated and
   interactive usage and no window of the interactive usage alone passed P's limits.
2. The verdict is the eligible option with the lowest monthly cost; on a tie the API key wins,
   then a plan, then a hybrid; between plans, the lower fee, then the name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal

from thrifty.billing.calibrate import PlanLimits, resolve_limits
from thrifty.billing.credit import CREDIT_START, credit_start, cycle_start_on
from thrifty.billing.ledger.rows import MODES, LedgerRow
from thrifty.billing.plan_presets import PlanDefinition
from thrifty.billing.prices import MILLION, PriceTable, bundled_prices
from thrifty.billing.windows import FIVE_HOURS, ONE_WEEK, weighted_tokens
from thrifty.usage.filters import is_automated, to_local

__all__ = [
    "MONTH_DAYS",
    "Advice",
    "CreditSegment",
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
    #: From 2026-06-15: the credit the period's cycles gave (prorated), what it covered of the
    #: automated usage, the usage past it (exact), and that scaled to 30 days (to the cent).
    credit_allowance_usd: Decimal = Decimal(0)
    credit_covered_usd: Decimal = Decimal(0)
    overage_usd: Decimal = Decimal(0)
    monthly_overage_usd: Decimal = Decimal(0)
    #: Per cycle piece: (allowance, covered, overage), in the order of ``Advice.segments``.
    per_segment: tuple[tuple[Decimal, Decimal, Decimal], ...] = ()
    #: The limits the windows were measured against, each with its source.
    limits: PlanLimits | None = None

    @property
    def five_hour_limit(self) -> int:
        return self.limits.five_hour.tokens if self.limits else self.plan.five_hour_tokens

    @property
    def weekly_limit(self) -> int:
        return self.limits.weekly.tokens if self.limits else self.plan.weekly_tokens

    @property
    def limit_word(self) -> str:
        """``estimated `` / ``calibrated `` / empty: how the limits passed were known."""
        if self.limits is None:
            return "estimated " if self.plan.estimate else ""
        return "estimated " if self.limits.estimated else "calibrated " if self.limits.calibrated else ""

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
    #: The API-rate part of the cost: everything (API key), the automated usage (hybrid), or
    #: the usage credits past the Agent SDK credit (plan).
    api_part_usd: Decimal = Decimal(0)

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
class CreditSegment:
    """A piece of the period from 2026-06-15 inside one billing cycle, and its automated usage."""

    start: datetime
    end: datetime
    #: Exact days of the piece and of its whole cycle; the credit share is their ratio.
    days: Decimal
    cycle_days: Decimal
    cycle_start: datetime
    cycle_end: datetime
    #: Known API-rate cost of the automated calls in the piece, and the calls without a price.
    automated_cost_usd: Decimal
    automated_calls: int
    unpriced_calls: int

    def allowance(self, credit: Decimal | None) -> Decimal:
        """The share of a monthly credit this piece gets: ``credit × days / cycle_days``, to the cent."""
        if not credit:
            return Decimal(0)
        return (credit * self.days / self.cycle_days).quantize(CENT, rounding=ROUND_HALF_UP)


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
    #: Where the rule sets split (2026-06-15, local midnight) and which applied, in words.
    cutoff: datetime
    rules: tuple[str, ...]
    #: The period from the cutoff cut into billing-cycle pieces (empty if it ends before it).
    segments: tuple[CreditSegment, ...]
    usage_credits: bool
    cycle_day: int
    #: One line per plan: its window limits and where each came from ("not published ...").
    limit_lines: tuple[str, ...] = ()

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


def _check(
    limits: PlanLimits,
    windows: tuple[Windows, Windows, Windows, Windows],
    segments: Sequence[CreditSegment],
    days: Decimal,
) -> PlanCheck:
    plan = limits.plan
    five_limit, week_limit = limits.five_hour.tokens, limits.weekly.tokens
    five, week, i_five, i_week = windows
    per_segment = []
    for seg in segments:
        allowance = seg.allowance(plan.sdk_credit_usd)
        covered = min(seg.automated_cost_usd, allowance)
        per_segment.append((allowance, covered, seg.automated_cost_usd - covered))
    overage = sum((o for _, _, o in per_segment), Decimal(0))
    return PlanCheck(
        plan=plan,
        five_hour_over=five.over(five_limit),
        weekly_over=week.over(week_limit),
        peak_five_hour=_fraction(five.peak, five_limit),
        peak_weekly=_fraction(week.peak, week_limit),
        interactive_five_hour_over=i_five.over(five_limit),
        interactive_weekly_over=i_week.over(week_limit),
        interactive_peak_five_hour=_fraction(i_five.peak, five_limit),
        interactive_peak_weekly=_fraction(i_week.peak, week_limit),
        credit_allowance_usd=sum((a for a, _, _ in per_segment), Decimal(0)),
        credit_covered_usd=sum((c for _, c, _ in per_segment), Decimal(0)),
        overage_usd=overage,
        monthly_overage_usd=monthly(overage, days),
        per_segment=tuple(per_segment),
        limits=limits,
    )


def _passed(five: int, week: int) -> str:
    parts = []
    if five:
        parts.append(f"{five} 5-hour window{'s' if five != 1 else ''}")
    if week:
        parts.append(f"{week} week{'s' if week != 1 else ''}")
    return " and ".join(parts)


def _options(
    all_: Slice, automated: Slice, interactive: Slice, checks: list[PlanCheck], usage_credits: bool
) -> list[Option]:
    options = [Option("api", None, all_.monthly_cost_usd, True, api_part_usd=all_.monthly_cost_usd)]
    for check in checks:
        plan = check.plan
        over = _passed(check.five_hour_over, check.weekly_over)
        reasons = []
        if not check.fits_all:
            word = check.limit_word
            reasons.append(f"would have passed its {word}limits in {over}" if word else f"passed {over}")
        extra = check.monthly_overage_usd if usage_credits else Decimal(0)
        if check.overage_usd and not usage_credits:
            credit, by = money(plan.sdk_credit_usd or Decimal(0)), money(check.overage_usd)
            reasons.append(
                f"automated usage would have passed its {credit} Agent SDK credit by {by} "
                "and stopped (usage credits off)"
            )
        options.append(
            Option("plan", plan, plan.monthly_fee_usd + extra, not reasons, "; ".join(reasons), extra)
        )
    for check in checks:
        plan = check.plan
        cost = plan.monthly_fee_usd + automated.monthly_cost_usd
        if not automated.calls or not interactive.calls:
            why = "no automated usage to move" if not automated.calls else "no interactive usage to keep"
            options.append(Option("hybrid", plan, cost, False, why, automated.monthly_cost_usd))
            continue
        over = _passed(check.interactive_five_hour_over, check.interactive_weekly_over)
        why = f"interactive usage alone passed its {check.limit_word}limits in {over}"
        fits = check.fits_interactive
        options.append(Option("hybrid", plan, cost, fits, "" if fits else why, automated.monthly_cost_usd))
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
        shown = money(verdict.monthly_usd)
        if verdict.api_part_usd:
            plan_fee, extra = money(verdict.plan.monthly_fee_usd), money(verdict.api_part_usd)
            shown = f"{plan_fee} + {extra} usage credits = {shown}"
        text = f"Plan {verdict.plan.label} is cheaper: {shown}/mo vs {money(api)}/mo on an API key"
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
    usage_credits: bool = True,
    cycle_day: int = 1,
    limits: Mapping[str, PlanLimits] | None = None,
) -> Advice:
    """The advice for the calls in ``rows`` over ``[since, until)``; ``rows`` must not be empty.

    ``limits``: by plan name, the window limits to measure against with their sources (the
    user's and calibrated ones, ``thrifty.billing.calibrate.resolve_limits``); a plan not in it
    is measured against its own numbers (a preset's estimates).

    ``usage_credits``: whether usage past a plan's Agent SDK credit continues at API rates (else
    it stops, and a plan it would have passed is not eligible); ``cycle_day``: the billing cycle's
    first day of the month (1-31, clamped to short months), where the credit refreshes.
    """
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
    cutoff = credit_start(tz)
    window_rows = [row for row in rows if row.recorded_at < cutoff or not is_automated(row)]
    segments = _segments(automated_calls, since, until, cutoff, cycle_day, tz)
    all_ = _slice("all", priced, days)
    automated = _slice("automated", automated_calls, days)
    interactive = _slice("interactive", interactive_calls, days)
    by_mode = {
        mode: _slice(mode, [call for call in priced if call.row.mode == mode], days)
        for mode in MODES
        if any(row.mode == mode for row in rows)
    }
    windows = (
        rebuild_windows(window_rows, FIVE_HOURS),
        rebuild_windows(window_rows, ONE_WEEK),
        rebuild_windows(interactive_rows, FIVE_HOURS),
        rebuild_windows(interactive_rows, ONE_WEEK),
    )
    chosen = limits or {}
    resolved = [chosen.get(plan.name) or resolve_limits(plan) for plan in plans]
    checks = [_check(lim, windows, segments, days) for lim in resolved]
    options = _options(all_, automated, interactive, checks, usage_credits)
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
        cutoff=cutoff,
        rules=_rules(since, until, cutoff, plans, usage_credits),
        segments=tuple(segments),
        usage_credits=usage_credits,
        cycle_day=cycle_day,
        limit_lines=tuple(lim.line() for lim in resolved),
    )


def _midnight(day: date, tz: tzinfo | None) -> datetime:
    naive = datetime.combine(day, time())
    return naive.astimezone() if tz is None else naive.replace(tzinfo=tz)


def _segments(
    automated: Sequence[_Priced],
    since: datetime,
    until: datetime,
    cutoff: datetime,
    cycle_day: int,
    tz: tzinfo | None,
) -> list[CreditSegment]:
    """The period from ``cutoff`` cut at the billing cycles' starts, with each piece's automated usage."""
    out: list[CreditSegment] = []
    start = max(since, cutoff)
    while start < until:
        first, refresh = cycle_start_on(to_local(start, tz).date(), cycle_day)
        cycle_start, cycle_end = _midnight(first, tz), _midnight(refresh, tz)
        end = min(cycle_end, until)
        cost = Decimal(0)
        calls = unpriced = 0
        for call in automated:
            if start <= call.row.recorded_at < end:
                calls += 1
                if call.row.cost_usd is None:
                    unpriced += 1
                else:
                    cost += call.row.cost_usd
        out.append(
            CreditSegment(
                start=start,
                end=end,
                days=_days(start, end),
                cycle_days=_days(cycle_start, cycle_end),
                cycle_start=cycle_start,
                cycle_end=cycle_end,
                automated_cost_usd=cost,
                automated_calls=calls,
                unpriced_calls=unpriced,
            )
        )
        start = end
    return out


def _days(start: datetime, end: datetime) -> Decimal:
    return Decimal((end - start) // _MICRO) / _DAY_US


def rule_date(moment: date) -> str:
    """``Jun 15 2026``."""
    return moment.strftime("%b %d %Y").replace(" 0", " ")


def _rules(
    since: datetime, until: datetime, cutoff: datetime, plans: Sequence[PlanDefinition], usage_credits: bool
) -> tuple[str, ...]:
    """Which billing rules applied to which part of the period, in words."""
    day = rule_date(CREDIT_START)
    rules = []
    if since < cutoff:
        rules.append(f"before {day}: headless usage counted toward plan windows (like interactive usage)")
    if until > cutoff:
        if len(plans) == 1:
            credit = plans[0].sdk_credit_usd
            what = f"the {money(credit)} Agent SDK credit" if credit is not None else "no Agent SDK credit"
        else:
            amounts = ", ".join(
                f"{p.label} {money(p.sdk_credit_usd) if p.sdk_credit_usd is not None else 'none'}"
                for p in plans
            )
            what = f"the plan's monthly Agent SDK credit ({amounts})"
        then = (
            "then usage credits at API rates"
            if usage_credits
            else "then stops until the credit refreshes (usage credits off)"
        )
        rules.append(
            f"from {day}: headless usage draws {what}, {then}; interactive usage stays on the plan windows"
        )
    return tuple(rules)
