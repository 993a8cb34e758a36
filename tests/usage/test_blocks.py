"""5-hour blocks: where they start and end, gaps, the active block and its projection."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.usage.history import Profile, generate
from tests.usage.rows import make_row
from thrifty.billing.plan_presets import PRESETS, custom_plan
from thrifty.usage.blocks import BLOCK_LENGTH, build_blocks, plan_use, project


def at(hour: int, minute: int = 0, day: int = 1) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC)


LATER = datetime(2026, 1, 1, tzinfo=UTC)


def test_block_starts_at_the_hour_of_its_first_call_and_lasts_five_hours() -> None:
    rows = [make_row(at=at(9, 47)), make_row(at=at(13, 59))]
    (block,) = build_blocks(rows, now=LATER)
    assert (block.start, block.end) == (at(9), at(14))
    assert (block.first_at, block.last_at, block.usage.calls) == (at(9, 47), at(13, 59), 2)


def test_a_call_at_or_after_the_end_starts_the_next_block() -> None:
    rows = [
        make_row(at=at(9, 30)),
        make_row(at=at(13, 59)),
        make_row(at=at(14, 0)),  # exactly the end of the 09:00 block
        make_row(at=at(18, 59)),
        make_row(at=at(19, 0)),
    ]
    blocks = build_blocks(rows, now=LATER, gaps=False)
    assert [(b.start, b.usage.calls) for b in blocks] == [(at(9), 2), (at(14), 2), (at(19), 1)]


def test_gaps_fill_the_time_between_blocks() -> None:
    rows = [make_row(at=at(9, 30)), make_row(at=at(20, 15)), make_row(at=at(1, 5, day=2))]
    blocks = build_blocks(rows, now=LATER)
    assert [(b.start, b.end, b.gap) for b in blocks] == [
        (at(9), at(14), False),
        (at(14), at(20), True),
        (at(20), at(1, day=2), False),  # the next call is at 01:05: no gap, it starts a new block
        (at(1, day=2), at(6, day=2), False),
    ]
    gap = blocks[1]
    assert (gap.usage.calls, gap.usage.total_tokens, gap.active) == (0, 0, False)
    assert len(build_blocks(rows, now=LATER, gaps=False)) == 3


def test_modes_never_share_a_block() -> None:
    rows = [
        make_row(at=at(9, 10), mode="api", cost="1"),
        make_row(at=at(9, 20), mode="plan", cost="2"),
        make_row(at=at(11, 0), mode="api", cost="3"),
    ]
    blocks = build_blocks(rows, now=LATER)
    assert [(b.mode, b.start, b.usage.calls, b.usage.cost_usd) for b in blocks] == [
        ("api", at(9), 2, Decimal(4)),
        ("plan", at(9), 1, Decimal(2)),
    ]
    assert [b.mode for b in build_blocks(rows, now=LATER, modes=["plan"])] == ["plan"]


def test_block_sums_and_breakdown() -> None:
    rows = [
        make_row(at=at(9, 10), model="opus", inp=100, out=50, cw5=10, cw1=5, cr=1000, cost="0.5"),
        make_row(at=at(9, 20), model="haiku", inp=1, out=2, cr=3, cost=None),
        make_row(at=at(10, 0), model="opus", inp=10, out=5, cost="0.25"),
    ]
    (block,) = build_blocks(rows, now=LATER, breakdown=True)
    u = block.usage
    assert (u.calls, u.total_tokens, u.weighted_tokens) == (3, 1186, 183)
    assert (u.cost_usd, u.unpriced_calls, u.cost_complete) == (Decimal("0.75"), 1, False)
    assert [(b.key, b.calls, b.cost_usd, b.cost_known) for b in u.breakdown] == [
        ("haiku", 1, Decimal(0), False),
        ("opus", 2, Decimal("0.75"), True),
    ]


def test_active_block_and_projection_by_hand() -> None:
    # Block 10:00-15:00; at 12:30 two and a half hours have passed, half of the block.
    rows = [
        make_row(at=at(10, 5), inp=100_000, out=20_000, cr=180_000, cost="1.50"),
        make_row(at=at(12, 0), inp=50_000, out=10_000, cw5=20_000, cost="1.50"),
    ]
    now = at(12, 30)
    (block,) = build_blocks(rows, now=now)
    assert block.active
    p = project(block, now)
    assert p is not None
    assert (p.elapsed, p.remaining) == (timedelta(hours=2, minutes=30), timedelta(hours=2, minutes=30))
    assert (p.total_tokens, p.weighted_tokens) == (380_000, 200_000)
    assert (p.projected_total_tokens, p.projected_weighted_tokens) == (760_000, 400_000)
    assert p.projected_cost_usd == Decimal("6.000000")
    assert p.tokens_per_minute == Decimal(380_000) / 150
    assert p.cost_per_hour == Decimal("1.200000")
    use = plan_use(block, PRESETS["pro"], p)
    assert (use.used_percent, use.projected_percent) == (Decimal("20.0"), Decimal("40.0"))


def test_projection_rounds_and_never_divides_by_less_than_a_minute() -> None:
    rows = [make_row(at=at(10, 0), inp=1000, out=0, cost="0.01")]
    now = at(10, 0) + timedelta(seconds=5)
    (block,) = build_blocks(rows, now=now)
    p = project(block, now)
    assert p is not None
    assert p.elapsed == timedelta(minutes=1)
    assert p.projected_total_tokens == 300_000  # 1000 x 300 minutes / 1 minute
    # 1 token over 7 minutes: 300/7 = 42.86 tokens, rounded half up.
    (block,) = build_blocks([make_row(at=at(10, 0), inp=1, out=0)], now=at(10, 7))
    projection = project(block, at(10, 7))
    assert projection is not None and projection.projected_total_tokens == 43


@pytest.mark.parametrize("now", [at(9, 59), at(15, 0), at(20, 0)])
def test_block_is_active_only_while_now_is_inside_it(now: datetime) -> None:
    (block,) = build_blocks([make_row(at=at(10, 30))], now=now)
    assert not block.active
    assert project(block, now) is None


def test_gap_has_no_projection() -> None:
    rows = [make_row(at=at(1)), make_row(at=at(12))]
    blocks = build_blocks(rows, now=at(8))
    gap = blocks[1]
    assert gap.gap and project(gap, at(8)) is None


def test_plan_use_without_projection_and_custom_limits() -> None:
    (block,) = build_blocks([make_row(at=at(9), inp=250, out=250, cr=10_000)], now=LATER)
    plan = custom_plan(five_hour_tokens=2000, weekly_tokens=10_000, monthly_fee_usd="10")
    use = plan_use(block, plan)
    assert (use.used_percent, use.projected, use.projected_percent) == (Decimal("25.0"), None, None)


def test_generated_history_blocks_cover_every_call_once() -> None:
    history = generate(seed=3, profile=Profile(days=21))
    rows = history.rows
    now = history.end + timedelta(minutes=30)
    blocks = build_blocks(rows, now=now, breakdown=True)
    real = [b for b in blocks if not b.gap]
    for mode in ("api", "plan", "batch"):
        mine = [b for b in blocks if b.mode == mode]
        mode_rows = [r for r in rows if r.mode == mode]
        assert sum(b.usage.calls for b in mine) == len(mode_rows)
        assert sum(b.usage.total_tokens for b in mine) == sum(
            r.prompt_tokens + r.output_tokens for r in mode_rows
        )
        assert sum(b.usage.cost_usd for b in mine) == sum(
            r.cost_usd for r in mode_rows if r.cost_usd is not None
        )
        # Blocks and gaps tile the mode's timeline, oldest first, without overlap.
        for before, after in itertools.pairwise(mine):
            assert before.end == after.start
        assert sum(b.active for b in mine) <= 1
    for block in real:
        assert block.start.minute == block.start.second == block.start.microsecond == 0
        assert block.end - block.start == BLOCK_LENGTH
        assert block.first_at is not None and block.last_at is not None
        assert block.start <= block.first_at <= block.last_at < block.end
        assert block.first_at - block.start < timedelta(hours=1)
        assert sum(sub.calls for sub in block.usage.breakdown) == block.usage.calls
    # Each row falls in the block of its mode whose span contains it.
    spans = {(b.mode, b.start): b for b in real}
    for row in rows[::37]:
        owners = [
            b for (mode, _), b in spans.items() if mode == row.mode and b.start <= row.recorded_at < b.end
        ]
        assert len(owners) == 1
    last_plan = [b for b in real if b.mode == "plan"][-1]
    assert last_plan.active == (last_plan.start <= now < last_plan.end)
