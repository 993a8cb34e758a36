"""The advisor: API-equivalent cost, plan windows, automated share, and a verdict that follows the rule.

Small cases are worked out by hand; generated histories check that the verdict can be rebuilt
from the numbers the advice reports, by an independent reading of the rule in docs/usage.md.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from tests.usage.history import Profile, generate
from tests.usage.rows import make_row
from thrifty.billing.ledger.rows import LedgerRow
from thrifty.billing.plan_presets import PRESETS, PlanDefinition, custom_plan
from thrifty.billing.windows import FIVE_HOURS, ONE_WEEK, weighted_tokens
from thrifty.usage.advisor import Advice, advise, monthly, rebuild_windows
from thrifty.usage.filters import is_automated

DAY0 = datetime(2025, 3, 1, tzinfo=UTC)


def at(hours: float) -> datetime:
    return DAY0 + timedelta(hours=hours)


def interactive(**kw: object) -> LedgerRow:
    row = make_row(mode="plan", **kw)  # type: ignore[arg-type]
    return replace(row, source="claude-code", account="claude-code", tags={"entrypoint": "cli"})


def headless(entrypoint: str = "sdk-cli", **kw: object) -> LedgerRow:
    return replace(interactive(**kw), tags={"entrypoint": entrypoint})


def plan(name: str, fee: str, five: int, week: int) -> PlanDefinition:
    return custom_plan(
        name=name, label=name.title(), monthly_fee_usd=fee, five_hour_tokens=five, weekly_tokens=week
    )


def run(rows: list[LedgerRow], plans: list[PlanDefinition], days: int = 30) -> Advice:
    return advise(rows, plans, since=DAY0, until=DAY0 + timedelta(days=days), tz=UTC)


@pytest.mark.parametrize(
    ("row", "automated"),
    [
        (make_row(), True),  # thrifty's own run: headless by construction
        (make_row(mode="plan"), True),
        (headless("sdk-cli"), True),  # claude -p
        (headless("sdk-py"), True),
        (headless("sdk-ts"), True),
        (interactive(), False),
        (replace(interactive(), tags={}), False),
        (headless("vscode"), False),
    ],
)
def test_automated_usage(row: LedgerRow, automated: bool) -> None:
    assert is_automated(row) is automated


def test_windows_open_with_the_first_call_after_the_previous_one_closed() -> None:
    rows = [
        make_row(at=at(10 + 7 / 60), inp=100, out=0),  # opens 10:07, closes 15:07
        make_row(at=at(14), inp=10, out=0, cw5=5, cr=1_000_000),  # cache reads are free
        make_row(at=at(15 + 6 / 60), inp=1, out=0),
        make_row(at=at(15 + 7 / 60), inp=1000, out=0),  # exactly 15:07: a new window
        make_row(at=at(30), inp=7, out=3),
    ]
    windows = rebuild_windows(rows, FIVE_HOURS)
    assert windows.starts == (at(10 + 7 / 60), at(15 + 7 / 60), at(30))
    assert windows.weighted == (116, 1000, 10)
    assert (windows.count, windows.peak, windows.over(999), windows.over(1000)) == (3, 1000, 1, 0)
    assert rebuild_windows(rows, ONE_WEEK).weighted == (1126,)


def test_costs_with_and_without_cache_by_hand() -> None:
    # claude-sonnet-4-5: input $3, output $15, 5-minute write $3.75, read $0.30 per million.
    row = interactive(at=at(1), inp=1000, out=1000, cw5=10_000, cr=100_000, cost="0.0855")
    advice = run([row], [PRESETS["pro"]], days=10)
    s = advice.all
    assert (s.cost_usd, s.no_cache_cost_usd, s.cache_saving_usd) == (
        Decimal("0.0855"),
        Decimal("0.348"),  # 111,000 input x $3 + 1,000 output x $15
        Decimal("0.2625"),
    )
    assert advice.days == 10 and advice.scale == 3
    assert (s.monthly_cost_usd, s.monthly_no_cache_usd) == (Decimal("0.26"), Decimal("1.04"))
    assert (s.weighted_tokens, s.total_tokens) == (12_000, 112_000)


def test_batch_rows_keep_the_batch_discount_without_cache_too() -> None:
    row = make_row(mode="batch", at=at(1), inp=0, out=0, cr=100_000, cost="0.015")  # $0.30/M x 0.5
    s = run([row], [], days=30).all
    assert (s.cost_usd, s.no_cache_cost_usd) == (Decimal("0.015"), Decimal("0.15"))  # $3/M x 0.5


def test_unknown_prices_are_counted_apart_and_make_a_lower_bound() -> None:
    rows = [
        interactive(at=at(1), cost="3.00", inp=10, out=10),
        interactive(at=at(2), cost=None, model="mystery", inp=500, out=500),
    ]
    advice = run(rows, [plan("small", "20", 10_000, 100_000)], days=30)
    assert (advice.all.cost_usd, advice.all.unpriced_calls, advice.all.unpriced_weighted_tokens) == (
        Decimal("3.00"),
        1,
        1000,
    )
    assert advice.verdict.kind == "api"
    assert advice.verdict_text == (
        "API key is cheaper: $3.00/mo vs $20.00/mo for Plan Small "
        "(API figures are lower bounds: 1 call with no known price)"
    )


def test_monthly_scaling_rounds_half_up_to_the_cent() -> None:
    assert monthly(Decimal("1"), Decimal(7)) == Decimal("4.29")  # 4.2857...
    assert monthly(Decimal("0.0005"), Decimal(30)) == Decimal("0.00")
    assert monthly(Decimal("0.005"), Decimal(30)) == Decimal("0.01")


def test_plan_is_cheaper_for_heavy_interactive_use() -> None:
    rows = [interactive(at=at(24 * d + 10), inp=1000, out=1000, cost="10") for d in range(30)]
    advice = run(rows, [plan("pro", "20", 5000, 50_000), plan("max", "100", 50_000, 500_000)])
    assert advice.all.monthly_cost_usd == Decimal("300.00")
    assert advice.verdict.kind == "plan" and advice.verdict.plan is not None
    assert advice.verdict.plan.name == "pro"
    assert advice.verdict_text == "Plan Pro is cheaper: $20.00/mo vs $300.00/mo on an API key"
    assert advice.automated.calls == 0
    assert all(not o.eligible for o in advice.options if o.kind == "hybrid")


def test_api_key_when_no_plan_fits() -> None:
    rows = [interactive(at=at(h), inp=4000, out=0, cost="1") for h in range(3)]  # 12,000 in one window
    small = plan("small", "20", 10_000, 100_000)
    advice = run(rows, [small])
    assert advice.plans[0].five_hour_over == 1 and not advice.plans[0].fits_all
    assert advice.verdict.kind == "api"
    assert advice.verdict_text == "API key: $3.00/mo; no plan fits this usage within its limits"
    plan_option = next(o for o in advice.options if o.kind == "plan")
    assert plan_option.why_not == "passed 1 5-hour window"
    estimated = replace(small, estimate=True)
    assert "estimated limits in 1 5-hour window" in next(
        o.why_not for o in run(rows, [estimated]).options if o.kind == "plan"
    )


def test_hybrid_moves_automation_to_an_api_key() -> None:
    # Interactive: 3,000 weighted a day at 10:00, $5 each. Automated: 9,000 weighted at 11:00, $0.50.
    rows = []
    for d in range(30):
        rows.append(interactive(at=at(24 * d + 10), inp=2000, out=1000, cost="5"))
        rows.append(headless(at=at(24 * d + 11), inp=8000, out=1000, cost="0.50"))
    small = plan("small", "20", 5000, 100_000)
    big = plan("big", "200", 20_000, 1_000_000)
    advice = run(rows, [small, big])
    check = advice.plans[0]
    assert (check.five_hour_over, check.interactive_five_hour_over) == (30, 0)
    assert (check.peak_five_hour, check.interactive_peak_five_hour) == (Decimal("2.4"), Decimal("0.6"))
    assert advice.automated.monthly_cost_usd == Decimal("15.00")
    assert advice.all.monthly_cost_usd == Decimal("165.00")
    assert advice.automated_share_cost == Decimal("0.0909")  # 15 / 165
    assert advice.automated_share_weighted == Decimal("0.75")
    assert (advice.five_hour.peak, advice.interactive_five_hour.peak) == (12_000, 3000)
    assert advice.verdict.kind == "hybrid"
    assert advice.verdict.monthly_usd == Decimal("35.00")
    assert advice.verdict_text == (
        "Hybrid: keep plan Small for interactive, API for automation: $20.00 + $15.00 = $35.00/mo "
        "vs $165.00/mo API only, $200.00/mo Plan Big for everything"
    )
    assert [(o.kind, o.monthly_usd, o.eligible) for o in advice.options] == [
        ("hybrid", Decimal("35.00"), True),
        ("api", Decimal("165.00"), True),
        ("plan", Decimal("200.00"), True),
        ("hybrid", Decimal("215.00"), True),
        ("plan", Decimal("20"), False),
    ]


def test_ties_go_to_the_api_key_then_the_plan() -> None:
    rows = [interactive(at=at(1), inp=10, out=10, cost="20")]
    advice = run(rows, [plan("same", "20", 1000, 10_000)])
    assert advice.all.monthly_cost_usd == Decimal("20.00")
    assert advice.verdict.kind == "api"
    rows = [interactive(at=at(1), cost="10"), headless(at=at(2), cost="0")]
    advice = run(rows, [plan("same", "10", 1000, 10_000)])
    # plan alone $10, hybrid $10 + $0 automated: the plan wins the tie.
    assert [(o.kind, o.monthly_usd) for o in advice.options[:3]] == [
        ("api", Decimal("10.00")),
        ("plan", Decimal("10")),
        ("hybrid", Decimal("10.00")),
    ]


def test_weekly_limits_count_too() -> None:
    rows = [interactive(at=at(6 * h), inp=900, out=0, cost="0.01") for h in range(20)]  # 5 days
    advice = run(rows, [plan("weekly", "20", 1000, 10_000)], days=7)
    check = advice.plans[0]
    assert (check.five_hour_over, check.weekly_over, check.peak_weekly) == (0, 1, Decimal("1.8"))
    assert not check.fits_all


def test_empty_or_backwards_period_is_refused() -> None:
    with pytest.raises(ValueError, match="no usage"):
        run([], [PRESETS["pro"]])
    with pytest.raises(ValueError, match="end after"):
        advise([make_row()], [], since=DAY0, until=DAY0)


def _rule(advice: Advice) -> tuple[str, str | None, Decimal]:
    """The verdict rule of docs/usage.md, applied to the reported numbers only."""
    api = advice.all.monthly_cost_usd
    auto = advice.automated.monthly_cost_usd
    candidates: list[tuple[Decimal, int, Decimal, str, str, str | None]] = [
        (api, 0, Decimal(0), "", "api", None)
    ]
    for c in advice.plans:
        fee, name = c.plan.monthly_fee_usd, c.plan.name
        if c.five_hour_over == 0 and c.weekly_over == 0:
            candidates.append((fee, 1, fee, name, "plan", name))
        has_both = advice.automated.calls > 0 and advice.interactive.calls > 0
        if has_both and c.interactive_five_hour_over == 0 and c.interactive_weekly_over == 0:
            candidates.append((fee + auto, 2, fee, name, "hybrid", name))
    best = min(candidates)
    return best[4], best[5], best[0]


def _windows_over(rows: list[LedgerRow], length: timedelta, limit: int) -> int:
    """Window use rebuilt another way: each call's window start is looked up, not carried along."""
    starts: list[datetime] = []
    for row in sorted(rows, key=lambda r: r.recorded_at):
        if not starts or row.recorded_at - starts[-1] >= length:
            starts.append(row.recorded_at)
    used = dict.fromkeys(starts, 0)
    for row in rows:
        owner = max(s for s in starts if s <= row.recorded_at)
        used[owner] += weighted_tokens(row)
    return sum(1 for u in used.values() if u > limit)


PROFILES = [
    Profile(days=14, scale=0.02, sessions_per_day=(0, 1), calls_per_session=(5, 20), nightly_calls=(0, 0)),
    Profile(days=21),
    Profile(days=28, scale=4),
    Profile(days=14, nightly_calls=(300, 400), nightly_model="claude-haiku-4-5"),
]


@pytest.mark.parametrize(("seed", "profile"), [(s, p) for s in (1, 2) for p in PROFILES])
def test_generated_history_verdict_follows_from_the_numbers(seed: int, profile: Profile) -> None:
    history = generate(seed, profile)
    rows = history.rows
    since = DAY0.replace(year=2025, month=3, day=3)
    until = since + timedelta(days=profile.days)
    assert since <= history.start and history.end < until
    plans = list(PRESETS.values())
    # Plans tailored to this history so every kind of verdict gets exercised: one that fits only
    # the interactive part, one that fits everything at a high fee.
    interactive_rows = [r for r in rows if not is_automated(r)]
    i_peak = rebuild_windows(interactive_rows, FIVE_HOURS).peak
    i_week = rebuild_windows(interactive_rows, ONE_WEEK).peak
    plans.append(plan("fits-interactive", "1", max(i_peak, 1), max(i_week, i_peak, 1)))
    advice = advise(rows, plans, since=since, until=until, tz=UTC)

    # The sums partition the calls.
    assert advice.all.calls == len(rows) == advice.automated.calls + advice.interactive.calls
    assert advice.all.cost_usd == advice.automated.cost_usd + advice.interactive.cost_usd
    assert advice.all.cost_usd == sum((s.cost_usd for s in advice.by_mode.values()), Decimal(0))
    assert advice.all.cost_usd == sum((r.cost_usd for r in rows if r.cost_usd is not None), Decimal(0))
    assert advice.all.weighted_tokens == sum(weighted_tokens(r) for r in rows)
    assert advice.all.unpriced_calls == sum(1 for r in rows if r.cost_usd is None)
    assert advice.all.no_cache_cost_usd > advice.all.cost_usd  # caching saved money on this mix
    # Monthly figures are the period's figures x 30 / days, rounded half up to the cent.
    factor = Decimal(30) / Decimal(profile.days)
    for s in (advice.all, advice.automated, advice.interactive):
        assert s.monthly_cost_usd == (s.cost_usd * factor).quantize(Decimal("0.01"), ROUND_HALF_UP)
    # Window counts agree with an independent rebuild.
    for check in advice.plans:
        assert check.five_hour_over == _windows_over(rows, FIVE_HOURS, check.plan.five_hour_tokens)
        assert check.weekly_over == _windows_over(rows, ONE_WEEK, check.plan.weekly_tokens)
        assert check.interactive_five_hour_over == _windows_over(
            interactive_rows, FIVE_HOURS, check.plan.five_hour_tokens
        )
    # The verdict is the rule applied to those numbers.
    kind, plan_name, cost = _rule(advice)
    assert (advice.verdict.kind, advice.verdict.plan.name if advice.verdict.plan else None) == (
        kind,
        plan_name,
    )
    assert advice.verdict.monthly_usd == cost
    assert f"${cost:,.2f}/mo" in advice.verdict_text or f"= ${cost:,.2f}/mo" in advice.verdict_text


def test_generated_histories_reach_each_kind_of_verdict() -> None:
    def verdict(profile: Profile, plans: list[PlanDefinition]) -> str:
        history = generate(5, profile)
        since = datetime(2025, 3, 3, tzinfo=UTC)
        return advise(
            history.rows, plans, since=since, until=since + timedelta(days=profile.days)
        ).verdict.kind

    presets = list(PRESETS.values())
    light = Profile(
        days=14, scale=0.02, sessions_per_day=(0, 1), calls_per_session=(5, 20), nightly_calls=(0, 0)
    )
    assert verdict(light, presets) == "api"
    assert verdict(Profile(days=14), presets) == "plan"
    heavy_nights = Profile(days=14, nightly_calls=(300, 400), nightly_model="claude-haiku-4-5")
    # A plan sized for the daytime work only, and one for everything that costs a lot more.
    day_plan = plan("day", "20", 1_000_000, 6_000_000)
    all_plan = plan("all", "2000", 50_000_000, 500_000_000)
    assert verdict(heavy_nights, [day_plan, all_plan]) == "hybrid"


# -- the Agent SDK credit: from Jun 15 2026 headless plan usage draws it instead of the windows --


def credited(name: str, fee: str, five: int, week: int, credit: str) -> PlanDefinition:
    return custom_plan(
        name=name,
        label=name.title(),
        monthly_fee_usd=fee,
        five_hour_tokens=five,
        weekly_tokens=week,
        sdk_credit_usd=credit,
    )


def daily(start: datetime, days: int, cost: str, maker: object, inp: int = 100) -> list[LedgerRow]:
    make = maker  # headless or interactive
    return [make(at=start + timedelta(days=d, hours=9), cost=cost, inp=inp, out=0) for d in range(days)]  # type: ignore[operator]


def between(
    rows: list[LedgerRow], plans: list[PlanDefinition], since: datetime, until: datetime, **kw: object
) -> Advice:
    return advise(rows, plans, since=since, until=until, tz=UTC, **kw)  # type: ignore[arg-type]


SEP = datetime(2026, 9, 1, tzinfo=UTC)


def test_after_june_15_headless_usage_draws_the_credit_then_usage_credits() -> None:
    rows = daily(SEP, 30, "5", headless) + daily(SEP, 30, "0.50", interactive)  # $150 + $15 a month
    advice = between(rows, [PRESETS["max-5x"]], SEP, SEP + timedelta(days=30))
    assert advice.rules == (
        "from Jun 15 2026: headless usage draws the $100.00 Agent SDK credit, then usage credits at API "
        "rates; interactive usage stays on the plan windows",
    )
    (seg,) = advice.segments
    assert (seg.days, seg.cycle_days, seg.automated_cost_usd) == (Decimal(30), Decimal(30), Decimal(150))
    (check,) = advice.plans
    assert check.per_segment == ((Decimal("100.00"), Decimal("100.00"), Decimal(50)),)
    assert (check.credit_covered_usd, check.overage_usd, check.monthly_overage_usd) == (
        Decimal("100.00"),
        Decimal(50),
        Decimal("50.00"),
    )
    assert advice.five_hour.peak == 100  # only the interactive calls count toward the windows
    assert advice.verdict.kind == "plan" and advice.verdict.monthly_usd == Decimal("150.00")
    assert advice.verdict_text == (
        "Plan Max 5x is cheaper: $100.00 + $50.00 usage credits = $150.00/mo vs $165.00/mo on an API key"
    )


def test_without_usage_credits_a_plan_the_automation_would_outrun_stops_and_is_not_eligible() -> None:
    rows = daily(SEP, 30, "5", headless) + daily(SEP, 30, "0.50", interactive)
    advice = between(rows, [PRESETS["max-5x"]], SEP, SEP + timedelta(days=30), usage_credits=False)
    assert advice.rules[0].endswith(
        "then stops until the credit refreshes (usage credits off); "
        "interactive usage stays on the plan windows"
    )
    plan_option = next(o for o in advice.options if o.kind == "plan")
    assert not plan_option.eligible and plan_option.monthly_usd == Decimal(100)
    assert (
        "passed its $100.00 Agent SDK credit by $50.00 and stopped (usage credits off)" in plan_option.why_not
    )
    assert advice.verdict.kind == "api" and advice.verdict.monthly_usd == Decimal("165.00")
    light = daily(SEP, 30, "3", headless) + daily(SEP, 30, "0.50", interactive)  # $90: inside the credit
    assert between(
        light, [PRESETS["max-5x"]], SEP, SEP + timedelta(days=30), usage_credits=False
    ).verdict.kind == ("plan")


def test_before_june_15_the_same_usage_counted_toward_the_windows() -> None:
    mar = datetime(2026, 3, 1, tzinfo=UTC)
    small = credited("small", "100", 500, 100_000, "100")
    rows = daily(mar, 30, "5", headless, inp=1000) + daily(mar, 30, "0.50", interactive)
    before = between(rows, [small], mar, mar + timedelta(days=30))
    assert before.rules == (
        "before Jun 15 2026: headless usage counted toward plan windows (like interactive usage)",
    )
    assert before.segments == () and before.plans[0].overage_usd == 0
    assert (
        before.plans[0].five_hour_over == 30 and not before.plans[0].fits_all
    )  # the headless calls passed it
    shifted = [replace(r, recorded_at=r.recorded_at - mar + SEP) for r in rows]
    after = between(shifted, [small], SEP, SEP + timedelta(days=30))
    assert after.plans[0].five_hour_over == 0 and after.plans[0].fits_all  # now on the credit instead
    assert after.plans[0].monthly_overage_usd == Decimal("50.00")


def test_a_period_straddling_june_15_reports_both_rule_sets_and_prorates_the_first_cycle() -> None:
    jun = datetime(2026, 6, 1, tzinfo=UTC)
    rows = daily(jun, 30, "10", headless) + daily(jun, 30, "1", interactive)
    advice = between(rows, [PRESETS["pro"], PRESETS["max-5x"]], jun, jun + timedelta(days=30))
    assert advice.rules == (
        "before Jun 15 2026: headless usage counted toward plan windows (like interactive usage)",
        "from Jun 15 2026: headless usage draws the plan's monthly Agent SDK credit (Pro $20.00, Max 5x "
        "$100.00), then usage credits at API rates; interactive usage stays on the plan windows",
    )
    (seg,) = advice.segments
    assert (seg.start, seg.end, seg.days, seg.cycle_days) == (
        datetime(2026, 6, 15, tzinfo=UTC),
        jun + timedelta(days=30),
        Decimal(16),
        Decimal(30),
    )
    assert seg.automated_cost_usd == Decimal(160) and seg.automated_calls == 16
    pro, max5 = advice.plans
    assert pro.per_segment == ((Decimal("10.67"), Decimal("10.67"), Decimal("149.33")),)
    assert max5.per_segment == ((Decimal("53.33"), Decimal("53.33"), Decimal("106.67")),)
    assert max5.monthly_overage_usd == Decimal("106.67")
    # the windows hold every call before Jun 15 and only the interactive ones after
    assert sum(advice.weekly.weighted) == 44 * 100 and sum(advice.five_hour.weighted) == 44 * 100


def test_billing_cycles_cut_the_period_at_the_cycle_day() -> None:
    rows = daily(SEP, 30, "5", headless)
    advice = between(rows, [PRESETS["max-5x"]], SEP, SEP + timedelta(days=30), cycle_day=14)
    first, second = advice.segments
    assert (first.start, first.end, first.days, first.cycle_days) == (
        SEP,
        datetime(2026, 9, 14, tzinfo=UTC),
        Decimal(13),
        Decimal(31),
    )
    assert (second.days, second.cycle_days, first.automated_cost_usd + second.automated_cost_usd) == (
        Decimal(17),
        Decimal(30),
        Decimal(150),
    )
    (check,) = advice.plans
    assert [a for a, _, _ in check.per_segment] == [Decimal("41.94"), Decimal("56.67")]
    assert check.overage_usd == Decimal(150) - Decimal("41.94") - Decimal("56.67")


def test_calibrated_and_user_limits_replace_the_estimates_in_the_verdict() -> None:
    """Pro's estimated 5-hour limit (1,000,000) is passed by a 1,500,000-token window; a limit
    calibrated from the server (or set by the user) above it makes Pro fit, and every plan's
    line says whose numbers were used."""
    from thrifty.billing.calibrate import Calibration, resolve_limits

    rows = [interactive(at=at(h), inp=500_000, out=0, cost="10") for h in range(3)]
    pro = PRESETS["pro"]
    estimated = run(rows, [pro])
    option = next(o for o in estimated.options if o.kind == "plan")
    assert (
        not option.eligible and option.why_not == "would have passed its estimated limits in 1 5-hour window"
    )
    assert estimated.limit_lines == (
        "Pro limits not published by Anthropic: 5-hour 1,000,000 estimated by thrifty, weekly 10,000,000 "
        "estimated by thrifty (weighted tokens); set your own with plan.limits in the config.",
    )

    cal = {
        "five_hour": Calibration("five_hour", 2_000_000, readings=9, windows=2, low=1_900_000, high=2_100_000)
    }
    calibrated = advise(
        rows,
        [pro],
        since=DAY0,
        until=DAY0 + timedelta(days=30),
        tz=UTC,
        limits={"pro": resolve_limits(pro, calibration=cal)},
    )
    check = calibrated.plans[0]
    assert check.five_hour_over == 0 and check.peak_five_hour == Decimal("0.75")
    assert calibrated.verdict.kind == "plan" and calibrated.verdict.plan is not None
    assert calibrated.limit_lines[0].startswith(
        "Pro limits not published by Anthropic: 5-hour 2,000,000 calibrated from 9 server readings "
        "in 2 windows, weekly 10,000,000 estimated by thrifty"
    )

    tight = {
        "five_hour": Calibration("five_hour", 1_200_000, readings=4, windows=1, low=1_200_000, high=1_200_000)
    }
    lim = resolve_limits(pro, user={"seven_day": 9_000_000}, calibration=tight)
    over = advise(rows, [pro], since=DAY0, until=DAY0 + timedelta(days=30), tz=UTC, limits={"pro": lim})
    option = next(o for o in over.options if o.kind == "plan")
    assert option.why_not == "would have passed its calibrated limits in 1 5-hour window"
    assert "weekly 9,000,000 set by you" in over.limit_lines[0]

    mine = resolve_limits(pro, user={"five_hour": 1_500_000, "seven_day": 9_000_000})
    exact = advise(rows, [pro], since=DAY0, until=DAY0 + timedelta(days=30), tz=UTC, limits={"pro": mine})
    assert exact.plans[0].five_hour_over == 0 and exact.plans[0].limit_word == ""
    assert exact.limit_lines == (
        "Pro limits: 5-hour 1,500,000 set by you, weekly 9,000,000 set by you (weighted tokens).",
    )
