"""What ``thrifty usage`` and ``thrifty advise`` share: finding and reading the ledger, the time
bounds, the plan to compare with, and how a cost is written; and what the usage views share
(mode titles, a row's figures, the empty message), so that ``blocks`` and ``mismatches`` need
not import the command that dispatches to them."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

from thrifty.billing.config import ConfigError, load_billing_config
from thrifty.billing.ledger import MODES, Ledger, LedgerError, LedgerRow, RowQuery, open_ledger
from thrifty.billing.ledger.open import sqlite_path
from thrifty.billing.paths import default_ledger_path
from thrifty.billing.plan_presets import ALL_PRESETS, PlanDefinition, preset_key
from thrifty.cli.errors import UsageError
from thrifty.usage.filters import FilterError, parse_bound, to_local
from thrifty.usage.reports import VIEWS, Report, ReportRow, build_report, filter_projects

#: The views that group rows by a key, where --last and --order apply.
GROUPED_VIEWS = VIEWS

TITLES = {
    "api": "API (billed per token)",
    "plan": "Plan (API-equivalent estimate, not billed)",
    "batch": "Batch (billed per token at the batch discount)",
}
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
#: ``--plan`` value meaning the plan stored by ``thrifty login``.
LOGIN_PLAN = "login"


def ledger_url(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    """The ledger a run started here would write: ``--ledger``, ``THRIFTY_LEDGER``, the project's
    then the user's ``ledger`` setting, then the default file in the data directory."""
    try:
        config = load_billing_config(Path.cwd(), environ, flag_ledger=args.ledger)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    return config.ledger[0] if config.ledger else str(default_ledger_path(environ))


@contextmanager
def reading(url: str) -> Iterator[tuple[str, Ledger | None]]:
    """The ledger's display location and the open ledger, closed afterwards; ledger errors
    become ``UsageError``. A plain path that does not exist yet is an empty ledger (``None``): a
    read-only report should not create database files as a side effect of being curious."""
    if _SCHEME.match(url) is None or url.lower().startswith("sqlite://"):
        try:
            path = Path(sqlite_path(url)).expanduser().absolute()
        except LedgerError as exc:
            raise UsageError(str(exc)) from exc
        if not path.exists():
            yield str(path), None
            return
    try:
        ledger = open_ledger(url)
    except LedgerError as exc:  # its message names the location, with any password masked
        raise UsageError(str(exc)) from exc
    try:
        yield ledger.location, ledger
    except LedgerError as exc:
        raise UsageError(str(exc)) from exc
    finally:
        ledger.close()


def load_rows(url: str, query: RowQuery) -> tuple[str, list[LedgerRow]]:
    """The ledger's display location and matching rows."""
    with reading(url) as (location, ledger):
        return location, ledger.query(query) if ledger is not None else []


def load_report(
    url: str,
    query: RowQuery,
    *,
    view: str,
    tz: tzinfo | None,
    modes: Iterable[str] = MODES,
    breakdown: bool = False,
    week_start: str = "monday",
    cost_mode: str = "auto",
    projects: frozenset[str] | None = None,
) -> tuple[str, Report]:
    """The ledger's display location and a grouped view (``VIEWS``) of the calls matching
    ``query`` and ``projects``: from the sums the ledger takes (``thrifty.usage.aggregate``), or,
    when those cannot be placed on local days, from the rows, as the other views are."""
    from thrifty.usage.aggregate import aggregated_report

    modes = tuple(modes)
    with reading(url) as (location, ledger):
        report = None
        if ledger is not None:
            report = aggregated_report(
                ledger,
                query,
                view=view,
                tz=tz,
                modes=modes,
                breakdown=breakdown,
                week_start=week_start,
                cost_mode=cost_mode,
                projects=projects,
            )
        if report is None:
            from thrifty.usage.costs import apply_cost_mode

            rows = filter_projects(ledger.query(query) if ledger is not None else [], projects)
            rows = apply_cost_mode(rows, cost_mode)
            report = build_report(view, rows, tz=tz, modes=modes, breakdown=breakdown, week_start=week_start)
        return location, report


def bounds(
    since_text: str | None, until_text: str | None, tz: tzinfo | None, now: datetime
) -> tuple[datetime | None, datetime | None]:
    """``--since`` / ``--until`` as UTC instants (an ``--until`` date includes that whole day)."""
    try:
        since = parse_bound(since_text, flag="--since", tz=tz, now=now) if since_text else None
        until = parse_bound(until_text, flag="--until", tz=tz, now=now, end=True) if until_text else None
    except FilterError as exc:
        raise UsageError(str(exc)) from exc
    if since is not None and until is not None and since >= until:
        raise UsageError("--since must be before --until")
    return since, until


def stored_plan(environ: Mapping[str, str]) -> PlanDefinition | None:
    """The plan recorded with ``thrifty login`` (the config's ``"plan"`` block), if any. A config
    that cannot be read is a note, not an error: a report can go on without the plan."""
    from thrifty.billing.config import ConfigError, load_billing_config

    try:
        settings = load_billing_config(Path.cwd(), environ).plan
    except ConfigError as exc:
        print(f"note: the recorded plan is not used: {exc}", file=sys.stderr)
        return None
    return settings.definition if settings is not None else None


def plan_named(name: str, environ: Mapping[str, str]) -> PlanDefinition:
    """A preset plan by name, or ``login`` for the stored one."""
    if name == LOGIN_PLAN:
        plan = stored_plan(environ)
        if plan is None:
            raise UsageError("--plan login: no plan is recorded; run `thrifty login --plan NAME` first")
        return plan
    name = preset_key(name)
    if name not in ALL_PRESETS:
        raise UsageError(f"--plan must be one of {', '.join([*ALL_PRESETS, LOGIN_PLAN])}, not '{name}'")
    return ALL_PRESETS[name]


def cost_text(row: ReportRow) -> str:
    if not row.cost_known:
        return "unknown"
    return f"{'' if row.cost_complete else '≥ '}${row.cost_usd:,.2f}"


def cost_exact(row: ReportRow) -> str | None:
    # Fixed-point, never "1E-7": scripts compare these strings and feed them to Decimal.
    return f"{row.cost_usd:f}" if row.cost_known else None


def decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


def when(moment: datetime | None, tz: tzinfo | None, fmt: str | None = None) -> str:
    if moment is None:
        return ""
    local = to_local(moment, tz)
    return local.strftime(fmt) if fmt else local.isoformat()


_compact = [False]


def compact_tables() -> bool:
    """Whether ``--compact`` was given: tables then keep to 80 columns even in a file."""
    return _compact[0]


def add_view_flags(p: argparse.ArgumentParser) -> None:
    """``--last``, ``--order`` and ``--compact``, shared by the usage views and ``advise``."""
    grouped = ", ".join(GROUPED_VIEWS)
    p.add_argument(
        "--last",
        type=int,
        metavar="N",
        help=f"{grouped}: only the last N rows of each billing mode (the totals are theirs)",
    )
    p.add_argument(
        "--order",
        choices=("asc", "desc"),
        help=f"{grouped}: oldest first (asc, the default) or newest first (desc)",
    )
    add_compact_flag(p)


def add_compact_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--compact",
        action="store_true",
        help="tables at most 80 columns wide, the least useful columns hidden (default: the "
        "terminal's width, or every column at full width in a file or pipe)",
    )


def use_compact(on: bool) -> None:
    _compact[0] = on


def use_view_flags(args: argparse.Namespace) -> None:
    """Checks ``--last``/``--order`` against the view and records ``--compact``."""
    use_compact(args.compact)
    view = getattr(args, "view", None)
    for flag, given in (("--last", args.last is not None), ("--order", args.order is not None)):
        if given and view not in GROUPED_VIEWS:
            raise UsageError(f"{flag} goes with the {', '.join(GROUPED_VIEWS)} views, not {view}")
    if args.last is not None and args.last < 1:
        raise UsageError("--last must be a whole number of rows, 1 or more")


def shape(report: Report, last: int | None, order: str | None) -> Report:
    """The last ``last`` rows of each mode (with totals of just those), newest first for
    ``order="desc"``: a report of what is shown, so the total matches the rows above it."""
    if last is None and order != "desc":
        return report
    rows: list[ReportRow] = []
    totals = dict(report.totals)
    for mode in MODES:
        mine = report.rows_of(mode)
        if last is not None and mode in totals:
            mine = mine[-last:]
            totals[mode] = _sum(mine, totals[mode])
        rows += reversed(mine) if order == "desc" else mine
    return Report(view=report.view, rows=rows, totals=totals)


def _sum(rows: list[ReportRow], like: ReportRow) -> ReportRow:
    """The total of ``rows``, keyed and moded as ``like``; per-model breakdowns summed by model."""
    if not rows:
        return ReportRow(key=like.key, mode=like.mode)
    by_model: dict[str, list[ReportRow]] = {}
    for sub in (s for row in rows for s in row.breakdown):
        by_model.setdefault(sub.key, []).append(sub)
    firsts = [r.first_at for r in rows if r.first_at is not None]
    lasts = [r.last_at for r in rows if r.last_at is not None]
    return ReportRow(
        key=like.key,
        mode=like.mode,
        calls=sum(r.calls for r in rows),
        input_tokens=sum(r.input_tokens for r in rows),
        output_tokens=sum(r.output_tokens for r in rows),
        cache_write_tokens=sum(r.cache_write_tokens for r in rows),
        cache_read_tokens=sum(r.cache_read_tokens for r in rows),
        web_search_requests=sum(r.web_search_requests for r in rows),
        web_fetch_requests=sum(r.web_fetch_requests for r in rows),
        cost_usd=sum((r.cost_usd for r in rows), Decimal(0)),
        unpriced_calls=sum(r.unpriced_calls for r in rows),
        models=tuple(sorted({m for r in rows for m in r.models})),
        project=like.project,
        first_at=min(firsts) if firsts and like.first_at is not None else None,
        last_at=max(lasts) if lasts and like.last_at is not None else None,
        breakdown=tuple(_sum(subs, subs[0]) for _, subs in sorted(by_model.items())),
    )


def empty_message(location: str, filtered: bool) -> str:
    if filtered:
        return f"No usage in {location} matches these filters."
    return f"No usage recorded yet in {location}." + history_hint()


def history_hint() -> str:
    """Where a Claude Code history waits to be imported, if there is one: the usual reason a
    new user's first report is empty."""
    from thrifty.usage.claude_code import discover, scan_transcripts

    found = discover()
    files = scan_transcripts(found.dirs) if found.dirs else []
    if not files:
        return ""
    where = ", ".join(str(d / "projects") for d in found.dirs)
    count = f"{len(files):,} transcript{'s' if len(files) != 1 else ''}"
    return (
        f"\nClaude Code history found: {count} in {where}.\n"
        "Run `thrifty import` to bring its usage into the ledger, then `thrifty usage` again."
    )


def fields(row: ReportRow, view: str, tz: tzinfo | None, *, breakdown: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"key": row.key, "mode": row.mode}
    if view == "session":
        out.update(project=row.project, first_at=when(row.first_at, tz) or None)
        out.update(last_at=when(row.last_at, tz) or None)
    out.update(
        calls=row.calls,
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        cache_write_tokens=row.cache_write_tokens,
        cache_read_tokens=row.cache_read_tokens,
        total_tokens=row.total_tokens,
        web_search_requests=row.web_search_requests,
        web_fetch_requests=row.web_fetch_requests,
        cost=cost_exact(row),
        cost_complete=row.cost_complete,
        unpriced_calls=row.unpriced_calls,
        models=list(row.models),
    )
    if breakdown:
        out["breakdown"] = [fields(sub, "model", tz) for sub in row.breakdown]
    return out


def numbers(row: ReportRow) -> list[str]:
    figures = (row.calls, row.input_tokens, row.output_tokens, row.cache_write_tokens, row.cache_read_tokens)
    return [*(f"{n:,}" for n in (*figures, row.total_tokens)), cost_text(row)]
