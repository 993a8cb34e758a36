"""``thrifty usage mismatches``: calls whose logged cost and thrifty's calculated cost disagree."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import tzinfo
from decimal import Decimal
from typing import Any

from rich.console import Console

from thrifty.billing.ledger import LedgerRow
from thrifty.cli.errors import EXIT_OK
from thrifty.cli.usage.common import decimal_text, empty_message, when
from thrifty.cli.usage.tables import HIDDEN_NOTE, Column, Grid, print_grid
from thrifty.usage.costs import Mismatch, MismatchReport, find_mismatches

STAMP = "%Y-%m-%d %H:%M:%S"


def show_mismatches(
    args: argparse.Namespace,
    rows: list[LedgerRow],
    tolerance: Decimal,
    tz: tzinfo | None,
    location: str,
    filtered: bool,
) -> int:
    report = find_mismatches(rows, tolerance)
    if args.json:
        doc = _json_doc(args, report, tz, location)
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    elif not rows:
        print(empty_message(location, filtered))
    else:
        _print(report, tz)
    return EXIT_OK


def _item(m: Mismatch, tz: tzinfo | None) -> dict[str, Any]:
    row = m.row
    return {
        "request_id": row.request_id,
        "recorded_at": when(row.recorded_at, tz),
        "session_id": row.session_id,
        "project": row.project,
        "source": row.source,
        "mode": row.mode,
        "model": row.model,
        "input_tokens": row.input_tokens,
        "output_tokens": row.output_tokens,
        "cache_write_5m_tokens": row.cache_write_5m_tokens,
        "cache_write_1h_tokens": row.cache_write_1h_tokens,
        "cache_read_tokens": row.cache_read_tokens,
        "logged": decimal_text(m.logged),
        "calculated": decimal_text(m.calculated),
        "difference": decimal_text(m.difference),
    }


def _json_doc(
    args: argparse.Namespace, report: MismatchReport, tz: tzinfo | None, location: str
) -> dict[str, Any]:
    return {
        "view": "mismatches",
        "timezone": args.timezone or "local",
        "ledger": location,
        "source": args.source,
        "tolerance": decimal_text(report.tolerance),
        "compared": report.compared,
        "not_comparable": report.not_comparable,
        "logged_total": decimal_text(report.logged_total),
        "calculated_total": decimal_text(report.calculated_total),
        "mismatches": [_item(m, tz) for m in report.mismatches],
    }


def _print(report: MismatchReport, tz: tzinfo | None) -> None:
    console = Console(highlight=False)
    hidden = False
    if report.mismatches:
        grid = Grid(
            "Logged cost vs calculated cost",
            [
                Column("Time"),
                Column("Model", 3),
                Column("Session", 1),
                Column("Logged", None, True),
                Column("Calculated", None, True),
                Column("Difference", None, True),
            ],
        )
        for m in report.mismatches:
            grid.add(
                [
                    when(m.row.recorded_at, tz, STAMP),
                    m.row.model,
                    m.row.session_id,
                    f"${m.logged:f}",
                    f"${m.calculated:f}",
                    f"{'+' if m.difference > 0 else '-'}${abs(m.difference):f}",
                ]
            )
        hidden = print_grid(console, grid)
    for line in summary(report):
        console.print(line)
    if hidden:
        console.print(HIDDEN_NOTE)


def summary(report: MismatchReport) -> list[str]:
    lines = []
    if report.compared:
        n = len(report.mismatches)
        lines.append(
            f"{n:,} of {report.compared:,} call{'s' if report.compared != 1 else ''} with a logged cost "
            f"differ from the calculated cost by more than ${report.tolerance:f}; over all of them "
            f"logged ${report.logged_total:,.2f}, calculated ${report.calculated_total:,.2f}."
        )
    else:
        lines.append(
            "No call has both a logged and a calculated cost to compare (Claude Code logs costUSD "
            "only in some versions; thrifty's own calls log the calculated cost)."
        )
    if report.not_comparable:
        lines.append(
            f"{report.not_comparable:,} more call{'s have' if report.not_comparable != 1 else ' has'} "
            "a logged cost but a model thrifty has no price for."
        )
    return lines
