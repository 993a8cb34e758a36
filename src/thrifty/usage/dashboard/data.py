"""The dashboard's numbers: one JSON-ready document built from ledger rows, so the page, its
embedded data blob and the tests all read the very same figures.

The rules of the usage tables hold here too: billing modes never share a sum (``plan`` costs
are API-equivalent estimates, not money billed), and an unknown price is never zero (a sum
that misses some calls says so with ``cost_complete: false``; ``cost`` is null when no call of
the group had a price). Costs are exact decimal strings. Sums come from
``thrifty.usage.reports.summarize``, cache savings from ``thrifty.usage.advisor`` and plan
windows from ``thrifty.usage.blocks`` and the advisor's window rebuild: nothing is priced twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any

from thrifty.billing.calibrate import PlanLimits
from thrifty.billing.ledger.rows import MODES, LedgerRow
from thrifty.billing.plan_presets import PlanDefinition
from thrifty.billing.windows import ONE_WEEK, from_rows
from thrifty.usage.advisor import Slice, advise, rebuild_windows
from thrifty.usage.blocks import build_blocks
from thrifty.usage.filters import to_local
from thrifty.usage.reports import ReportRow, summarize

__all__ = ["FORMAT", "PlanSetup", "Scope", "dashboard_data"]

#: The version of the data document's shape; bumped when a field changes meaning.
FORMAT = 1
#: The most recent 5-hour blocks and weeks the plan section draws.
RECENT_WINDOWS = 24


@dataclass(frozen=True)
class Scope:
    """What the page covers, as the user asked for it (``None``: no such filter)."""

    ledger: str
    timezone: str
    since: datetime | None
    until: datetime | None
    mode: str | None
    project: str | None
    source: str
    cost_mode: str


@dataclass(frozen=True)
class PlanSetup:
    """The configured plan and the window limits it is measured against, each with its source."""

    plan: PlanDefinition
    limits: PlanLimits


def _cost(row: ReportRow) -> str | None:
    # Fixed-point ("0.0000001", never "1E-7"), as ``thrifty usage --json`` writes it.
    return f"{row.cost_usd:f}" if row.cost_known else None


def figures(row: ReportRow) -> dict[str, Any]:
    """A group's sums under the names ``thrifty usage --json`` gives them."""
    return {
        "calls": row.calls,
        "input_tokens": row.input_tokens,
        "output_tokens": row.output_tokens,
        "cache_write_tokens": row.cache_write_tokens,
        "cache_read_tokens": row.cache_read_tokens,
        "total_tokens": row.total_tokens,
        "cost": _cost(row),
        "cost_complete": row.cost_complete,
        "unpriced_calls": row.unpriced_calls,
    }


def _grouped(
    rows: Iterable[LedgerRow], key_of: Callable[[LedgerRow], str], mode: str
) -> list[tuple[str, ReportRow]]:
    groups: dict[str, list[LedgerRow]] = defaultdict(list)
    for row in rows:
        groups[key_of(row)].append(row)
    return [(key, summarize(groups[key], key=key, mode=mode)) for key in sorted(groups)]


def _days(rows: Sequence[LedgerRow], tz: tzinfo | None, mode: str) -> list[dict[str, Any]]:
    """Each day with calls: its sums, and its cost split by model and by project."""

    def day_of(row: LedgerRow) -> str:
        return to_local(row.recorded_at, tz).date().isoformat()

    by_day: dict[str, list[LedgerRow]] = defaultdict(list)
    for row in rows:
        by_day[day_of(row)].append(row)
    out = []
    for day in sorted(by_day):
        day_rows = by_day[day]
        entry: dict[str, Any] = {"day": day, **figures(summarize(day_rows, key=day, mode=mode))}
        entry["by_model"] = {k: _cost(r) for k, r in _grouped(day_rows, lambda r: r.model, mode)}
        entry["by_project"] = {k: _cost(r) for k, r in _grouped(day_rows, lambda r: r.project, mode)}
        out.append(entry)
    return out


def _cache(piece: Slice | None) -> dict[str, Any]:
    """What caching did for a mode's calls, as the advisor prices it: the calls at the prices
    they were charged, and as if every cached token had been plain input."""
    if piece is None:
        return {"cost": "0", "no_cache_cost": "0", "saving": "0", "unpriced_calls": 0}
    return {
        "cost": f"{piece.cost_usd:f}",
        "no_cache_cost": f"{piece.no_cache_cost_usd:f}",
        "saving": f"{piece.cache_saving_usd:f}",
        "unpriced_calls": piece.unpriced_calls,
    }


def _mode_doc(mode: str, rows: Sequence[LedgerRow], tz: tzinfo | None, cache: Slice | None) -> dict[str, Any]:
    return {
        "total": figures(summarize(rows, key="total", mode=mode)),
        "days": _days(rows, tz, mode),
        "models": [{"model": k, **figures(r)} for k, r in _grouped(rows, lambda r: r.model, mode)],
        "projects": [{"project": k, **figures(r)} for k, r in _grouped(rows, lambda r: r.project, mode)],
        "cache": _cache(cache),
    }


def _plan_doc(
    setup: PlanSetup, plan_rows: Sequence[LedgerRow], now: datetime, tz: tzinfo | None
) -> dict[str, Any]:
    """The plan's 5-hour blocks and weeks from the plan-mode calls, against its limits; and the
    windows open now, as ``thrifty status`` rebuilds them from the ledger."""
    five, week = setup.limits.five_hour.tokens, setup.limits.weekly.tokens

    def share(used: int, limit: int) -> str | None:
        return f"{Decimal(used) / Decimal(limit):.4f}" if limit else None

    blocks = build_blocks(plan_rows, now=now, modes=("plan",), gaps=False)[-RECENT_WINDOWS:]
    weeks = rebuild_windows(plan_rows, ONE_WEEK)
    recent = [r for r in plan_rows if r.recorded_at >= now - 2 * ONE_WEEK]
    return {
        "name": setup.plan.name,
        "label": setup.plan.label,
        "monthly_fee": f"{setup.plan.monthly_fee_usd:f}",
        "five_hour_limit": five,
        "weekly_limit": week,
        "limits": setup.limits.line(),
        "limits_are_estimates": setup.limits.estimated,
        "blocks": [
            {
                "start": to_local(b.start, tz).isoformat(timespec="seconds"),
                "weighted_tokens": b.usage.weighted_tokens,
                "share": share(b.usage.weighted_tokens, five),
                "cost": _cost(b.usage),
                "active": b.active,
            }
            for b in blocks
        ],
        "weeks": [
            {
                "start": to_local(start, tz).isoformat(timespec="seconds"),
                "weighted_tokens": used,
                "share": share(used, week),
            }
            for start, used in list(zip(weeks.starts, weeks.weighted, strict=True))[-RECENT_WINDOWS:]
        ],
        "now": [
            {
                "window": s.label,
                "used": f"{s.used:.4f}",
                "resets_at": to_local(s.resets_at, tz).isoformat(timespec="seconds") if s.resets_at else None,
                "estimate": s.estimate,
            }
            for s in from_rows(recent, setup.plan, now=now, limits=setup.limits)
        ],
    }


def dashboard_data(
    rows: Sequence[LedgerRow],
    scope: Scope,
    *,
    tz: tzinfo | None,
    now: datetime,
    titles: Mapping[str, str],
    plan: PlanSetup | None = None,
    advice: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole document. ``rows`` carry the cost the cost mode picked (``apply_cost_mode``);
    ``titles`` names each mode as the usage tables do; ``advice`` is ``thrifty advise --json``'s
    document (or ``{"error": ...}``), passed in whole."""
    modes = [scope.mode] if scope.mode else list(MODES)
    per_mode = {mode: [r for r in rows if r.mode == mode] for mode in modes}
    cache: dict[str, Slice] = {}
    if rows:
        start = scope.since or min(r.recorded_at for r in rows)
        end = scope.until or max(now, max(r.recorded_at for r in rows))
        if end > start:
            cache = advise(rows, [], since=start, until=end, tz=tz).by_mode
    models = sorted({r.model for r in rows})
    return {
        "format": FORMAT,
        "generated_at": to_local(now, tz).isoformat(timespec="seconds"),
        "ledger": scope.ledger,
        "timezone": scope.timezone,
        "since": scope.since.isoformat() if scope.since else None,
        "until": scope.until.isoformat() if scope.until else None,
        "mode": scope.mode,
        "project": scope.project,
        "source": scope.source,
        "cost_mode": scope.cost_mode,
        "models": models,
        "projects": sorted({r.project for r in rows}),
        "modes": {
            mode: {"title": titles[mode], **_mode_doc(mode, mode_rows, tz, cache.get(mode))}
            for mode, mode_rows in per_mode.items()
        },
        "plan": _plan_doc(plan, per_mode.get("plan", []), now, tz) if plan is not None else None,
        "advice": dict(advice) if advice is not None else None,
    }
