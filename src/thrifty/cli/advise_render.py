"""What ``thrifty advise`` prints: the tables and lines of the text output, and the ``--json`` document.

Split from ``thrifty.cli.advise_cmd`` (which reads the ledger and computes); every number comes
from ``thrifty.usage.advisor.Advice``.
"""

from __future__ import annotations

import argparse
from datetime import tzinfo
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from thrifty.billing.plan_presets import facts_for
from thrifty.cli.usage.common import decimal_text, when
from thrifty.cli.usage.tables import report_console
from thrifty.usage.advisor import Advice, Option, PlanCheck, Slice, Windows, money

STAMP = "%Y-%m-%d %H:%M"

RULE = (
    "the cheapest eligible option wins (ties: API key, then plan, then hybrid). A plan costs its fee "
    "plus, with usage credits on, the monthly usage past its Agent SDK credit; it is eligible when no "
    "5-hour window and no week of the usage counted toward windows passed its limits and, with "
    "usage credits off, automated usage never passed the credit; a hybrid (plan for interactive use, "
    "API key for automation) when interactive usage alone passed none."
)


def _slice_json(s: Slice) -> dict[str, Any]:
    return {
        "calls": s.calls,
        "weighted_tokens": s.weighted_tokens,
        "total_tokens": s.total_tokens,
        "cost": decimal_text(s.cost_usd),
        "no_cache_cost": decimal_text(s.no_cache_cost_usd),
        "cache_saving": decimal_text(s.cache_saving_usd),
        "unpriced_calls": s.unpriced_calls,
        "unpriced_weighted_tokens": s.unpriced_weighted_tokens,
        "cost_complete": s.cost_complete,
        "monthly_cost": decimal_text(s.monthly_cost_usd),
        "monthly_no_cache_cost": decimal_text(s.monthly_no_cache_usd),
    }


def _windows_json(all_: Windows, interactive: Windows) -> dict[str, Any]:
    return {
        "hours": int(all_.length.total_seconds() // 3600),
        "count": all_.count,
        "peak_weighted_tokens": all_.peak,
        "interactive_count": interactive.count,
        "interactive_peak_weighted_tokens": interactive.peak,
    }


def _plan_json(c: PlanCheck) -> dict[str, Any]:
    return {
        "name": c.plan.name,
        "label": c.plan.label,
        "monthly_fee": decimal_text(c.plan.monthly_fee_usd),
        "five_hour_limit": c.five_hour_limit,
        "weekly_limit": c.weekly_limit,
        "limits_are_estimates": c.limits.estimated if c.limits else c.plan.estimate,
        "limits": _limits_json(c),
        "five_hour_over": c.five_hour_over,
        "weekly_over": c.weekly_over,
        "peak_five_hour_fraction": decimal_text(c.peak_five_hour),
        "peak_weekly_fraction": decimal_text(c.peak_weekly),
        "interactive_five_hour_over": c.interactive_five_hour_over,
        "interactive_weekly_over": c.interactive_weekly_over,
        "interactive_peak_five_hour_fraction": decimal_text(c.interactive_peak_five_hour),
        "interactive_peak_weekly_fraction": decimal_text(c.interactive_peak_weekly),
        "fits_all": c.fits_all,
        "fits_interactive": c.fits_interactive,
        "agent_sdk_credit": decimal_text(c.plan.sdk_credit_usd)
        if c.plan.sdk_credit_usd is not None
        else None,
        "credit_allowance": decimal_text(c.credit_allowance_usd),
        "credit_covered": decimal_text(c.credit_covered_usd),
        "overage": decimal_text(c.overage_usd),
        "monthly_overage": decimal_text(c.monthly_overage_usd),
        "per_cycle": [
            {"allowance": decimal_text(a), "covered": decimal_text(cov), "overage": decimal_text(o)}
            for a, cov, o in c.per_segment
        ],
    }


def _limits_json(c: PlanCheck) -> dict[str, Any]:
    """Where each window limit came from, whether Anthropic publishes it, and the plan's sources."""
    facts = facts_for(c.plan)
    out: dict[str, Any] = {
        "published": c.limits.published if c.limits else False,
        "text": c.limits.line() if c.limits else None,
    }
    if c.limits is not None:
        out["five_hour"] = c.limits.five_hour.to_json()
        out["weekly"] = c.limits.weekly.to_json()
    out["sources"] = (
        [
            {"topic": f.topic, "fact": f.text, "source": f.source.url, "anthropic": f.source.anthropic}
            for f in facts.facts
        ]
        if facts is not None
        else []
    )
    return out


def _option_json(o: Option, advice: Advice) -> dict[str, Any]:
    return {
        "kind": o.kind,
        "plan": o.plan.name if o.plan else None,
        "name": o.name,
        "monthly_cost": decimal_text(o.monthly_usd),
        "plan_fee": decimal_text(o.plan.monthly_fee_usd) if o.plan else None,
        "api_part": decimal_text(o.api_part_usd),
        "eligible": o.eligible,
        "why_not": o.why_not or None,
    }


def json_doc(advice: Advice, args: argparse.Namespace, tz: tzinfo | None, location: str) -> dict[str, Any]:
    return {
        "period": {
            "since": when(advice.since, tz),
            "until": when(advice.until, tz),
            "days": decimal_text(advice.days),
            "month_days": 30,
            "first_call": when(advice.first_at, tz),
            "last_call": when(advice.last_at, tz),
            "active_days": advice.active_days,
        },
        "timezone": args.timezone or "local",
        "ledger": location,
        "source": args.source,
        "usage": {
            "all": _slice_json(advice.all),
            "automated": _slice_json(advice.automated),
            "interactive": _slice_json(advice.interactive),
        },
        "by_mode": {mode: _slice_json(s) for mode, s in advice.by_mode.items()},
        "automated_share": {
            "cost": decimal_text(advice.automated_share_cost),
            "weighted_tokens": decimal_text(advice.automated_share_weighted),
        },
        "windows": {
            "five_hour": _windows_json(advice.five_hour, advice.interactive_five_hour),
            "weekly": _windows_json(advice.weekly, advice.interactive_weekly),
        },
        "rules": {
            "credit_start": when(advice.cutoff, tz),
            "applied": list(advice.rules),
            "usage_credits": advice.usage_credits,
            "billing_cycle_day": advice.cycle_day,
            "cycles": [
                {
                    "start": when(seg.start, tz),
                    "end": when(seg.end, tz),
                    "days": decimal_text(seg.days),
                    "cycle_start": when(seg.cycle_start, tz),
                    "cycle_end": when(seg.cycle_end, tz),
                    "cycle_days": decimal_text(seg.cycle_days),
                    "automated_calls": seg.automated_calls,
                    "automated_cost": decimal_text(seg.automated_cost_usd),
                    "unpriced_calls": seg.unpriced_calls,
                }
                for seg in advice.segments
            ],
        },
        "plans": [_plan_json(c) for c in advice.plans],
        "options": [_option_json(o, advice) for o in advice.options],
        "rule": RULE,
        "verdict": {
            "kind": advice.verdict.kind,
            "plan": advice.verdict.plan.name if advice.verdict.plan else None,
            "monthly_cost": decimal_text(advice.verdict.monthly_usd),
            "text": advice.verdict_text,
        },
    }


def _mark(c: PlanCheck) -> str:
    """`` *`` when a limit is thrifty's estimate, `` ~`` when calibrated (and none estimated)."""
    if c.limits is None:
        return " *" if c.plan.estimate else ""
    return " *" if c.limits.estimated else " ~" if c.limits.calibrated else ""


def _percent(fraction: Decimal | None) -> str:
    return "-" if fraction is None else f"{fraction * 100:.1f}%"


def summary(advice: Advice) -> list[str]:
    """The verdict and the few figures it rests on: what a reader came for, before the tables."""
    lower = "" if advice.all.cost_complete else "≥ "
    eligible = [o for o in advice.options if o.eligible]
    others = len(advice.options) - len(eligible)
    options = "; ".join(f"{o.name} {money(o.monthly_usd)}" for o in eligible[:3]) or "none"
    return [
        f"Verdict: {advice.verdict_text}",
        f"  Usage: {advice.all.calls:,} calls over {advice.days.quantize(Decimal('0.01'))} days; "
        f"{lower}{money(advice.all.monthly_cost_usd)}/mo at API prices "
        f"({lower}{money(advice.all.monthly_no_cache_usd)}/mo without caching); automated "
        f"{_percent(advice.automated_share_cost)} of the cost.",
        f"  Cheapest options that fit, per month: {options}"
        + (f" ({others} more do not fit; see Options per month)." if others else "."),
        "  The numbers behind it follow; the rule is at the end.",
    ]


def render(advice: Advice, tz: tzinfo | None, location: str) -> None:
    console = report_console()
    for line in summary(advice):
        console.print(line)
    console.print()
    days = advice.days.quantize(Decimal("0.01"))
    console.print(
        f"Period: {when(advice.since, tz, STAMP)} to {when(advice.until, tz, STAMP)} ({days} days; "
        f"calls on {advice.active_days} of them, {when(advice.first_at, tz, STAMP)} to "
        f"{when(advice.last_at, tz, STAMP)}). Per month = period x 30 / {days}."
    )
    console.print(f"Ledger: {location}")
    for rule in advice.rules:
        console.print(f"Rules {rule}.")

    costs = Table(
        title="API-equivalent cost (list prices, with the cache discounts that happened)",
        title_justify="left",
    )
    for header in (
        "",
        "Calls",
        "Weighted\ntokens",
        "Cost in\nperiod",
        "Per month",
        "Per month\nwithout cache",
    ):
        costs.add_column(header, justify="left" if not header else "right", no_wrap=True)
    for s in (advice.all, advice.automated, advice.interactive):
        lower = "" if s.cost_complete else "≥ "
        costs.add_row(
            s.name,
            f"{s.calls:,}",
            f"{s.weighted_tokens:,}",
            f"{lower}{money(s.cost_usd)}",
            f"{lower}{money(s.monthly_cost_usd)}",
            f"{lower}{money(s.monthly_no_cache_usd)}",
        )
    console.print(costs)
    parts = ", ".join(f"{mode} {money(s.cost_usd)}" for mode, s in advice.by_mode.items())
    console.print(f"By mode in the period: {parts} (plan: what those calls would have cost on an API key).")
    if advice.all.unpriced_calls:
        console.print(
            f"Calls with no known price: {advice.all.unpriced_calls:,} "
            f"({advice.all.unpriced_weighted_tokens:,} weighted tokens), not in the costs above (≥)."
        )
    five, week = advice.five_hour, advice.weekly
    i_five, i_week = advice.interactive_five_hour, advice.interactive_weekly
    console.print(
        f"Automated usage (thrifty runs, Claude Code headless/SDK): {_percent(advice.automated_share_cost)} "
        f"of the cost, {_percent(advice.automated_share_weighted)} of the weighted tokens. Moving only it "
        f"to an API key costs {money(advice.automated.monthly_cost_usd)}/mo. Busiest 5-hour window: "
        f"{five.peak:,} weighted tokens with it, {i_five.peak:,} without; busiest week: {week.peak:,} "
        f"with, {i_week.peak:,} without (windows are rebuilt for each, so they can regroup)."
    )
    console.print(
        f"Plan windows rebuilt from the calls (each opens with the first call after the previous one "
        f"ended): {five.count} of 5 hours, {week.count} of a week; {i_five.count} and {i_week.count} "
        "without automated usage."
    )
    for line in advice.limit_lines:
        console.print(line)
    # Two tables rather than one wide one: nine columns do not fit an 80-column terminal.
    plan_table = Table(
        title="Plans, all usage (limits marked * are estimates, ~ calibrated)", title_justify="left"
    )
    for header in ("Plan", "Fee/mo", "5h windows\nover", "Weeks\nover", "Peak 5h", "Peak\nweek"):
        plan_table.add_column(header, justify="left" if header == "Plan" else "right")
    interactive = Table(title="Plans, interactive usage only", title_justify="left")
    for header in ("Plan", "5h windows\nover", "Weeks\nover", "Peak 5h", "Peak\nweek"):
        interactive.add_column(header, justify="left" if header == "Plan" else "right")
    for c in advice.plans:
        label = f"{c.plan.label}{_mark(c)}"
        plan_table.add_row(
            label,
            money(c.plan.monthly_fee_usd),
            str(c.five_hour_over),
            str(c.weekly_over),
            _percent(c.peak_five_hour),
            _percent(c.peak_weekly),
        )
        interactive.add_row(
            label,
            str(c.interactive_five_hour_over),
            str(c.interactive_weekly_over),
            _percent(c.interactive_peak_five_hour),
            _percent(c.interactive_peak_weekly),
        )
    console.print(plan_table)
    console.print(interactive)
    if advice.segments:
        _render_credit(console, advice, tz)

    options = Table(title="Options per month", title_justify="left")
    for header in ("Option", "Cost/mo", "Eligible"):
        options.add_column(header, justify="right" if header == "Cost/mo" else "left")
    for o in advice.options:
        cost = money(o.monthly_usd)
        if o.kind == "hybrid" and o.plan is not None:
            cost = f"{money(o.plan.monthly_fee_usd)} + {money(advice.automated.monthly_cost_usd)} = {cost}"
        elif o.kind == "plan" and o.plan is not None and o.api_part_usd:
            cost = f"{money(o.plan.monthly_fee_usd)} + {money(o.api_part_usd)} = {cost}"
        options.add_row(o.name, cost, "yes" if o.eligible else f"no: {o.why_not}")
    console.print(options)
    console.print(f"Rule: {RULE}")


def _render_credit(console: Console, advice: Advice, tz: tzinfo | None) -> None:
    """Per billing-cycle piece from Jun 15 2026: automated usage at API rates against each credit."""
    then = "usage credits at API rates" if advice.usage_credits else "a stop (usage credits off)"
    table = Table(
        title=f"Agent SDK credit per billing cycle (cycle day {advice.cycle_day}; past the credit: {then})",
        title_justify="left",
    )
    table.add_column("Cycle piece")
    table.add_column("Days", justify="right")
    table.add_column("Automated\n(API key)", justify="right")
    for c in advice.plans:
        table.add_column(f"{c.plan.label}\ncredit / over", justify="right")
    for i, seg in enumerate(advice.segments):
        lower = "≥ " if seg.unpriced_calls else ""
        cells = [
            f"{when(seg.start, tz, '%Y-%m-%d')} to {when(seg.end, tz, '%Y-%m-%d')}",
            f"{seg.days.quantize(Decimal('0.01'))} of {seg.cycle_days.quantize(Decimal('0.01'))}",
            f"{lower}{money(seg.automated_cost_usd)}",
        ]
        for c in advice.plans:
            allowance, _, over = c.per_segment[i]
            cells.append(f"{money(allowance)} / {lower}{money(over)}")
        table.add_row(*cells)
    console.print(table)
    console.print(
        "A piece covering part of its cycle gets that share of the credit (credit x days / cycle days); "
        "monthly overage = sum of overages x 30 / period days: "
        + ", ".join(f"{c.plan.label} {money(c.monthly_overage_usd)}/mo" for c in advice.plans)
        + "."
    )
