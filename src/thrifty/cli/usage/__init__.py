"""``thrifty usage``: what the ledger recorded, by day, week, month, session, model or 5-hour block.

Each billing mode gets its own table (or its own ``totals`` entry in JSON): ``plan`` costs are
API-equivalent estimates and must never be summed into dollars actually billed. A cost that
is missing a price shows as a lower bound ("≥ $1.23"), never as if the unknown part were free.
The ``blocks`` view lives in ``blocks``, ``mismatches`` in ``mismatches``; what they share with
the other views (titles, row figures, the empty message) in ``common``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thrifty.billing.ledger import MODES, RowQuery
from thrifty.billing.plan_presets import ALL_PRESETS
from thrifty.cli.errors import EXIT_OK, UsageError
from thrifty.cli.usage.common import (
    LOGIN_PLAN,
    TITLES,
    add_view_flags,
    bounds,
    empty_message,
    fields,
    ledger_url,
    load_report,
    load_rows,
    numbers,
    shape,
    use_view_flags,
    when,
)
from thrifty.usage.costs import COST_MODES, DEFAULT_TOLERANCE, apply_cost_mode
from thrifty.usage.filters import SOURCES, FilterError, parse_timezone, project_candidates
from thrifty.usage.reports import VIEWS, WEEK_STARTS, Report, ReportRow, filter_projects

if TYPE_CHECKING:  # tables (and rich) load only for text output
    from thrifty.cli.usage.tables import Column

# Re-exported: other commands find and read the ledger the way ``thrifty usage`` does.
__all__ = ["add_parser", "ledger_url", "load_rows", "run"]

#: The same words for JSON readers, so a script can tell money paid from an estimate.
COST_BASIS = {"api": "billed", "plan": "api-equivalent estimate, not billed", "batch": "billed"}
KEY_HEADERS = {
    "daily": "Date",
    "weekly": "Week of",
    "monthly": "Month",
    "session": "Session",
    "model": "Model",
}
ALL_VIEWS = (*VIEWS, "blocks", "mismatches")

DESCRIPTION = """\
Report the token usage and cost the ledger recorded (thrifty's own calls and usage imported
from Claude Code). Views:
  daily       one row per calendar day (in --timezone)
  weekly      one row per week, keyed by its first day (--start-of-week, default monday)
  monthly     one row per month (YYYY-MM, in --timezone)
  session     one row per session: project, first and last call, models used
  model       one row per model
  blocks      5-hour blocks (as ccusage draws them); the active one with its projection
              (--active: only that one; with a plan, the share of its 5-hour limit)
  mismatches  calls whose logged cost differs from thrifty's calculated cost (--tolerance)
Every view is split by billing mode: api (billed per token), plan (flat fee; costs shown are
what the calls would have cost at API prices) and batch (API at the batch discount). Modes are
totalled separately, never added together. A cost shown as "≥ $x" leaves out calls whose model
has no known price (or, with --cost-mode display, no logged cost); "unknown" means none had one.

Cost modes (ccusage's): auto uses the cost the calling tool logged when there is one, else
thrifty's calculation from the tokens; calculate always calculates; display uses logged costs
only. See docs/usage.md."""

EPILOG = """\
--json prints {"view", "timezone", "since", "until", "ledger", "source", "cost_mode",
"cost_basis", "rows", "totals"}; each row and each per-mode total has "cost" as the exact
decimal string (null when no call had a price) and "cost_complete" (false when some calls had
no price); with --breakdown each also has "breakdown", the same fields per model. The blocks
and mismatches views print their own documents (docs/usage.md). --csv prints the rows only (no
totals, no breakdown), with the same fields. The ledger is --ledger, else $THRIFTY_LEDGER, else
ledger.sqlite3 in the data directory ($THRIFTY_DATA_DIR)."""


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "usage",
        help="report usage and cost by day, week, month, session, model or 5-hour block",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "view", nargs="?", choices=ALL_VIEWS, default="daily", help="the grouping (default: daily)"
    )
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument(
        "-j", "--json", action="store_true", help="print JSON (exact decimal costs) instead of tables"
    )
    fmt.add_argument("--csv", action="store_true", help="print the rows as CSV with a header line")
    fmt.add_argument(
        "--chart", action="store_true", help="daily, weekly, monthly: spend per period as bars, one per model"
    )
    fmt.add_argument(
        "--html",
        metavar="FILE",
        help="write the dashboard page to FILE (- for stdout; see thrifty dashboard)",
    )
    p.add_argument(
        "-s",
        "--since",
        metavar="WHEN",
        help="from this time on: YYYY-MM-DD, YYYYMMDD, an ISO time, or 7d/24h/2w ago",
    )
    p.add_argument(
        "--until",
        metavar="WHEN",
        help="up to this time; a date includes that whole day (same forms as --since)",
    )
    p.add_argument("--mode", choices=MODES, help="only this billing mode")
    p.add_argument(
        "--project", metavar="PATH_OR_NAME", help="only this project: its recorded name, or a path to it"
    )
    p.add_argument(
        "--source",
        choices=SOURCES,
        default="all",
        help="only calls thrifty made, or only usage imported from Claude Code (default: all)",
    )
    p.add_argument(
        "--cost-mode",
        choices=COST_MODES,
        default="auto",
        help="auto: logged cost when there is one, else calculated; calculate: from tokens; "
        "display: logged costs only (default: auto)",
    )
    p.add_argument("--breakdown", action="store_true", help="per-model rows under each group")
    p.add_argument("--ledger", metavar="URL", help="ledger path, sqlite:/// or postgresql:// URL")
    p.add_argument(
        "--timezone",
        metavar="TZ",
        help="zone for days, weeks, months and dates: UTC, Europe/Paris, ... (default: local)",
    )
    p.add_argument(
        "--start-of-week", choices=WEEK_STARTS, help="weekly view: the first day of a week (default: monday)"
    )
    p.add_argument(
        "--active", action="store_true", help="blocks view: only the active block, with its projection"
    )
    p.add_argument(
        "--live", action="store_true", help="blocks view: redraw the active block until Ctrl-C (a terminal)"
    )
    p.add_argument("--refresh", metavar="SECONDS", help="with --live: seconds between redraws (default: 1)")
    p.add_argument(
        "--plan",
        metavar="NAME",
        help=f"blocks view: compare with this plan's 5-hour limit ({', '.join([*ALL_PRESETS, LOGIN_PLAN])}; "
        "default: the plan stored by `thrifty login`, if any)",
    )
    p.add_argument(
        "--tolerance",
        metavar="USD",
        help=f"mismatches view: the difference that counts as a mismatch (default: {DEFAULT_TOLERANCE})",
    )
    add_view_flags(p)


def _check_flags(args: argparse.Namespace) -> None:
    """Flags that belong to one view are refused elsewhere rather than silently ignored."""
    only = {
        "--active": (args.active, "blocks"),
        "--live": (args.live, "blocks"),
        "--plan": (args.plan is not None, "blocks"),
        "--tolerance": (args.tolerance is not None, "mismatches"),
        "--start-of-week": (args.start_of_week is not None, "weekly"),
    }
    for flag, (given, view) in only.items():
        if given and args.view != view:
            raise UsageError(f"{flag} goes with the {view} view (thrifty usage {view} {flag} ...)")
    if args.csv and args.view not in VIEWS:
        raise UsageError(f"--csv is for the {', '.join(VIEWS)} views; use --json for {args.view}")


def tolerance(text: str | None) -> Decimal:
    if text is None:
        return DEFAULT_TOLERANCE
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or value < 0:
        raise UsageError(f"--tolerance: '{text}' is not a non-negative amount in USD")
    return value


def run(args: argparse.Namespace) -> int:
    _check_flags(args)
    use_view_flags(args)
    try:
        tz = parse_timezone(args.timezone)
    except FilterError as exc:
        raise UsageError(str(exc)) from exc
    now = datetime.now(UTC)
    since, until = bounds(args.since, args.until, tz, now)
    source = None if args.source == "all" else args.source
    query = RowQuery(since=since, until=until, mode=args.mode, source=source)
    url = ledger_url(args, os.environ)
    projects = project_candidates(args.project, Path.cwd()) if args.project else None
    filtered = any((args.since, args.until, args.mode, args.project, source))
    if args.html is not None:  # the page has its own sections; the view does not apply
        from thrifty.cli.dashboard import write_page

        write_page(args, args.html)
        return EXIT_OK
    if args.chart:
        from thrifty.cli.usage.chart import show_chart

        return show_chart(args, url, query, tz, projects, filtered)
    if args.live:  # reads the ledger afresh each frame; _check_flags kept it to the blocks view
        from thrifty.cli.usage.live import run_live

        return run_live(args, url, tz)
    if args.view not in VIEWS:  # blocks and mismatches look at every call
        location, rows = load_rows(url, query)
        rows = filter_projects(rows, projects)
        if args.view == "mismatches":
            from thrifty.cli.usage.mismatches import show_mismatches

            return show_mismatches(args, rows, tolerance(args.tolerance), tz, location, filtered)
        from thrifty.cli.usage.blocks import show_blocks

        return show_blocks(args, apply_cost_mode(rows, args.cost_mode), tz, now, location, filtered)
    location, report = load_report(
        url,
        query,
        view=args.view,
        tz=tz,
        modes=[args.mode] if args.mode else MODES,
        breakdown=args.breakdown,
        week_start=args.start_of_week or "monday",
        cost_mode=args.cost_mode,
        projects=projects,
    )
    report = shape(report, args.last, args.order)
    if args.json:
        doc = _json_doc(report, args, tz, since, until, location)
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    elif args.csv:
        _write_csv(report, tz)
    elif not report.rows:
        print(empty_message(location, filtered))
    else:
        _print_tables(report, tz, args.cost_mode)
    return EXIT_OK


def _json_doc(
    report: Report,
    args: argparse.Namespace,
    tz: tzinfo | None,
    since: datetime | None,
    until: datetime | None,
    location: str,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "view": report.view,
        "timezone": args.timezone or "local",
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "ledger": location,
        "source": args.source,
        "cost_mode": args.cost_mode,
        "cost_basis": {mode: COST_BASIS[mode] for mode in report.totals},
    }
    if report.view == "weekly":
        doc["start_of_week"] = args.start_of_week or "monday"
    b = args.breakdown
    doc["rows"] = [fields(row, report.view, tz, breakdown=b) for row in report.rows]
    doc["totals"] = {mode: fields(row, report.view, tz, breakdown=b) for mode, row in report.totals.items()}
    return doc


def _write_csv(report: Report, tz: tzinfo | None) -> None:
    import csv

    sample = fields(ReportRow(key="", mode=""), report.view, tz)
    writer = csv.DictWriter(sys.stdout, fieldnames=list(sample), lineterminator="\n")
    writer.writeheader()
    for row in report.rows:
        out = fields(row, report.view, tz)
        out["models"] = " ".join(out["models"])
        out["cost"] = out["cost"] or ""
        out["cost_complete"] = str(out["cost_complete"]).lower()
        writer.writerow({k: "" if v is None else v for k, v in out.items()})


def _columns(view: str) -> list[Column]:
    from thrifty.cli.usage.tables import NUMERIC, Column

    columns = [Column(KEY_HEADERS[view])]
    if view == "session":
        columns += [Column("Project", 7), Column("First", 3), Column("Last", 9)]
    if view != "model":
        columns.append(Column("Models", 4))
    return columns + NUMERIC


def _table_row(row: ReportRow, view: str, tz: tzinfo | None) -> list[str]:
    cells = [row.key]
    if view == "session":
        stamp = "%Y-%m-%d %H:%M"
        cells += [row.project or "", when(row.first_at, tz, stamp), when(row.last_at, tz, stamp)]
    if view != "model":
        # With a breakdown the per-model lines below name the models already.
        cells.append("" if row.breakdown else "\n".join(row.models))
    return [*cells, *numbers(row)]


def _breakdown_row(sub: ReportRow, view: str) -> list[str]:
    """A model's share of a group: the model in the key column, the other text cells blank."""
    blanks = (3 if view == "session" else 0) + (1 if view != "model" else 0)
    return [f"  └ {sub.key}", *([""] * blanks), *numbers(sub)]


COST_MODE_NOTES = {
    "calculate": "Costs: calculated from tokens at thrifty's prices (--cost-mode calculate).",
    "display": "Costs: logged costs only (--cost-mode display); calls without one count as unpriced.",
}


def _print_tables(report: Report, tz: tzinfo | None, cost_mode: str) -> None:
    from thrifty.cli.usage.tables import HIDDEN_NOTE, Grid, print_grid, report_console

    console = report_console()
    columns = _columns(report.view)
    unpriced, hidden = 0, False
    for mode, total in report.totals.items():
        rows = report.rows_of(mode)
        if not rows:
            continue
        grid = Grid(TITLES[mode], columns)
        for row in rows:
            grid.add(_table_row(row, report.view, tz))
            for sub in row.breakdown:
                grid.add(_breakdown_row(sub, report.view), "dim")
        total_row = replace(total, key="Total", models=(), first_at=None, last_at=None)
        grid.add(_table_row(total_row, report.view, tz), "bold", section=True)
        for sub in total.breakdown:
            grid.add(_breakdown_row(sub, report.view), "dim")
        hidden = print_grid(console, grid) or hidden
        unpriced += total.unpriced_calls
    if unpriced:
        calls = f"{unpriced:,} call{'s' if unpriced != 1 else ''}"
        what = "had no logged cost" if cost_mode == "display" else "used a model with no known price"
        console.print(f"≥: {calls} {what}; their cost is not included.")
    if cost_mode in COST_MODE_NOTES:
        console.print(COST_MODE_NOTES[cost_mode])
    if hidden:
        console.print(HIDDEN_NOTE)
