"""``thrifty statusline``: one line for Claude Code's status bar, from the ledger and Claude Code's JSON.

Claude Code runs the command after each message, so it has to be quick (no ``rich``, no client;
``tests/cli/test_statusline.py`` checks what it loads, ``bench/statusline_bench.py`` times it)
and it has to print a line whatever happens: a statusline that prints a traceback, or nothing, is
worse than one that shows less. So only a mistake in the command's own arguments is an error
(exit 1, one line on stderr, nothing on stdout: you see it when you try the command by hand).
Input that is not Claude Code's JSON, a ledger or config file that cannot be read, and even a bug
of ours leave a note on stderr and still print what can be shown, with exit 0. The figures
and where each comes from are in ``thrifty.usage.statusline``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from thrifty.billing.ledger import MODES, Ledger, LedgerRow, RowQuery
from thrifty.billing.plan_presets import ALL_PRESETS, PlanDefinition
from thrifty.cli.errors import EXIT_OK, UsageError
from thrifty.cli.usage.common import LOGIN_PLAN, decimal_text, ledger_url, plan_named, reading, stored_plan
from thrifty.usage.blocks import BLOCK_LENGTH
from thrifty.usage.statusline import (
    DEFAULT_FORMAT,
    FIELDS,
    Share,
    Status,
    StatusInput,
    block_start,
    build_status,
    by_mode,
    check_format,
    choose_mode,
    parse_input,
    render,
    values,
    weekly_from_ledger,
)

#: The calls read one by one: today's and the active block's (``block_start`` places the block).
RECENT = timedelta(days=1)
FORMAT_VARIABLE = "THRIFTY_STATUSLINE_FORMAT"
NO_USAGE = "thrifty: no usage recorded"

DESCRIPTION = """\
Print one status line for Claude Code from its status line JSON on stdin: the session's cost,
today's cost, the current 5-hour block (its share of your plan's limit, else its cost), the
plan's weekly allowance left and the burn rate. Set it up in ~/.claude/settings.json:
  {"statusLine": {"type": "command", "command": "thrifty statusline"}}
Fields for --format (or $THRIFTY_STATUSLINE_FORMAT):
""" + "\n".join(f"  {{{name}}}{' ' * (9 - len(name))}{text}" for name, text in FIELDS.items())

EPILOG = f"""\
Segments are separated by '|'; a segment whose fields are all empty is left out. Default:
  {DEFAULT_FORMAT}
A percentage marked ~ is measured against thrifty's estimate of the plan's limits. Exit status:
0 whenever a line was printed (bad input or an unreadable ledger leave a note on stderr and a
shorter line), 1 for a bad argument. --json prints the figures and where each came from.
See docs/statusline.md."""


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "statusline",
        help="one line for Claude Code's status bar: session, today, 5-hour block, week, burn rate",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--format", metavar="TEMPLATE", help="the line's template (see the fields above)")
    p.add_argument("--no-color", action="store_true", help="no ANSI colours (also when $NO_COLOR is set)")
    p.add_argument("-j", "--json", action="store_true", help="print the figures and their sources as JSON")
    p.add_argument("--ledger", metavar="URL", help="ledger path, sqlite:/// or postgresql:// URL")
    p.add_argument(
        "--plan",
        metavar="NAME",
        help=f"the plan for the block's and week's shares ({', '.join([*ALL_PRESETS, LOGIN_PLAN])}; "
        "default: the plan stored by `thrifty login`, if any)",
    )
    p.add_argument(
        "--mode", choices=MODES, help="today's and the block's billing mode (default: the session's)"
    )
    p.add_argument("--timezone", metavar="TZ", help="zone for 'today' (default: local)")


@dataclass
class Gathered:
    location: str | None = None
    recent: list[LedgerRow] = field(default_factory=list)
    session: list[LedgerRow] = field(default_factory=list)
    weekly: Share | None = None
    block_since: datetime | None = None
    plan: PlanDefinition | None = None
    notes: list[str] = field(default_factory=list)


def _note(gathered: Gathered, text: str) -> None:
    gathered.notes.append(text)
    print(f"thrifty statusline: {text}", file=sys.stderr)


def _read_stdin(gathered: Gathered) -> StatusInput:
    stream = sys.stdin
    if stream is None or stream.isatty():  # run by hand: nothing to wait for
        return StatusInput()
    try:
        text = stream.buffer.read().decode("utf-8", errors="replace")
        return parse_input(text)
    except (OSError, ValueError) as exc:
        _note(gathered, f"{exc}; showing the ledger's figures only")
        return StatusInput()


def _options(args: argparse.Namespace) -> tuple[str, tzinfo | None, PlanDefinition | None]:
    """The template, zone and plan; a bad one is the user's mistake (exit 1)."""
    from thrifty.usage.filters import FilterError, parse_timezone

    template = args.format if args.format is not None else os.environ.get(FORMAT_VARIABLE) or DEFAULT_FORMAT
    try:
        check_format(template)
    except ValueError as exc:
        where = "--format" if args.format is not None else f"${FORMAT_VARIABLE}"
        raise UsageError(f"{where}: {exc}") from None
    try:
        tz = parse_timezone(args.timezone)
    except FilterError as exc:
        raise UsageError(str(exc)) from exc
    return template, tz, plan_named(args.plan, os.environ) if args.plan else None


def _read_ledger(
    ledger: Ledger,
    inp: StatusInput,
    args: argparse.Namespace,
    now: datetime,
    tz: tzinfo | None,
    into: Gathered,
) -> None:
    """The session's calls, the last day's (today's, and the active block's: a block lasts 5
    hours), where the mode's latest block starts, and the weekly window when nothing better says."""
    from thrifty.usage.costs import apply_cost_mode

    if inp.session_id:
        into.session = apply_cost_mode(ledger.query(RowQuery(session_id=inp.session_id)), "auto")
    midnight = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    recent = ledger.query(RowQuery(since=min(now - RECENT, midnight)))
    into.recent = apply_cost_mode(recent, "auto")
    mode = choose_mode(into.session, recent, args.mode)
    if mode is not None and any(r.mode == mode and r.recorded_at > now - BLOCK_LENGTH for r in recent):
        into.block_since = block_start(ledger, RowQuery(mode=mode), now)
    if mode != "plan" or ("five_hour" in inp.rate_limits and "seven_day" in inp.rate_limits):
        return  # nothing to measure against the plan's limits
    into.plan = into.plan or stored_plan(os.environ)
    if into.plan is not None and "seven_day" not in inp.rate_limits:
        into.weekly = weekly_from_ledger(ledger, into.plan, now)


def _gather(
    inp: StatusInput,
    args: argparse.Namespace,
    now: datetime,
    tz: tzinfo | None,
    plan: PlanDefinition | None,
    into: Gathered,
) -> None:
    into.plan = plan
    try:
        with reading(ledger_url(args, os.environ)) as (location, ledger):
            into.location = location
            if ledger is not None:
                _read_ledger(ledger, inp, args, now, tz, into)
    except UsageError as exc:  # a config or ledger that cannot be read: show what Claude Code sent
        into.recent, into.session, into.weekly, into.block_since = [], [], None, None
        into.location = None
        _note(into, str(exc))


def run(args: argparse.Namespace) -> int:
    template, tz, plan = _options(args)
    color = not args.no_color and not os.environ.get("NO_COLOR") and not args.json
    gathered = Gathered()
    inp = _read_stdin(gathered)
    now = datetime.now(UTC)
    try:
        _gather(inp, args, now, tz, plan, gathered)
        status = build_status(
            inp,
            recent=gathered.recent,
            session_rows=gathered.session,
            now=now,
            tz=tz,
            plan=gathered.plan,
            weekly=gathered.weekly,
            mode=args.mode,
            block_since=gathered.block_since,
        )
        line = render(template, values(status, color=color))
    except Exception as exc:  # a status bar must still get a line, even from a bug of ours
        from thrifty.cli.crash import report_crash

        report_crash(exc)
        fallback = StatusInput(model=inp.model, cost_usd=inp.cost_usd)
        empty = build_status(fallback, recent=[], session_rows=[], now=now, tz=tz)
        shown = render(template, values(empty, color=False))
        print(f"{shown} | thrifty: internal error" if shown else "thrifty: internal error")
        return EXIT_OK
    if gathered.location is None and not args.json:
        line = f"{line} | thrifty: ledger unreadable" if line else "thrifty: ledger unreadable"
    if args.json:
        doc = _json_doc(status, gathered, line, tz)
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    else:
        print(line or NO_USAGE)
    return EXIT_OK


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _share_json(share: Share | None, *, remaining: bool) -> dict[str, Any] | None:
    if share is None:
        return None
    out: dict[str, Any] = {"used_percent": decimal_text(share.percent)}
    if remaining:
        out["remaining_percent"] = decimal_text(max(100 - share.percent, Decimal(0)))
    out.update(source=share.source, estimate=share.estimate, resets_at=_moment(share.resets_at))
    return out


def _json_doc(status: Status, gathered: Gathered, line: str, tz: tzinfo | None) -> dict[str, Any]:
    inp, session, today = status.input, status.session, status.today
    midnight = status.now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    block, p = status.block, status.projection
    return {
        "line": line,
        "now": status.now.isoformat(),
        "ledger": gathered.location,
        "mode": status.mode,
        "model": inp.model,
        "session": {
            "id": inp.session_id,
            "cost": decimal_text(status.session_cost),
            "source": status.session_source,
            "ledger_calls": session.calls if session else 0,
            "ledger_cost": decimal_text(session.cost_usd) if session and session.cost_known else None,
            "ledger_cost_complete": session.cost_complete if session else True,
            "claude_code_cost": decimal_text(inp.cost_usd),
        },
        "today": {
            "since": midnight.isoformat(),
            "cost": decimal_text(today.cost_usd) if today and today.cost_known else None,
            "calls": today.calls if today else 0,
            "cost_complete": today.cost_complete if today else True,
            "source": "ledger" if today is not None else None,
            "by_mode": {m: decimal_text(r.cost_usd) for m, r in by_mode(gathered.recent, midnight).items()},
        },
        "block": None
        if block is None or p is None
        else {
            "start": block.start.isoformat(),
            "end": block.end.isoformat(),
            "calls": block.usage.calls,
            "cost": decimal_text(p.cost_usd) if p.cost_known else None,
            "cost_complete": p.cost_complete,
            "burn_usd_per_hour": decimal_text(p.cost_per_hour) if p.cost_known else None,
            "projected_cost": decimal_text(p.projected_cost_usd) if p.cost_known else None,
            "source": "ledger",
        },
        "five_hour": _share_json(status.block_share, remaining=False),
        "weekly": _share_json(status.weekly_used, remaining=True),
        "context_used_percent": decimal_text(inp.context_percent),
        "plan": status.plan.to_dict() if status.plan else None,
        "notes": gathered.notes,
    }
