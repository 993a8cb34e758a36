"""``thrifty advise``: plan or API key, for the usage of a chosen period, with every number behind it.

The computation is ``thrifty.usage.advisor.advise``; this module reads the ledger, picks the
period and the plans, and prints. The verdict rule is printed with the numbers so a reader can
check it by hand (docs/usage.md walks through it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from thrifty.billing.config import BillingConfig, load_billing_config
from thrifty.billing.ledger import RowQuery
from thrifty.billing.plan_presets import ALL_PRESETS, PRESETS, PlanDefinition
from thrifty.cli.errors import EXIT_OK, UsageError
from thrifty.cli.usage.common import (
    LOGIN_PLAN,
    bounds,
    decimal_text,
    ledger_url,
    load_rows,
    plan_named,
    stored_plan,
    when,
)
from thrifty.usage.advisor import Advice, Option, PlanCheck, Slice, Windows, advise, money
from thrifty.usage.filters import SOURCES, FilterError, parse_timezone, project_candidates
from thrifty.usage.reports import filter_projects

#: Exit status when the period holds no usage: nothing to advise on (documented in docs/usage.md).
EXIT_NO_USAGE = 2
DEFAULT_DAYS = 30
#: A century: longer periods are a typo, and past a few thousand years dates overflow.
MAX_DAYS = 36_500
STAMP = "%Y-%m-%d %H:%M"

RULE = (
    "the cheapest eligible option wins (ties: API key, then plan, then hybrid). A plan costs its fee "
    "plus, with usage credits on, the monthly usage past its Agent SDK credit; it is eligible when no "
    "5-hour window and no week of the usage counted toward windows passed its limits and, with "
    "usage credits off, automated usage never passed the credit; a hybrid (plan for interactive use, "
    "API key for automation) when interactive usage alone passed none."
)

DESCRIPTION = """\
Compare what your usage over a period would cost on an API key with each plan's fee:
  - the API-equivalent cost at list prices, with the cache discounts that actually happened
    (and what it would have been without caching), scaled to a 30-day month;
  - for each plan, how many 5-hour windows and weeks would have passed its limits (rebuilt
    from the calls in weighted tokens; preset limits are estimates);
  - the automated share (thrifty runs, Claude Code headless/SDK) and what moving only that
    to an API key would cost and free;
  - a verdict, by a rule printed with the numbers. See docs/usage.md."""

EPILOG = """\
The period is --since/--until when given; otherwise the --days (default 30) before --until (or
now). --json prints every number (decimal strings for money). Exit 0 with advice, 1 for a bad
argument or an unreadable ledger, 2 when the period holds no usage."""


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "advise",
        help="plan or API key? the numbers for a period of usage, and a verdict",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--since", metavar="WHEN", help="start of the period: YYYY-MM-DD, an ISO time, or 7d/2w ago"
    )
    p.add_argument("--until", metavar="WHEN", help="end of the period; a date includes that whole day")
    p.add_argument(
        "--days", metavar="N", type=int, help=f"length of the period in days (default {DEFAULT_DAYS})"
    )
    p.add_argument(
        "--plan",
        metavar="NAME",
        nargs="+",
        action="extend",
        help=f"plans to compare ({', '.join([*ALL_PRESETS, LOGIN_PLAN])}; default: every preset, plus the "
        "stored login's plan when it is a custom one)",
    )
    p.add_argument(
        "--usage-credits",
        choices=("on", "off"),
        help="whether usage past a plan's Agent SDK credit goes to usage credits (on) or stops (off); "
        'default: the "plan" config\'s agentSdkCredit.usageCredits, else on',
    )
    p.add_argument("--json", action="store_true", help="print every number as JSON")
    p.add_argument(
        "--source", choices=SOURCES, default="all", help="only thrifty's calls or only Claude Code's"
    )
    p.add_argument("--project", metavar="PATH_OR_NAME", help="only this project")
    p.add_argument("--ledger", metavar="URL", help="ledger path, sqlite:/// or postgresql:// URL")
    p.add_argument("--timezone", metavar="TZ", help="zone for dates (default: local)")


def period(args: argparse.Namespace, tz: tzinfo | None, now: datetime) -> tuple[datetime, datetime]:
    since, until = bounds(args.since, args.until, tz, now)
    if args.days is not None:
        if not 0 < args.days <= MAX_DAYS:
            raise UsageError(f"--days must be a whole number of days from 1 to {MAX_DAYS}")
        if since is not None and until is not None:
            raise UsageError("--days goes with at most one of --since and --until")
    days = timedelta(days=args.days or DEFAULT_DAYS)
    if since is not None and until is None:
        until = since + min(days, datetime.max.replace(tzinfo=UTC) - since) if args.days is not None else now
        if until <= since:
            raise UsageError("--since is in the future")
    if until is None:
        until = now
    if since is None:
        since = max(until - days, datetime.min.replace(tzinfo=UTC))
    return since, until


def plans(args: argparse.Namespace, config: BillingConfig | None = None) -> list[PlanDefinition]:
    if args.plan:
        chosen: dict[str, PlanDefinition] = {}
        for name in args.plan:
            chosen.setdefault(name, plan_named(name, os.environ))
        return list(chosen.values())
    out = list(PRESETS.values())
    login = stored_plan(os.environ)
    if login is not None and login.name not in PRESETS:
        out.append(login)
    configured = config.plan.definition if config is not None and config.plan is not None else None
    if configured is not None and all(p.name != configured.name for p in out):
        out.append(configured)
    return out


def run(args: argparse.Namespace) -> int:
    try:
        tz = parse_timezone(args.timezone)
    except FilterError as exc:
        raise UsageError(str(exc)) from exc
    now = datetime.now(UTC)
    since, until = period(args, tz, now)
    config = load_billing_config(Path.cwd(), os.environ)
    chosen = plans(args, config)
    settings = config.plan
    if args.usage_credits is not None:
        usage_credits = args.usage_credits == "on"
    else:
        usage_credits = settings.usage_credits if settings is not None else True
    cycle_day = settings.billing_cycle_day if settings is not None else 1
    source = None if args.source == "all" else args.source
    location, rows = load_rows(
        ledger_url(args, os.environ), RowQuery(since=since, until=until, source=source)
    )
    rows = filter_projects(rows, project_candidates(args.project, Path.cwd()) if args.project else None)
    if not rows:
        print(
            f"error: no usage in {location} from {when(since, tz, STAMP)} to {when(until, tz, STAMP)}; "
            "nothing to advise on (widen --days or --since, or import Claude Code usage)",
            file=sys.stderr,
        )
        return EXIT_NO_USAGE
    advice = advise(
        rows, chosen, since=since, until=until, tz=tz, usage_credits=usage_credits, cycle_day=cycle_day
    )
    if args.json:
        doc = json_doc(advice, args, tz, location)
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    else:
        render(advice, tz, location)
    return EXIT_OK


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
        "five_hour_limit": c.plan.five_hour_tokens,
        "weekly_limit": c.plan.weekly_tokens,
        "limits_are_estimates": c.plan.estimate,
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


def _percent(fraction: Decimal | None) -> str:
    return "-" if fraction is None else f"{fraction * 100:.1f}%"


def render(advice: Advice, tz: tzinfo | None, location: str) -> None:
    console = Console(highlight=False)
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
    # Two tables rather than one wide one: nine columns do not fit an 80-column terminal.
    plan_table = Table(title="Plans, all usage (limits marked * are estimates)", title_justify="left")
    for header in ("Plan", "Fee/mo", "5h windows\nover", "Weeks\nover", "Peak 5h", "Peak\nweek"):
        plan_table.add_column(header, justify="left" if header == "Plan" else "right")
    interactive = Table(title="Plans, interactive usage only", title_justify="left")
    for header in ("Plan", "5h windows\nover", "Weeks\nover", "Peak 5h", "Peak\nweek"):
        interactive.add_column(header, justify="left" if header == "Plan" else "right")
    for c in advice.plans:
        label = f"{c.plan.label}{' *' if c.plan.estimate else ''}"
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
    console.print(f"Verdict: {advice.verdict_text}")


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
