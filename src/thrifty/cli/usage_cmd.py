"""``thrifty usage``: what the ledger recorded, by day, month, session or model.

Each billing mode gets its own table (or its own ``totals`` entry in JSON): ``plan`` costs are
API-equivalent estimates and must never be summed into dollars actually billed. A cost that
is missing a price shows as a lower bound ("≥ $1.23"), never as if the unknown part were free.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from thrifty.billing.config import ConfigError, load_billing_config
from thrifty.billing.ledger import MODES, LedgerError, LedgerRow, RowQuery, open_ledger
from thrifty.billing.ledger.open import sqlite_path
from thrifty.billing.paths import default_ledger_path
from thrifty.cli.errors import EXIT_OK, UsageError
from thrifty.usage.filters import FilterError, parse_bound, parse_timezone, project_candidates, to_local
from thrifty.usage.reports import VIEWS, Report, ReportRow, build_report, filter_projects

TITLES = {
    "api": "API (billed per token)",
    "plan": "Plan (API-equivalent estimate, not billed)",
    "batch": "Batch (billed per token at the batch discount)",
}
#: The same words for JSON readers, so a script can tell money paid from an estimate.
COST_BASIS = {"api": "billed", "plan": "api-equivalent estimate, not billed", "batch": "billed"}
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
KEY_HEADERS = {"daily": "Date", "monthly": "Month", "session": "Session", "model": "Model"}

DESCRIPTION = """\
Report the token usage and cost the ledger recorded. Views:
  daily    one row per calendar day (in --timezone)
  monthly  one row per month (YYYY-MM, in --timezone)
  session  one row per session: project, first and last call, models used
  model    one row per model
Every view is split by billing mode: api (billed per token), plan (flat fee; costs shown are
what the calls would have cost at API prices) and batch (API at the batch discount). Modes are
totalled separately, never added together. A cost shown as "≥ $x" leaves out calls whose model
has no known price; "unknown" means none of them had one."""

EPILOG = """\
--json prints {"view", "timezone", "since", "until", "ledger", "cost_basis", "rows", "totals"};
each row and each per-mode total has "cost" as the exact decimal string (null when no call had
a price) and "cost_complete" (false when some calls had no price). --csv prints the rows only
(no totals), with the same fields. The ledger is --ledger, else $THRIFTY_LEDGER, else
ledger.sqlite3 in the data directory ($THRIFTY_DATA_DIR)."""


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "usage",
        help="report usage and cost by day, month, session or model",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("view", nargs="?", choices=VIEWS, default="daily", help="the grouping (default: daily)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON (exact decimal costs) instead of tables")
    fmt.add_argument("--csv", action="store_true", help="print the rows as CSV with a header line")
    p.add_argument(
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
    p.add_argument("--ledger", metavar="URL", help="ledger path, sqlite:/// or postgresql:// URL")
    p.add_argument(
        "--timezone",
        metavar="TZ",
        help="zone for days, months and dates: UTC, Europe/Paris, ... (default: local)",
    )


def ledger_url(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    """The ledger a run started here would write: ``--ledger``, ``THRIFTY_LEDGER``, the project's
    then the user's ``ledger`` setting, then the default file in the data directory."""
    try:
        config = load_billing_config(Path.cwd(), environ, flag_ledger=args.ledger)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    return config.ledger[0] if config.ledger else str(default_ledger_path(environ))


def _load(url: str, query: RowQuery) -> tuple[str, list[LedgerRow]]:
    """The ledger's display location and matching rows.

    A plain path that does not exist yet is an empty ledger: a read-only report should not
    create database files as a side effect of being curious.
    """
    if _SCHEME.match(url) is None or url.lower().startswith("sqlite://"):
        try:
            path = Path(sqlite_path(url)).expanduser().absolute()
        except LedgerError as exc:
            raise UsageError(str(exc)) from exc
        if not path.exists():
            return str(path), []
    try:
        ledger = open_ledger(url)
    except LedgerError as exc:  # its message names the location, with any password masked
        raise UsageError(str(exc)) from exc
    try:
        return ledger.location, ledger.query(query)
    except LedgerError as exc:
        raise UsageError(str(exc)) from exc
    finally:
        ledger.close()


def run(args: argparse.Namespace) -> int:
    try:
        tz = parse_timezone(args.timezone)
        now = datetime.now(UTC)
        since = parse_bound(args.since, flag="--since", tz=tz, now=now) if args.since else None
        until = parse_bound(args.until, flag="--until", tz=tz, now=now, end=True) if args.until else None
    except FilterError as exc:
        raise UsageError(str(exc)) from exc
    if since is not None and until is not None and since >= until:
        raise UsageError("--since must be before --until")
    location, rows = _load(ledger_url(args, os.environ), RowQuery(since=since, until=until, mode=args.mode))
    projects = project_candidates(args.project, Path.cwd()) if args.project else None
    report = build_report(
        args.view, filter_projects(rows, projects), tz=tz, modes=[args.mode] if args.mode else MODES
    )
    if args.json:
        doc = _json_doc(report, tz, args.timezone, since, until, location)
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    elif args.csv:
        _write_csv(report, tz)
    elif not report.rows:
        filtered = any((args.since, args.until, args.mode, args.project))
        print(
            f"No usage in {location} matches these filters."
            if filtered
            else f"No usage recorded yet in {location}."
        )
    else:
        _print_tables(report, tz)
    return EXIT_OK


def _cost_text(row: ReportRow) -> str:
    if not row.cost_known:
        return "unknown"
    return f"{'' if row.cost_complete else '≥ '}${row.cost_usd:,.2f}"


def _cost_exact(row: ReportRow) -> str | None:
    # Fixed-point, never "1E-7": scripts compare these strings and feed them to Decimal.
    return f"{row.cost_usd:f}" if row.cost_known else None


def _when(moment: datetime | None, tz: tzinfo | None, fmt: str | None = None) -> str:
    if moment is None:
        return ""
    local = to_local(moment, tz)
    return local.strftime(fmt) if fmt else local.isoformat()


def _fields(row: ReportRow, view: str, tz: tzinfo | None) -> dict[str, Any]:
    out: dict[str, Any] = {"key": row.key, "mode": row.mode}
    if view == "session":
        out.update(project=row.project, first_at=_when(row.first_at, tz) or None)
        out.update(last_at=_when(row.last_at, tz) or None)
    out.update(
        calls=row.calls,
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        cache_write_tokens=row.cache_write_tokens,
        cache_read_tokens=row.cache_read_tokens,
        total_tokens=row.total_tokens,
        cost=_cost_exact(row),
        cost_complete=row.cost_complete,
        unpriced_calls=row.unpriced_calls,
        models=list(row.models),
    )
    return out


def _json_doc(
    report: Report,
    tz: tzinfo | None,
    tz_name: str | None,
    since: datetime | None,
    until: datetime | None,
    location: str,
) -> dict[str, Any]:
    return {
        "view": report.view,
        "timezone": tz_name or "local",
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "ledger": location,
        "cost_basis": {mode: COST_BASIS[mode] for mode in report.totals},
        "rows": [_fields(row, report.view, tz) for row in report.rows],
        "totals": {mode: _fields(row, report.view, tz) for mode, row in report.totals.items()},
    }


def _write_csv(report: Report, tz: tzinfo | None) -> None:
    sample = _fields(ReportRow(key="", mode=""), report.view, tz)
    writer = csv.DictWriter(sys.stdout, fieldnames=list(sample), lineterminator="\n")
    writer.writeheader()
    for row in report.rows:
        fields = _fields(row, report.view, tz)
        fields["models"] = " ".join(fields["models"])
        fields["cost"] = fields["cost"] or ""
        fields["cost_complete"] = str(fields["cost_complete"]).lower()
        writer.writerow({k: "" if v is None else v for k, v in fields.items()})


#: Columns after the key with the order a narrow terminal drops them in (lowest first; None:
#: always shown). Numbers must never wrap mid-figure, so columns go before digits get split.
NUMERIC: list[tuple[str, int | None]] = [
    ("Calls", 8),
    ("Input", 5),
    ("Output", 6),
    ("Cache\nwrite", 1),
    ("Cache\nread", 2),
    ("Total\ntokens", None),
    ("Cost", None),
]
#: Text columns that may fold onto several lines (long ids and paths) instead of forcing width.
FOLDABLE = {"Session": 12, "Project": 16, "Model": 12}


def _columns(view: str) -> list[tuple[str, int | None]]:
    columns: list[tuple[str, int | None]] = [(KEY_HEADERS[view], None)]
    if view == "session":
        columns += [("Project", 7), ("First", 3), ("Last", 9)]
    if view != "model":
        columns.append(("Models", 4))
    return columns + NUMERIC


def _table_row(row: ReportRow, view: str, tz: tzinfo | None) -> list[str]:
    cells = [row.key]
    if view == "session":
        stamp = "%Y-%m-%d %H:%M"
        cells += [row.project or "", _when(row.first_at, tz, stamp), _when(row.last_at, tz, stamp)]
    if view != "model":
        cells.append("\n".join(row.models))
    numbers = (row.calls, row.input_tokens, row.output_tokens, row.cache_write_tokens, row.cache_read_tokens)
    return [*cells, *(f"{n:,}" for n in (*numbers, row.total_tokens)), _cost_text(row)]


def _longest(cells: list[list[str]], i: int) -> int:
    return max((len(line) for row in cells for line in row[i].splitlines()), default=0)


def _fit(columns: list[tuple[str, int | None]], cells: list[list[str]], width: int) -> tuple[list[int], bool]:
    """The columns to show, dropping the least useful until the rest fit; and whether they do."""

    def need(i: int) -> int:
        header = columns[i][0]
        if header in FOLDABLE:  # folds: a few characters and the longest header word suffice
            return max(min(_longest(cells, i), FOLDABLE[header]), *map(len, header.split())) + 3
        return max(_longest(cells, i), *map(len, header.splitlines())) + 3  # padding and border

    keep = list(range(len(columns)))
    for _, i in sorted((rank, i) for i, (_, rank) in enumerate(columns) if rank is not None):
        if sum(need(j) for j in keep) + 1 <= width:
            break
        keep.remove(i)
    return keep, sum(need(j) for j in keep) + 1 <= width


def _print_tables(report: Report, tz: tzinfo | None) -> None:
    console = Console(highlight=False)
    columns = _columns(report.view)
    unpriced, hidden = 0, False
    for mode, total in report.totals.items():
        rows = report.rows_of(mode)
        if not rows:
            continue
        total_row = replace(total, key="Total", models=(), first_at=None, last_at=None)
        cells = [_table_row(row, report.view, tz) for row in [*rows, total_row]]
        keep, fits = _fit(columns, cells, console.width)
        hidden = hidden or len(keep) < len(columns)
        table = Table(title=TITLES[mode], title_justify="left")
        for i in keep:
            header = columns[i][0]
            # Figures stay on one line when the table fits; on a tiny terminal rich wraps them
            # rather than cropping the cost off the edge.
            table.add_column(
                header,
                justify="left" if i < len(columns) - len(NUMERIC) else "right",
                overflow="fold",
                no_wrap=fits and header not in FOLDABLE,
            )
        for n, row_cells in enumerate(cells):
            if n == len(cells) - 1:
                table.add_section()
            table.add_row(*(row_cells[i] for i in keep), style="bold" if n == len(cells) - 1 else None)
        console.print(table)
        unpriced += total.unpriced_calls
    if unpriced:
        calls = f"{unpriced:,} call{'s' if unpriced != 1 else ''}"
        console.print(f"≥: {calls} used a model with no known price; their cost is not included.")
    if hidden:
        console.print("Some columns are hidden to fit the terminal; --json or --csv has them all.")
