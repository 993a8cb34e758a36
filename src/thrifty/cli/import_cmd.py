"""``thrifty import``: record Claude Code's usage in the ledger, so reports can show what it would
cost on an API key (and when a key would be cheaper than the plan).

Every call is recorded once however often it was logged, and a second import reads only the
bytes written since the first: run it before each report, or from a cron job.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from thrifty.billing.config import ConfigError, load_billing_config
from thrifty.billing.ledger import LedgerError, open_ledger
from thrifty.billing.paths import default_ledger_path
from thrifty.cli.errors import EXIT_OK, UsageError
from thrifty.usage.claude_code import SKIP_REASONS, Discovery, discover
from thrifty.usage.importer import ImportSummary, import_claude_code

SOURCES = ("claude-code",)
#: As ``thrifty usage`` words it: plan costs are estimates, api costs were billed.
COST_BASIS = {"api": "billed", "plan": "api-equivalent estimate, not billed"}
#: Histories smaller than this import in about a second: no progress bar unless --progress.
PROGRESS_MIN_BYTES = 64 << 20

DESCRIPTION = """\
Import Claude Code's usage from its transcripts into the ledger, as rows with source
"claude-code", so `thrifty usage` shows what that usage would cost at API prices.

Transcripts are read from each Claude config dir's projects/ folder (subagent files included):
--claude-dir if given, else the comma-separated CLAUDE_CONFIG_DIR, else ~/.config/claude and
~/.claude. A call Claude Code logged several times (one line per content block, resumed,
forked or synced sessions, subagent progress) is recorded once, as its most complete copy, and
importing again reads only new bytes. A /btw side question's replay of an earlier answer is not
a call and is not counted."""

EPILOG = """\
Calls are recorded as mode "plan" (a flat-fee subscription: costs are API-equivalent
estimates) unless --mode api says Claude Code ran on an API key. Costs come from thrifty's
price table; a cost Claude Code logged (costUSD) is kept as the row's logged_cost_usd tag.
Lines that are not valid JSON, <synthetic> messages and API error messages are skipped and
counted. Nothing is held back: a response still being logged is recorded as far as it is
written, and the next import completes its row (counted as "completed").

--json prints {"files_total", "files_read", "bytes_total", "bytes_read", "lines",
"usage_lines", "calls_imported", "calls_upgraded", "duplicates", "replays", "unpriced_calls",
"skipped": {reason: n}, ...}: the call counts are what the ledger did (rows added, rows
completed), never what was offered to it."""


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "import",
        help="import Claude Code's usage into the ledger",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("source", nargs="?", choices=SOURCES, default="claude-code", help="what to import")
    p.add_argument(
        "--claude-dir",
        action="append",
        metavar="DIR",
        help="a Claude config dir (holding projects/) or a projects/ dir; repeat for several",
    )
    p.add_argument(
        "--mode",
        choices=("plan", "api"),
        default="plan",
        help="how Claude Code was billed: plan (default, subscription) or api (an API key)",
    )
    p.add_argument("--ledger", metavar="URL", help="ledger path, sqlite:/// or postgresql:// URL")
    p.add_argument("-j", "--json", action="store_true", help="print the import's figures as JSON")
    bar = p.add_mutually_exclusive_group()
    bar.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    bar.add_argument(
        "--progress", action="store_true", help="show the progress bar on a terminal even for a small import"
    )
    p.add_argument(
        "--full", action="store_true", help="read every file from the start (calls still count once)"
    )
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="parser processes (default: with 4+ cores, one per core but one for a large import; "
        "0: parse in this process)",
    )


def ledger_url(flag: str | None) -> str:
    """The ledger ``thrifty usage`` reads (and a run started here writes): ``--ledger``, else
    ``THRIFTY_LEDGER``, the project's then the user's ``ledger`` setting, else the default file."""
    try:
        config = load_billing_config(Path.cwd(), os.environ, flag_ledger=flag)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    return config.ledger[0] if config.ledger else str(default_ledger_path(os.environ))


def _no_data(found: Discovery) -> str:
    where = ", ".join(str(d) for d in found.searched) or "(nothing)"
    if found.origin == "--claude-dir":
        hint = "pass the Claude config dir that holds projects/"
    elif found.origin == "CLAUDE_CONFIG_DIR":
        hint = "fix CLAUDE_CONFIG_DIR or pass --claude-dir DIR"
    else:
        hint = "set CLAUDE_CONFIG_DIR or pass --claude-dir DIR"
    return f"no Claude Code data found: no projects/ folder in {where} (from {found.origin}); {hint}"


class _Bar:
    """A bytes-based progress bar on stderr, started only once the import's size is known."""

    def __init__(self, enabled: bool, always: bool) -> None:
        self.enabled = enabled
        self.always = always
        self.progress: Any = None
        self.task: Any = None
        self.shown = 0.0

    def start(self, total: int) -> None:
        if not self.enabled or not (self.always or total >= PROGRESS_MIN_BYTES):
            return
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

        # No refresh thread: workers are forked, and a fork should not copy a running thread.
        self.progress = Progress(
            TextColumn("importing Claude Code usage"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            auto_refresh=False,
            transient=True,
        )
        self.progress.start()
        self.task = self.progress.add_task("import", total=total)
        self.progress.refresh()

    def advance(self, n: int) -> None:
        if self.progress is None:
            return
        self.progress.update(self.task, advance=n)
        now = time.monotonic()
        if now - self.shown >= 0.1:
            self.shown = now
            self.progress.refresh()

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def run(args: argparse.Namespace) -> int:
    found = discover(args.claude_dir)
    if not found.dirs:
        raise UsageError(_no_data(found))
    if args.workers is not None and args.workers < 0:
        raise UsageError("--workers must be 0 or more")
    url = ledger_url(args.ledger)
    bar = _Bar(not args.json and not args.no_progress and sys.stderr.isatty(), args.progress)
    try:
        ledger = open_ledger(url)
    except LedgerError as exc:
        raise UsageError(str(exc)) from exc
    try:
        summary = import_claude_code(
            ledger,
            found.dirs,
            mode=args.mode,
            full=args.full,
            workers=args.workers,
            on_plan=bar.start,
            on_bytes=bar.advance,
        )
    except LedgerError as exc:
        raise UsageError(str(exc)) from exc
    finally:
        bar.stop()
        ledger.close()
    if args.json:
        doc = {**summary.to_json(), "dirs_from": found.origin, "cost_basis": COST_BASIS[args.mode]}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        print(render(summary, found))
    return EXIT_OK


def _bytes(n: int) -> str:
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n} B"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def render(s: ImportSummary, found: Discovery) -> str:
    basis = COST_BASIS[s.mode]
    skipped = ", ".join(f"{n:,} {reason}" for reason, n in sorted(s.skipped.items())) or "none"
    out = [
        f"Imported Claude Code usage into {s.ledger} (mode {s.mode}: {basis})",
        f"  from      {', '.join(s.dirs)} ({found.origin})",
        f"  files     {s.files_total:,} ({s.files_read:,} read, {s.files_total - s.files_read:,} unchanged"
        + (f", {s.files_reset:,} read again from the start" if s.files_reset else "")
        + ")",
        f"  bytes     {_bytes(s.bytes_total)} in all, {_bytes(s.bytes_read)} read",
        f"  lines     {s.lines:,} read, {s.usage_lines:,} with usage",
        f"  calls     {s.calls_imported:,} new, {_plural(s.duplicates, 'duplicate line')}"
        + (f", {s.calls_upgraded:,} completed (a fuller copy replaced a partial)" if s.calls_upgraded else "")
        + (f", {_plural(s.replays, '/btw replay')} not counted" if s.replays else ""),
        f"  skipped   {skipped}",
    ]
    if s.unpriced_calls:
        out.append(
            f"  unpriced  {_plural(s.unpriced_calls, 'new call')} of a model with no price (cost unknown)"
        )
    if s.pending_lines:
        out.append(f"  pending   {_plural(s.pending_lines, 'line')} still being written: read next time")
    out.append(f"  took      {s.elapsed_s:.2f} s" + (f" ({s.workers} parser processes)" if s.workers else ""))
    if s.skipped:
        reasons = "; ".join(f"{reason}: {SKIP_REASONS[reason]}" for reason in sorted(s.skipped))
        out.append(f"Skipped lines are not calls thrifty can record ({reasons}).")
    return "\n".join(out)
