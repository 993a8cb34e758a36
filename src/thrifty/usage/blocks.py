"""5-hour blocks, as ccusage draws them: when the usage happened, and where the open block is heading.

A block starts at its first call's time floored to the (UTC) hour and lasts 5 hours; the first
call at or after a block's end starts the next block. The stretch between one block's end and
the next block's start, when there is one, is a *gap* block with no calls (ccusage measures a
gap from the last call plus 5 hours instead; here gaps and blocks tile the timeline, so the
two always add up to the time covered).

Billing modes never share a block, for the same reason they never share a total: each mode's
calls form their own blocks. A block is *active* while ``now`` is inside it.

The active block's projection extrapolates its burn rate to the block's end. The burn rate is
the block's usage divided by the time since the block *started* (at least one minute), so the
projection is ``used x 5 h / elapsed``; ccusage divides by the time between the first and the
last call instead, which runs higher early in a block. Plans meter weighted tokens (input +
cache writes + output; cache reads are free), so the plan share uses those.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from thrifty.billing.ledger.rows import MODES, LedgerRow
from thrifty.billing.plan_presets import PlanDefinition
from thrifty.usage.reports import ReportRow, summarize

__all__ = ["BLOCK_LENGTH", "Block", "PlanUse", "Projection", "build_blocks", "plan_use", "project"]

BLOCK_LENGTH = timedelta(hours=5)
MIN_ELAPSED = timedelta(minutes=1)
_MICRO = timedelta(microseconds=1)
#: Projected costs keep this many decimal places (the rest is noise from the division).
_COST_PLACES = Decimal("0.000001")


@dataclass(frozen=True)
class Block:
    mode: str
    start: datetime
    end: datetime
    #: The block's sums (``key`` is the start as ISO-8601 UTC); all zero for a gap.
    usage: ReportRow
    gap: bool = False
    active: bool = False

    @property
    def first_at(self) -> datetime | None:
        return self.usage.first_at

    @property
    def last_at(self) -> datetime | None:
        return self.usage.last_at


def floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def build_blocks(
    rows: Iterable[LedgerRow],
    *,
    now: datetime,
    modes: Iterable[str] = MODES,
    breakdown: bool = False,
    gaps: bool = True,
) -> list[Block]:
    """Blocks of each mode in ``modes`` (``MODES`` order), oldest first within a mode.

    Times are compared in UTC; ``now`` marks the active block. ``gaps`` adds the gap blocks.
    """
    wanted = set(modes)
    per_mode: dict[str, list[LedgerRow]] = {mode: [] for mode in MODES if mode in wanted}
    for row in rows:
        if row.mode in per_mode:
            per_mode[row.mode].append(row)
    blocks: list[Block] = []
    for mode, mode_rows in per_mode.items():
        mode_rows.sort(key=lambda r: (r.recorded_at, r.request_id))
        chunks: list[tuple[datetime, list[LedgerRow]]] = []
        for row in mode_rows:
            if not chunks or row.recorded_at >= chunks[-1][0] + BLOCK_LENGTH:
                chunks.append((floor_hour(row.recorded_at), []))
            chunks[-1][1].append(row)
        previous_end: datetime | None = None
        for start, chunk in chunks:
            end = start + BLOCK_LENGTH
            if gaps and previous_end is not None and start > previous_end:
                empty = summarize([], key=previous_end.isoformat(), mode=mode)
                blocks.append(Block(mode, previous_end, start, empty, gap=True))
            usage = summarize(chunk, key=start.isoformat(), mode=mode, breakdown=breakdown, with_times=True)
            blocks.append(Block(mode, start, end, usage, active=start <= now < end))
            previous_end = end
    return blocks


@dataclass(frozen=True)
class Projection:
    """Where an active block ends up if calls keep coming at the rate they have so far."""

    now: datetime
    #: From the block's start to ``now`` (at least one minute), and from ``now`` to its end.
    elapsed: timedelta
    remaining: timedelta
    total_tokens: int
    weighted_tokens: int
    cost_usd: Decimal
    cost_complete: bool
    cost_known: bool
    projected_total_tokens: int
    projected_weighted_tokens: int
    projected_cost_usd: Decimal

    @property
    def tokens_per_minute(self) -> Decimal:
        return Decimal(self.total_tokens) * 60 / Decimal(self.elapsed.total_seconds())

    @property
    def weighted_per_minute(self) -> Decimal:
        return Decimal(self.weighted_tokens) * 60 / Decimal(self.elapsed.total_seconds())

    @property
    def cost_per_hour(self) -> Decimal:
        return (self.cost_usd * 3600 / Decimal(self.elapsed.total_seconds())).quantize(_COST_PLACES)


def _scale(tokens: int, numerator: int, denominator: int) -> int:
    """``tokens x numerator / denominator`` rounded half up, in integers (no float drift)."""
    return (2 * tokens * numerator + denominator) // (2 * denominator)


def project(block: Block, now: datetime) -> Projection | None:
    """The projection of ``block`` at ``now``; ``None`` unless ``now`` falls inside a non-gap block."""
    if block.gap or not block.start <= now < block.end:
        return None
    elapsed = max(now - block.start, MIN_ELAPSED)
    remaining = block.end - now
    span_us, elapsed_us = (block.end - block.start) // _MICRO, elapsed // _MICRO
    usage = block.usage
    return Projection(
        now=now,
        elapsed=elapsed,
        remaining=remaining,
        total_tokens=usage.total_tokens,
        weighted_tokens=usage.weighted_tokens,
        cost_usd=usage.cost_usd,
        cost_complete=usage.cost_complete,
        cost_known=usage.cost_known,
        projected_total_tokens=_scale(usage.total_tokens, span_us, elapsed_us),
        projected_weighted_tokens=_scale(usage.weighted_tokens, span_us, elapsed_us),
        projected_cost_usd=(usage.cost_usd * span_us / elapsed_us).quantize(_COST_PLACES),
    )


@dataclass(frozen=True)
class PlanUse:
    """A block's weighted tokens against a plan's 5-hour limit (an estimate for preset plans)."""

    plan: PlanDefinition
    used: Decimal
    projected: Decimal | None

    @property
    def used_percent(self) -> Decimal:
        return (self.used * 100).quantize(Decimal("0.1"))

    @property
    def projected_percent(self) -> Decimal | None:
        return None if self.projected is None else (self.projected * 100).quantize(Decimal("0.1"))


def plan_use(block: Block, plan: PlanDefinition, projection: Projection | None = None) -> PlanUse:
    limit = Decimal(plan.five_hour_tokens)
    projected = None if projection is None else Decimal(projection.projected_weighted_tokens) / limit
    return PlanUse(plan, Decimal(block.usage.weighted_tokens) / limit, projected)
