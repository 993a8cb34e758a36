"""``thrifty usage blocks --live``: the active 5-hour block, redrawn until Ctrl-C.

Each refresh reads the ledger again (only the calls that can still be in the active block and
hourly sums to place it: ``thrifty.usage.statusline.block_start``), so usage that another process
records, a thrifty run or ``thrifty import``, shows up on the next frame.

A live view needs a terminal to redraw in; with stdout redirected it refuses in one line rather
than filling a file with frames (``thrifty usage blocks --active`` prints the same figures once;
under ``watch`` it refreshes too). Ctrl-C ends it with exit 0: it is how the view is meant to end,
not an interruption of work, and rich's ``Live`` puts the cursor back on the way out.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from thrifty.billing.ledger import MODES, LedgerRow, RowQuery
from thrifty.billing.plan_presets import PlanDefinition
from thrifty.cli.errors import EXIT_OK, UsageError
from thrifty.cli.usage.blocks import STAMP, active_lines, duration, plan_for
from thrifty.cli.usage.common import TITLES, reading, when
from thrifty.usage.blocks import BLOCK_LENGTH, Block, build_blocks, plan_use, project
from thrifty.usage.costs import apply_cost_mode
from thrifty.usage.filters import project_candidates
from thrifty.usage.reports import filter_projects
from thrifty.usage.statusline import block_start

if TYPE_CHECKING:
    from rich.console import RenderableType

#: ``--refresh`` bounds in seconds: a frame costs one indexed ledger read.
DEFAULT_REFRESH = 1.0
MIN_REFRESH, MAX_REFRESH = 0.1, 3600.0
BAR_WIDTH = 30


def refresh_seconds(text: str | None) -> float:
    if text is None:
        return DEFAULT_REFRESH
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not MIN_REFRESH <= value <= MAX_REFRESH:  # also refuses nan and inf
        raise UsageError(
            f"--refresh: '{text}' is not a number of seconds from {MIN_REFRESH} to {MAX_REFRESH:g}"
        )
    return value


def check_live(args: argparse.Namespace) -> float:
    """The refresh interval; the flags a live view cannot honour are refused, not ignored."""
    if args.json:
        raise UsageError("--live redraws a terminal; for JSON use `thrifty usage blocks --active --json`")
    for flag, given in (("--since", args.since), ("--until", args.until), ("--breakdown", args.breakdown)):
        if given:
            raise UsageError(f"--live shows the active block only; {flag} does not apply")
    seconds = refresh_seconds(args.refresh)
    if not sys.stdout.isatty():
        raise UsageError(
            "--live needs a terminal to redraw in; to print the active block once, "
            "use `thrifty usage blocks --active`"
        )
    return seconds


def current_rows(args: argparse.Namespace, url: str, now: datetime) -> list[LedgerRow]:
    """Each mode's calls since its latest block started (``block_start``), read afresh, filtered
    and costed as the view is."""
    source = None if args.source == "all" else args.source
    projects = project_candidates(args.project, Path.cwd()) if args.project else None
    with reading(url) as (_, ledger):
        if ledger is None:
            return []
        starts = {}
        for mode in [args.mode] if args.mode else MODES:
            start = block_start(ledger, RowQuery(mode=mode, source=source), now, projects)
            if start is not None:
                starts[mode] = start
        if not starts:
            return []
        rows = ledger.query(RowQuery(since=min(starts.values()), mode=args.mode, source=source))
    rows = [
        r for r in filter_projects(rows, projects) if r.mode in starts and r.recorded_at >= starts[r.mode]
    ]
    return apply_cost_mode(rows, args.cost_mode)


def _bar(fraction: float, width: int = BAR_WIDTH) -> str:
    filled = max(0, min(width, round(fraction * width)))
    return "█" * filled + "░" * (width - filled)


def _style(fraction: float) -> str:
    return "red" if fraction >= 0.8 else "yellow" if fraction >= 0.5 else "green"


def frame(
    rows: list[LedgerRow],
    args: argparse.Namespace,
    plan: PlanDefinition | None,
    tz: tzinfo | None,
    now: datetime,
) -> RenderableType:
    """One frame: each mode's active block with its projection and window bars, or when the next
    block can start."""
    from rich.console import Group
    from rich.text import Text

    parts: list[RenderableType] = [
        Text(f"thrifty usage blocks --live  {when(now, tz, '%H:%M:%S')}  (Ctrl-C to quit)", style="bold")
    ]
    modes = [args.mode] if args.mode else sorted({r.mode for r in rows}, key=MODES.index)
    active: list[Block] = [b for b in build_blocks(rows, now=now, modes=modes, gaps=False) if b.active]
    for block in active:
        p = project(block, now)
        if p is None:
            continue
        use = plan_use(block, plan, p) if plan is not None and block.mode == "plan" else None
        parts.append(Text(""))
        parts.append(Text(TITLES[block.mode], style="bold cyan"))
        parts.extend(Text(line) for line in active_lines(block, p, use, tz))
        elapsed = p.elapsed / BLOCK_LENGTH
        parts.append(Text(f"  Time      {_bar(elapsed)} {elapsed:6.1%}  {duration(p.remaining)} left"))
        if use is not None:
            kind = "~" if use.plan.estimate else ""
            used, projected = float(use.used), float(use.projected or 0)
            parts.append(Text(f"  Used      {_bar(used)} {kind}{used:6.1%}", style=_style(used)))
            parts.append(
                Text(f"  Projected {_bar(projected)} {kind}{projected:6.1%}", style=_style(projected))
            )
    if not active:
        if rows:
            last = max(r.recorded_at for r in rows)
            parts.append(
                Text(
                    f"No active block: the last call was at {when(last, tz, STAMP)}, "
                    f"{duration(now - last)} ago; the next call starts one."
                )
            )
        else:
            parts.append(Text("No usage recorded yet; the next call starts a block."))
    return Group(*parts)


def run_live(args: argparse.Namespace, url: str, tz: tzinfo | None) -> int:
    """Redraw until Ctrl-C."""
    seconds = check_live(args)
    from rich.console import Console
    from rich.live import Live

    now = datetime.now(UTC)
    rows = current_rows(args, url, now)
    plan = plan_for(args, build_blocks(rows, now=now, gaps=False))
    console = Console(highlight=False)
    try:
        with Live(frame(rows, args, plan, tz, now), console=console, auto_refresh=False) as live:
            while True:
                time.sleep(seconds)
                now = datetime.now(UTC)
                live.update(frame(current_rows(args, url, now), args, plan, tz, now), refresh=True)
    except KeyboardInterrupt:
        pass
    return EXIT_OK
