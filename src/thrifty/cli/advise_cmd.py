"""``thrifty advise``: plan or API key, for the usage of a chosen period, with every number behind it.

The computation is ``thrifty.usage.advisor.advise``; this module reads the ledger, picks the
period and the plans and their window limits, and prints (``thrifty.cli.advise_render``). The
verdict rule is printed with the numbers so a reader can check it by hand (docs/usage.md walks
through it). Window limits (docs/plans.md): the user's ``plan.limits`` win, then limits
calibrated from the server's utilisation headers in the ledger (for the user's own plan only:
the headers describe that plan), then the presets' estimates; each is labelled.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from thrifty.billing.calibrate import LOOKBACK, PlanLimits, calibrate, resolve_limits
from thrifty.billing.config import BillingConfig, load_billing_config
from thrifty.billing.ledger import RowQuery
from thrifty.billing.plan_presets import ALL_PRESETS, PRESETS, PlanDefinition
from thrifty.cli.advise_render import STAMP, json_doc, render
from thrifty.cli.errors import EXIT_OK, UsageError
from thrifty.cli.usage.common import (
    LOGIN_PLAN,
    add_compact_flag,
    bounds,
    ledger_url,
    load_rows,
    plan_named,
    stored_plan,
    use_compact,
    when,
)
from thrifty.usage.advisor import advise
from thrifty.usage.filters import SOURCES, FilterError, parse_timezone, project_candidates
from thrifty.usage.reports import filter_projects

#: Exit status when the period holds no usage: nothing to advise on (documented in docs/usage.md).
EXIT_NO_USAGE = 2
DEFAULT_DAYS = 30
#: A century: longer periods are a typo, and past a few thousand years dates overflow.
MAX_DAYS = 36_500

DESCRIPTION = """\
Compare what your usage over a period would cost on an API key with each plan's fee:
  - the API-equivalent cost at list prices, with the cache discounts that actually happened
    (and what it would have been without caching), scaled to a 30-day month;
  - for each plan, how many 5-hour windows and weeks would have passed its limits (rebuilt
    from the calls in weighted tokens). Anthropic publishes no window sizes: each limit is
    yours (plan.limits in the config), calibrated from the server's utilisation headers in
    the ledger (your own plan), or thrifty's estimate, and the output says which;
  - the automated share (thrifty runs, Claude Code headless/SDK) and what moving only that
    to an API key would cost and free;
  - a verdict, by a rule printed with the numbers. See docs/usage.md."""

EPILOG = """\
The verdict comes first, with the figures it rests on; the tables behind them follow.
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
        "-s", "--since", metavar="WHEN", help="start of the period: YYYY-MM-DD, an ISO time, or 7d/2w ago"
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
    p.add_argument("-j", "--json", action="store_true", help="print every number as JSON")
    add_compact_flag(p)
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
    if configured is not None:
        # The configured plan replaces its preset: it carries the limits the user set.
        out = [configured if p.name == configured.name else p for p in out]
        if all(p.name != configured.name for p in out):
            out.append(configured)
    return out


def plan_limits(
    chosen: list[PlanDefinition], config: BillingConfig | None, url: str, until: datetime
) -> dict[str, PlanLimits]:
    """Each plan's window limits with their sources. The user's own plan (the config's
    ``"plan"``) gets its ``plan.limits`` and the limits calibrated from the ledger's readings of
    the ``LOOKBACK`` before ``until``; the other plans keep their own numbers."""
    settings = config.plan if config is not None else None
    out = {p.name: resolve_limits(p) for p in chosen}
    if settings is None:
        return out
    own = settings.definition
    if own.name not in out:
        return out
    calibration = {}
    if own.estimate:  # a plan with every limit the user's needs no calibration
        _, rows = load_rows(url, RowQuery(since=until - LOOKBACK, until=until, mode="plan"))
        calibration = calibrate(rows)
    out[own.name] = resolve_limits(own, user=settings.user_limits, calibration=calibration)
    return out


def run(args: argparse.Namespace) -> int:
    use_compact(args.compact)
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
    limits = plan_limits(chosen, config, ledger_url(args, os.environ), until)
    advice = advise(
        rows,
        chosen,
        since=since,
        until=until,
        tz=tz,
        usage_credits=usage_credits,
        cycle_day=cycle_day,
        limits=limits,
    )
    if args.json:
        doc = json_doc(advice, args, tz, location)
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    else:
        render(advice, tz, location)
    return EXIT_OK
