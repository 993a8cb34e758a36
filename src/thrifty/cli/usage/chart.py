"""``thrifty usage daily --chart``: spend per day (week, month) as stacked bars, one glyph and
one colour per model, in the terminal.

Each billing mode gets its own chart with its own scale, as it gets its own table: ``plan`` bars
are API-equivalent estimates and never share an axis or a total with dollars billed. Models
differ by glyph as well as by colour, so the chart still reads when piped to a file (rich then
writes no colour codes at all) or seen by someone who cannot tell the colours apart. Bar ends
are rounded from the running sum, so a day's segments add up to the bar its total would draw.
"""

from __future__ import annotations

import argparse
from datetime import tzinfo
from decimal import ROUND_HALF_UP, Decimal

from rich.console import Console
from rich.text import Text

from thrifty.billing.ledger import MODES, RowQuery
from thrifty.cli.errors import EXIT_OK, UsageError
from thrifty.cli.usage.common import TITLES, cost_text, empty_message, load_report
from thrifty.usage.reports import Report, ReportRow

__all__ = ["CHART_VIEWS", "render_chart", "show_chart"]

CHART_VIEWS = ("daily", "weekly", "monthly")
GLYPHS = ("█", "▓", "▒", "░", "#", "=", "+", "*", "%", "@", "o", ":")
COLOURS = ("blue", "dark_orange", "green", "magenta", "cyan", "red", "yellow", "purple", "bright_black")
MIN_BAR = 10


def show_chart(
    args: argparse.Namespace,
    url: str,
    query: RowQuery,
    tz: tzinfo | None,
    projects: frozenset[str] | None,
    filtered: bool,
) -> int:
    if args.view not in CHART_VIEWS:
        raise UsageError(f"--chart goes with the {', '.join(CHART_VIEWS)} views, not {args.view}")
    location, report = load_report(
        url,
        query,
        view=args.view,
        tz=tz,
        modes=[args.mode] if args.mode else MODES,
        breakdown=True,
        week_start=args.start_of_week or "monday",
        cost_mode=args.cost_mode,
        projects=projects,
    )
    console = Console(highlight=False)
    if not report.rows:
        console.print(empty_message(location, filtered))
        return EXIT_OK
    render_chart(console, report)
    return EXIT_OK


def _styles(report: Report) -> dict[str, tuple[str, str]]:
    """Each model's (glyph, colour), the same in every mode's chart."""
    models = sorted({sub.key for row in report.rows for sub in row.breakdown})
    return {m: (GLYPHS[i % len(GLYPHS)], COLOURS[i % len(COLOURS)]) for i, m in enumerate(models)}


def _bar(row: ReportRow, top: Decimal, width: int, styles: dict[str, tuple[str, str]]) -> Text:
    bar = Text()
    if top <= 0:
        return bar
    running, drawn = Decimal(0), 0
    for sub in row.breakdown:
        running += sub.cost_usd
        end = int((running * width / top).to_integral_value(rounding=ROUND_HALF_UP))
        glyph, colour = styles[sub.key]
        bar.append(glyph * (end - drawn), style=colour)
        drawn = end
    return bar


def render_chart(console: Console, report: Report) -> None:
    styles = _styles(report)
    for mode, total in report.totals.items():
        rows = report.rows_of(mode)
        if not rows:
            continue
        costs = [cost_text(row) for row in rows]
        label = max(len(row.key) for row in rows)
        figure = max(map(len, costs))
        width = max(MIN_BAR, console.width - label - figure - 3)
        top = max(row.cost_usd for row in rows)
        console.print(Text(TITLES[mode], style="bold"))
        for row, cost in zip(rows, costs, strict=True):
            line = Text(f"{row.key:<{label}} ")
            bar = _bar(row, top, width, styles)
            line.append_text(bar)
            line.append(" " * (width - len(bar) + 1) + f"{cost:>{figure}}")
            console.print(line, no_wrap=True, overflow="ignore", crop=False)
        for sub in total.breakdown:
            glyph, colour = styles[sub.key]
            entry = Text("  ")
            entry.append(glyph * 2, style=colour)
            entry.append(f" {sub.key}  {cost_text(sub)}")
            console.print(entry, no_wrap=True, overflow="ignore", crop=False)
        console.print(Text(f"  Total  {cost_text(total)}", style="bold"))
        if total.unpriced_calls:
            console.print(
                f"  ≥: {total.unpriced_calls:,} calls had no known price; their cost is not included."
            )
        console.print()
