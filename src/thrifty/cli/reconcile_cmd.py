"""``thrifty reconcile``: the ledger against the organisation's bill, per day, model and service tier.

The bill is the Admin API's usage and cost reports (``thrifty.usage.admin_report``), read with an
Admin API key that comes only from ``ANTHROPIC_ADMIN_KEY``: a flag would put it in the shell's
history and the process list. The comparison is ``thrifty.usage.reconcile``; docs/reconcile.md
says what each status means.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from thrifty.billing.ledger import RowQuery
from thrifty.cli.errors import EXIT_ERROR, EXIT_OK, UsageError
from thrifty.cli.usage.common import bounds, decimal_text, ledger_url, load_rows
from thrifty.usage.admin_report import DEFAULT_BASE_URL, AdminApiError, AdminClient
from thrifty.usage.reconcile import (
    DEFAULT_TOLERANCE,
    TOKEN_FIELDS,
    Reconciliation,
    Tolerance,
    ToleranceError,
    Totals,
    difference,
    reconcile,
)

ADMIN_KEY_ENV = "ANTHROPIC_ADMIN_KEY"
#: Exit status when some day, model and tier differ by more than --tolerance (docs/reconcile.md).
EXIT_MISMATCH = 2
DEFAULT_SINCE = "7d"
DAY = timedelta(days=1)

DESCRIPTION = f"""\
Compare the ledger with your organisation's bill (the Admin API's usage and cost reports), per
UTC day, model and service tier: tokens and cost on each side, the difference, and a status:
  match             within --tolerance
  missing-locally   billed, but not (all) in the ledger: usage from elsewhere
  over-counted      the ledger holds more than was billed
  missing-remotely  in the ledger, not on the bill at all
  unattributed      a cost the bill ties to no model (code execution); never fails
Only calls billed per token count: plan usage is not on the organisation's bill.

The Admin API key (sk-ant-admin...) is read from {ADMIN_KEY_ENV}, never from the command line."""

EPILOG = f"""\
The period is whole UTC days from --since (default {DEFAULT_SINCE}) to --until (default now).
--tolerance is a percentage of the larger side (default {DEFAULT_TOLERANCE}) or dollars (0.05).
The API's address is --base-url, else ANTHROPIC_BASE_URL, else {DEFAULT_BASE_URL}.
Exit 0 when everything is within tolerance, {EXIT_MISMATCH} when something is not, 1 for a bad
argument, a missing or refused key, or an unreachable API."""


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "reconcile",
        help="compare the ledger with the organisation's usage and cost reports (Admin API)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--since",
        metavar="WHEN",
        default=DEFAULT_SINCE,
        help=f"start: YYYY-MM-DD, an ISO time, or 7d/2w ago (default {DEFAULT_SINCE}); its UTC day",
    )
    p.add_argument("--until", metavar="WHEN", help="end (default now); a date includes that whole day")
    p.add_argument(
        "--tolerance",
        metavar="PCT|USD",
        default=DEFAULT_TOLERANCE,
        help="allowed difference: 2%% of the larger side, 0.05 dollars, or 0 for exact (default "
        + DEFAULT_TOLERANCE.replace("%", "%%")
        + ")",
    )
    p.add_argument("-j", "--json", action="store_true", help="print every line as JSON")
    p.add_argument("--base-url", metavar="URL", help="the Anthropic API (default: $ANTHROPIC_BASE_URL)")
    p.add_argument("--ledger", metavar="URL", help="ledger path, sqlite:/// or postgresql:// URL")


def _day_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def period(args: argparse.Namespace, now: datetime) -> tuple[datetime, datetime]:
    """Whole UTC days: from the start of --since's day to the end of --until's (or today)."""
    since, until = bounds(args.since, args.until, UTC, now)
    assert since is not None
    start = _day_start(since)
    end_moment = until or now
    end = _day_start(end_moment)
    if end < end_moment:
        end += DAY
    if end <= start:
        raise UsageError("--since must be before --until")
    if start > now:
        raise UsageError("--since is in the future")
    return start, end


def run(args: argparse.Namespace) -> int:
    try:
        tolerance = Tolerance.parse(args.tolerance)
    except ToleranceError as exc:
        raise UsageError(str(exc)) from exc
    start, end = period(args, datetime.now(UTC))
    key = os.environ.get(ADMIN_KEY_ENV, "").strip()
    if not key:
        raise UsageError(
            f"set {ADMIN_KEY_ENV} to an Admin API key (sk-ant-admin..., from Console > Settings > "
            "Admin keys) to read the organisation's usage and cost reports"
        )
    base_url = args.base_url or os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL
    location, rows = load_rows(ledger_url(args, os.environ), RowQuery(since=start, until=end))
    client = AdminClient(key, base_url)
    try:
        usage = client.usage(start, end)
        costs = client.costs(start, end)
    except AdminApiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    from thrifty.billing.prices import bundled_prices

    table = bundled_prices()
    result = reconcile(rows, usage, costs, tolerance, fees=lambda row: table.fees(row.usage))
    if args.json:
        doc = json_doc(result, start, end, location, client.base_url)
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    else:
        render(result, start, end, location, client.base_url)
    return EXIT_OK if result.within_tolerance else EXIT_MISMATCH


def _side(totals: Totals | None) -> dict[str, Any] | None:
    if totals is None:
        return None
    out: dict[str, Any] = {f: getattr(totals, f) for f in TOKEN_FIELDS}
    out["total_tokens"] = totals.total_tokens
    out["cost"] = decimal_text(totals.cost)
    if totals.calls is not None:
        out["calls"] = totals.calls
    return out


def _difference(values: dict[str, int | Decimal | None]) -> dict[str, Any]:
    return {k: decimal_text(v) if isinstance(v, Decimal) or v is None else v for k, v in values.items()}


def json_doc(
    result: Reconciliation, start: datetime, end: datetime, location: str, base_url: str
) -> dict[str, Any]:
    return {
        "since": start.isoformat().replace("+00:00", "Z"),
        "until": end.isoformat().replace("+00:00", "Z"),
        "ledger": location,
        "base_url": base_url,
        "tolerance": str(result.tolerance),
        "within_tolerance": result.within_tolerance,
        "counts": result.counts(),
        "lines": [
            {
                "day": line.key.day.isoformat(),
                "model": line.key.model,
                "service_tier": line.key.service_tier,
                "status": line.status,
                "local": _side(line.local),
                "remote": _side(line.remote),
                "difference": _difference(line.difference()),
            }
            for line in result.lines
        ],
        "totals": {
            "local": _side(result.local_total),
            "remote": _side(result.remote_total),
            "difference": _difference(difference(result.local_total, result.remote_total)),
        },
    }


def _money(value: Decimal | None) -> str:
    return "unknown" if value is None else f"${value:,.6f}"


def _signed(value: int | Decimal | None, money: bool = False) -> str:
    if value is None:
        return "unknown"
    if money:
        return "$0" if not value else f"{'+' if value > 0 else '-'}${abs(value):,.6f}"
    return f"{value:+,}" if value else "0"


def render(result: Reconciliation, start: datetime, end: datetime, location: str, base_url: str) -> None:
    from rich.table import Table

    from thrifty.cli.usage.tables import report_console

    console = report_console()  # the terminal's width, or every column whole in a file
    console.print(f"Ledger: {location}")
    console.print(f"Bill: {base_url} (Admin API usage and cost reports)")
    last = (end - DAY).date()
    console.print(
        f"Days (UTC): {start.date().isoformat()} to {last.isoformat()}; tolerance {result.tolerance}"
    )
    if not result.lines:
        console.print("No billed usage on either side in this period.")
        return
    table = Table(show_lines=False)
    for name, justify in (
        ("day", "left"),
        ("model", "left"),
        ("tier", "left"),
        ("ledger tokens", "right"),
        ("bill tokens", "right"),
        ("Δ tokens", "right"),
        ("ledger cost", "right"),
        ("bill cost", "right"),
        ("Δ cost", "right"),
        ("status", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for line in result.lines:
        local, remote = line.local, line.remote
        diff = line.difference()
        tokens = sum(int(diff[f] or 0) for f in TOKEN_FIELDS)
        cost_diff = diff["cost"]
        table.add_row(
            line.key.day.isoformat(),
            line.key.model,
            line.key.service_tier,
            f"{local.total_tokens:,}" if local else "-",
            f"{remote.total_tokens:,}" if remote else "-",
            _signed(tokens),
            _money(local.cost) if local else "-",
            _money(remote.cost) if remote else "-",
            _signed(cost_diff if isinstance(cost_diff, Decimal) else None, money=True),
            line.status,
        )
    console.print(table)
    counts = ", ".join(f"{n} {status}" for status, n in result.counts().items() if n)
    verdict = "within tolerance" if result.within_tolerance else "NOT within tolerance"
    console.print(
        f"Total: ledger {result.local_total.total_tokens:,} tokens, {_money(result.local_total.cost)}; "
        f"bill {result.remote_total.total_tokens:,} tokens, {_money(result.remote_total.cost)}. "
        f"{counts}: {verdict}."
    )
