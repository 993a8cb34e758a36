"""``thrifty usage blocks``: 5-hour blocks, the active one's projection, and its share of a plan."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timedelta, tzinfo
from typing import Any

from rich.console import Console

from thrifty.billing.ledger import MODES, LedgerRow
from thrifty.billing.plan_presets import PlanDefinition
from thrifty.cli.errors import EXIT_OK, UsageError
from thrifty.cli.usage.common import (
    TITLES,
    decimal_text,
    empty_message,
    fields,
    numbers,
    plan_named,
    stored_plan,
    when,
)
from thrifty.cli.usage.tables import HIDDEN_NOTE, NUMERIC, Column, Grid, print_grid
from thrifty.usage.blocks import BLOCK_LENGTH, Block, PlanUse, Projection, build_blocks, plan_use, project

STAMP = "%Y-%m-%d %H:%M"


def duration(span: timedelta) -> str:
    minutes = max(0, int(span.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def plan_for(args: argparse.Namespace, blocks: list[Block]) -> PlanDefinition | None:
    if args.plan is not None:
        return plan_named(args.plan, os.environ)
    if any(b.mode == "plan" and not b.gap for b in blocks):  # only then is the store worth reading
        return stored_plan(os.environ)
    return None


def _plan_use(block: Block, plan: PlanDefinition | None, projection: Projection | None) -> PlanUse | None:
    if plan is None or block.mode != "plan" or block.gap:
        return None
    return plan_use(block, plan, projection)


def show_blocks(
    args: argparse.Namespace,
    rows: list[LedgerRow],
    tz: tzinfo | None,
    now: datetime,
    location: str,
    filtered: bool,
) -> int:
    if getattr(args, "refresh", None) is not None:  # --live runs in thrifty.cli.usage.live
        raise UsageError("--refresh goes with --live (thrifty usage blocks --live --refresh 5)")
    modes = [args.mode] if args.mode else list(MODES)
    blocks = build_blocks(rows, now=now, modes=modes, breakdown=args.breakdown)
    if args.active:
        blocks = [b for b in blocks if b.active]
    plan = plan_for(args, blocks)
    entries = []
    for block in blocks:
        projection = project(block, now)
        entries.append((block, projection, _plan_use(block, plan, projection)))
    if args.json:
        doc = _json_doc(args, entries, plan, tz, now, location)
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    elif not rows:
        print(empty_message(location, filtered))
    elif not entries:
        last = max(row.recorded_at for row in rows)
        print(
            f"No active block: the last call was at {when(last, tz, STAMP)}, "
            f"{duration(now - last)} ago; a block lasts 5 hours from its start."
        )
    else:
        _print(entries, plan, tz, args.cost_mode)
    return EXIT_OK


def _projection_json(p: Projection) -> dict[str, Any]:
    return {
        "now": p.now.isoformat(),
        "elapsed_seconds": round(p.elapsed.total_seconds(), 3),
        "remaining_seconds": round(p.remaining.total_seconds(), 3),
        "tokens_per_minute": str(p.tokens_per_minute.quantize(1)),
        "weighted_per_minute": str(p.weighted_per_minute.quantize(1)),
        "cost_per_hour": decimal_text(p.cost_per_hour) if p.cost_known else None,
        "projected_total_tokens": p.projected_total_tokens,
        "projected_weighted_tokens": p.projected_weighted_tokens,
        "projected_cost": decimal_text(p.projected_cost_usd) if p.cost_known else None,
        "cost_complete": p.cost_complete,
    }


def _plan_use_json(use: PlanUse) -> dict[str, Any]:
    return {
        "plan": use.plan.name,
        "five_hour_limit": use.plan.five_hour_tokens,
        "estimate": use.plan.estimate,
        "used_percent": decimal_text(use.used_percent),
        "projected_percent": decimal_text(use.projected_percent),
    }


def _json_doc(
    args: argparse.Namespace,
    entries: list[tuple[Block, Projection | None, PlanUse | None]],
    plan: PlanDefinition | None,
    tz: tzinfo | None,
    now: datetime,
    location: str,
) -> dict[str, Any]:
    out = []
    for block, projection, use in entries:
        item: dict[str, Any] = {
            "mode": block.mode,
            "start": when(block.start, tz),
            "end": when(block.end, tz),
            "gap": block.gap,
            "active": block.active,
            "first_at": when(block.first_at, tz) or None,
            "last_at": when(block.last_at, tz) or None,
        }
        usage = fields(block.usage, "blocks", tz, breakdown=args.breakdown)
        del usage["key"], usage["mode"]
        item.update(usage)
        item["weighted_tokens"] = block.usage.weighted_tokens
        item["projection"] = _projection_json(projection) if projection else None
        item["plan_use"] = _plan_use_json(use) if use else None
        out.append(item)
    return {
        "view": "blocks",
        "timezone": args.timezone or "local",
        "now": now.isoformat(),
        "block_hours": int(BLOCK_LENGTH.total_seconds() // 3600),
        "ledger": location,
        "source": args.source,
        "cost_mode": args.cost_mode,
        "active_only": args.active,
        "plan": plan.to_dict() if plan else None,
        "blocks": out,
    }


def _columns(with_plan: bool) -> list[Column]:
    columns = [
        Column("Block start"),
        Column("Status", 9),
        Column("Models", 4),
        *NUMERIC,
        Column("Weighted\ntokens", 3, True),
    ]
    if with_plan:
        columns.append(Column("% of 5h\nlimit", 7, True))
    return columns


def _cells(block: Block, use: PlanUse | None, tz: tzinfo | None, with_plan: bool) -> list[str]:
    start = when(block.start, tz, STAMP)
    if block.gap:
        cells = [start, f"gap ({duration(block.end - block.start)})", *[""] * 9]
    else:
        status = "ACTIVE" if block.active else ""
        models = "" if block.usage.breakdown else "\n".join(block.usage.models)
        cells = [start, status, models, *numbers(block.usage), f"{block.usage.weighted_tokens:,}"]
    if with_plan:
        cells.append(f"{use.used_percent}%" if use else "")
    return cells


def _print(
    entries: list[tuple[Block, Projection | None, PlanUse | None]],
    plan: PlanDefinition | None,
    tz: tzinfo | None,
    cost_mode: str,
) -> None:
    console = Console(highlight=False)
    hidden = False
    for mode in MODES:
        mine = [e for e in entries if e[0].mode == mode]
        if not mine:
            continue
        with_plan = plan is not None and mode == "plan"
        grid = Grid(f"{TITLES[mode]}: 5-hour blocks", _columns(with_plan))
        for block, _, use in mine:
            grid.add(
                _cells(block, use, tz, with_plan), "dim" if block.gap else ("bold" if block.active else None)
            )
            for sub in block.usage.breakdown:
                cells = [f"  └ {sub.key}", "", "", *numbers(sub), f"{sub.weighted_tokens:,}"]
                grid.add(cells + ([""] if with_plan else []), "dim")
        hidden = print_grid(console, grid) or hidden
    for block, projection, use in entries:
        if projection is not None:
            for line in active_lines(block, projection, use, tz):
                console.print(line)
    if cost_mode == "display":
        console.print("Costs: logged costs only (--cost-mode display); calls without one count as unpriced.")
    if hidden:
        console.print(HIDDEN_NOTE)


def _money(value: object, complete: bool, known: bool) -> str:
    if not known:
        return "unknown cost"
    return f"{'' if complete else '≥ '}${value:,.2f}"


def active_lines(block: Block, p: Projection, use: PlanUse | None, tz: tzinfo | None) -> list[str]:
    end = when(block.end, tz, "%H:%M")
    known, complete = p.cost_known, p.cost_complete
    so_far = _money(p.cost_usd, complete, known)
    rate = _money(p.cost_per_hour, complete, known)
    projected = _money(p.projected_cost_usd, complete, known)
    start = when(block.start, tz, "%H:%M")
    lines = [
        f"Active {block.mode} block: {start} to {end} ({duration(p.remaining)} left)",
        f"  So far:    {p.total_tokens:,} tokens ({p.weighted_tokens:,} weighted), {so_far}",
        f"  Burn rate: {p.tokens_per_minute:,.0f} tokens/min ({p.weighted_per_minute:,.0f} weighted), "
        f"{rate}/h over the {duration(p.elapsed)} since the block started",
        f"  Projected at {end}: {p.projected_total_tokens:,} tokens "
        f"({p.projected_weighted_tokens:,} weighted), {projected}",
    ]
    if use is not None:
        kind = "estimated " if use.plan.estimate else ""
        lines.append(
            f"  Plan {use.plan.label}: {use.used_percent}% of the {kind}5-hour limit "
            f"({use.plan.five_hour_tokens:,} weighted tokens) used, {use.projected_percent}% projected"
        )
    return lines
