"""``thrifty dashboard`` (and ``thrifty usage --html FILE``): the ledger's spend as one HTML page.

The page is built from the rows the usage tables read, with the same filters and cost modes;
its numbers come from ``thrifty.usage.dashboard.data`` and, for the verdict, from the very
functions ``thrifty advise`` runs, so the page can never disagree with the commands it
summarises. It is written atomically (a reader never opens half a page) and makes no request
when opened.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from thrifty.billing.config import load_billing_config
from thrifty.billing.ledger import MODES, RowQuery
from thrifty.billing.paths import data_dir
from thrifty.cli.errors import EXIT_OK, UsageError
from thrifty.cli.usage.common import TITLES, bounds, ledger_url, load_rows
from thrifty.usage.costs import COST_MODES, apply_cost_mode
from thrifty.usage.filters import SOURCES, FilterError, parse_timezone, project_candidates
from thrifty.usage.reports import filter_projects

__all__ = ["add_parser", "build_page", "run", "write_page"]

DEFAULT_NAME = "dashboard.html"

DESCRIPTION = """\
Write the ledger's usage as one self-contained HTML page: spend per day by model, by project
and by billing mode, what caching saved, the plan's 5-hour and weekly windows (with a plan
configured by `thrifty login`) and `thrifty advise`'s verdict for the last 30 days (or the
--since/--until period). The page loads nothing from the network: CSS, script, charts and data
are inline, and the exact numbers are embedded as JSON (<script id="thrifty-data">). Billing
modes are never added together: plan costs are API-equivalent estimates. See docs/dashboard.md."""

EXAMPLES = """\
Examples:
  # the whole ledger, opened in the browser
  thrifty dashboard --open
  # the last 30 days of one project, to a file
  thrifty dashboard -s 30d --project . -o usage.html
  # plan usage only, written to stdout
  thrifty dashboard --mode plan -o - > plan.html
"""


def add_filters(p: argparse.ArgumentParser) -> None:
    """The filters ``thrifty usage`` takes, with the same meaning."""
    p.add_argument(
        "--since", "-s", metavar="WHEN", help="from this time on: YYYY-MM-DD, an ISO time, or 7d/24h/2w ago"
    )
    p.add_argument("--until", metavar="WHEN", help="up to this time; a date includes that whole day")
    p.add_argument("--mode", choices=MODES, help="only this billing mode")
    p.add_argument(
        "--project", metavar="PATH_OR_NAME", help="only this project: its recorded name, or a path to it"
    )
    p.add_argument(
        "--source", choices=SOURCES, default="all", help="only thrifty's calls or only Claude Code's"
    )
    p.add_argument(
        "--cost-mode", choices=COST_MODES, default="auto", help="as in thrifty usage (default: auto)"
    )
    p.add_argument("--ledger", metavar="URL", help="ledger path, sqlite:/// or postgresql:// URL")
    p.add_argument("--timezone", metavar="TZ", help="zone for days: UTC, Europe/Paris, ... (default: local)")


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "dashboard",
        help="write the usage as one offline HTML page (charts, cache savings, plan windows, verdict)",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help=f"where to write the page; - for stdout (default: {DEFAULT_NAME} in the data directory)",
    )
    p.add_argument("--open", action="store_true", help="open the page in the default browser afterwards")
    add_filters(p)


def _advice(args: argparse.Namespace, tz: tzinfo | None, now: datetime, url: str) -> dict[str, Any]:
    """``thrifty advise --json``'s document for the page's filters (every billing mode: the
    verdict weighs all usage), or ``{"error": ...}`` saying why there is none."""
    from thrifty.cli.advise_cmd import period, plan_limits, plans
    from thrifty.cli.advise_render import json_doc
    from thrifty.usage.advisor import advise

    ask = argparse.Namespace(
        since=args.since, until=args.until, days=None, plan=None, timezone=args.timezone, source=args.source
    )
    since, until = period(ask, tz, now)
    config = load_billing_config(Path.cwd(), os.environ)
    chosen = plans(ask, config)
    settings = config.plan
    source = None if args.source == "all" else args.source
    location, rows = load_rows(url, RowQuery(since=since, until=until, source=source))
    rows = filter_projects(rows, project_candidates(args.project, Path.cwd()) if args.project else None)
    if not rows:
        return {"error": f"No usage from {since:%Y-%m-%d} to {until:%Y-%m-%d}: nothing to advise on."}
    advice = advise(
        rows,
        chosen,
        since=since,
        until=until,
        tz=tz,
        usage_credits=settings.usage_credits if settings is not None else True,
        cycle_day=settings.billing_cycle_day if settings is not None else 1,
        limits=plan_limits(chosen, config, url, until),
    )
    return json_doc(advice, ask, tz, location)


def build_page(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """The page and its data document for ``args`` (the filters of ``add_filters``)."""
    from thrifty.cli.advise_cmd import plan_limits
    from thrifty.usage.dashboard.data import PlanSetup, Scope, dashboard_data
    from thrifty.usage.dashboard.page import render_page

    try:
        tz = parse_timezone(args.timezone)
    except FilterError as exc:
        raise UsageError(str(exc)) from exc
    now = datetime.now(UTC)
    since, until = bounds(args.since, args.until, tz, now)
    source = None if args.source == "all" else args.source
    url = ledger_url(args, os.environ)
    location, loaded = load_rows(url, RowQuery(since=since, until=until, mode=args.mode, source=source))
    rows = filter_projects(loaded, project_candidates(args.project, Path.cwd()) if args.project else None)
    config = load_billing_config(Path.cwd(), os.environ)
    setup = None
    if config.plan is not None:
        plan = config.plan.definition
        setup = PlanSetup(plan, plan_limits([plan], config, url, now)[plan.name])
    scope = Scope(
        ledger=location,
        timezone=args.timezone or "local",
        since=since,
        until=until,
        mode=args.mode,
        project=args.project,
        source=args.source,
        cost_mode=args.cost_mode,
    )
    doc = dashboard_data(
        apply_cost_mode(rows, args.cost_mode),
        scope,
        tz=tz,
        now=now,
        titles=TITLES,
        plan=setup,
        advice=_advice(args, tz, now, url),
    )
    return render_page(doc), doc


def write_page(args: argparse.Namespace, output: str, *, make_dirs: bool = False) -> Path | None:
    """Write the page to ``output`` (``-``: stdout, then ``None``); the path written otherwise.
    ``make_dirs`` creates missing folders: for the default place only, where a typo cannot
    leave a stray folder behind."""
    page, _ = build_page(args)
    if output == "-":
        sys.stdout.write(page)
        return None
    path = Path(output).expanduser().absolute()
    if path.is_dir():
        raise UsageError(f"{output}: is a directory; give a file name for the page")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if make_dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from exc
    print(f"Wrote {path}", file=sys.stderr)
    return path


def run(args: argparse.Namespace) -> int:
    output = args.output or str(data_dir(os.environ) / DEFAULT_NAME)
    if args.open and output == "-":
        raise UsageError("--open needs a file (--output FILE), not stdout")
    path = write_page(args, output, make_dirs=args.output is None)
    if path is not None and args.open:
        import webbrowser

        if not webbrowser.open(path.as_uri()):
            print(f"note: no browser to open; open {path.as_uri()} yourself", file=sys.stderr)
    return EXIT_OK
