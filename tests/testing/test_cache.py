"""Prompt-cache accounting: reads, writes, the TTL split, expiry, refresh, lookback, limits."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from thrifty.testing import ManualClock, Simulator, count_text

MODEL = "claude-sonnet-5-5"  # minimum cacheable prefix 1,024 tokens in the bundled catalogue
BIG = "You are terse and exact. " * 200  # 5,000 bytes -> 1,250 tokens
HELLO = [{"role": "user", "content": "hello"}]
SYSTEM_TOKENS = count_text(BIG) + 3  # system overhead, see thrifty.testing.tokens


@pytest.fixture
def sim(sim_clock: ManualClock) -> Any:
    with Simulator([{"text": "ok"}] * 10, clock=sim_clock) as s:
        yield s


def system(ttl: str | None = None) -> list[dict[str, Any]]:
    cc: dict[str, Any] = {"type": "ephemeral"}
    if ttl:
        cc["ttl"] = ttl
    return [{"type": "text", "text": BIG, "cache_control": cc}]


def ask(sim: Simulator, **kw: Any) -> Any:
    params: dict[str, Any] = {"model": MODEL, "max_tokens": 32, "messages": HELLO, **kw}
    return sim.client().messages.create(**params).usage


def test_second_identical_request_reads_the_cache_with_the_documented_split(sim: Simulator) -> None:
    first = ask(sim, system=system())
    assert first.cache_creation_input_tokens == SYSTEM_TOKENS
    assert first.cache_creation is not None
    assert first.cache_creation.ephemeral_5m_input_tokens == SYSTEM_TOKENS
    assert first.cache_creation.ephemeral_1h_input_tokens == 0
    assert first.cache_read_input_tokens == 0
    second = ask(sim, system=system())
    assert second.cache_read_input_tokens == SYSTEM_TOKENS
    assert second.cache_creation_input_tokens == 0
    # input_tokens is the uncached remainder: the user message (4 framing + 2 text tokens)
    assert second.input_tokens == first.input_tokens == 4 + count_text("hello")


def test_entry_expires_after_ttl_and_is_written_again(sim: Simulator, sim_clock: ManualClock) -> None:
    ask(sim, system=system())
    sim_clock.advance(301)
    again = ask(sim, system=system())
    assert again.cache_read_input_tokens == 0
    assert again.cache_creation_input_tokens == SYSTEM_TOKENS


def test_hit_refreshes_the_ttl(sim: Simulator, sim_clock: ManualClock) -> None:
    ask(sim, system=system())
    sim_clock.advance(200)
    assert ask(sim, system=system()).cache_read_input_tokens == SYSTEM_TOKENS
    sim_clock.advance(200)  # 400 s after the write, 200 s after the refreshing hit
    assert ask(sim, system=system()).cache_read_input_tokens == SYSTEM_TOKENS


def test_one_hour_ttl_is_split_and_outlives_five_minutes(sim: Simulator, sim_clock: ManualClock) -> None:
    first = ask(sim, system=system("1h"))
    assert first.cache_creation is not None
    assert first.cache_creation.ephemeral_1h_input_tokens == SYSTEM_TOKENS
    assert first.cache_creation.ephemeral_5m_input_tokens == 0
    sim_clock.advance(1800)
    assert ask(sim, system=system("1h")).cache_read_input_tokens == SYSTEM_TOKENS
    sim_clock.advance(3601)
    assert ask(sim, system=system("1h")).cache_read_input_tokens == 0


def test_below_minimum_prefix_is_silently_not_cached(sim: Simulator) -> None:
    small = [{"type": "text", "text": "short system", "cache_control": {"type": "ephemeral"}}]
    usage = ask(sim, system=small)
    assert usage.cache_creation_input_tokens == 0 and usage.cache_read_input_tokens == 0
    assert ask(sim, system=small).cache_read_input_tokens == 0


def test_automatic_caching_moves_with_the_conversation(sim: Simulator) -> None:
    turn1 = [{"role": "user", "content": BIG}]
    u1 = ask(sim, messages=turn1, cache_control={"type": "ephemeral"})
    user_tokens = 4 + count_text(BIG)
    assert u1.cache_creation_input_tokens == user_tokens and u1.input_tokens == 0
    turn2 = [*turn1, {"role": "assistant", "content": "noted"}, {"role": "user", "content": "and then?"}]
    u2 = ask(sim, messages=turn2, cache_control={"type": "ephemeral"})
    assert u2.cache_read_input_tokens == user_tokens
    assert u2.cache_creation_input_tokens == (4 + count_text("noted")) + (4 + count_text("and then?"))
    assert u2.input_tokens == 0


def test_more_than_twenty_new_blocks_miss_the_previous_entry(sim: Simulator) -> None:
    turn1 = [{"role": "user", "content": BIG}]
    ask(sim, messages=turn1, cache_control={"type": "ephemeral"})
    many = [{"type": "text", "text": f"note {i}"} for i in range(25)]
    turn2 = [*turn1, {"role": "assistant", "content": "ok"}, {"role": "user", "content": many}]
    assert ask(sim, messages=turn2, cache_control={"type": "ephemeral"}).cache_read_input_tokens == 0
    few = many[:10]
    turn2b = [*turn1, {"role": "assistant", "content": "ok"}, {"role": "user", "content": few}]
    assert (ask(sim, messages=turn2b, cache_control={"type": "ephemeral"}).cache_read_input_tokens or 0) > 0


def test_more_than_four_breakpoints_is_a_400(sim: Simulator) -> None:
    cc = {"type": "ephemeral"}
    blocks = [{"type": "text", "text": f"part {i}", "cache_control": cc} for i in range(5)]
    with pytest.raises(anthropic.BadRequestError) as info:
        ask(sim, system=blocks)
    assert isinstance(info.value.body, dict)
    assert "maximum of 4 blocks with cache_control" in info.value.body["error"]["message"]
    assert info.value.request_id is not None


def test_tool_change_invalidates_everything_but_tool_choice_keeps_system(sim: Simulator) -> None:
    tools = [{"name": "a", "description": "first", "input_schema": {"type": "object"}}]
    ask(sim, system=system(), tools=tools)
    changed = [{"name": "a", "description": "changed", "input_schema": {"type": "object"}}]
    assert ask(sim, system=system(), tools=changed).cache_read_input_tokens == 0
    # tool_choice only invalidates the messages tier: the system breakpoint still hits.
    assert (
        ask(sim, system=system(), tools=changed, tool_choice={"type": "any"}).cache_read_input_tokens or 0
    ) > 0


def test_cache_is_scoped_to_the_account(sim: Simulator) -> None:
    ask(sim, system=system())
    plan = sim.client(plan=True).messages.create(model=MODEL, max_tokens=8, messages=HELLO, system=system())
    assert plan.usage.cache_read_input_tokens == 0


def test_request_log_counts_breakpoints(sim: Simulator) -> None:
    ask(sim, system=system(), cache_control={"type": "ephemeral"})
    assert sim.message_requests()[-1].breakpoints == 2


def test_moving_a_breakpoint_keeps_the_prefix(sim: Simulator) -> None:
    """The marker is not content: a breakpoint that moves on to a later block still reads the
    entry written at its old position."""
    first = [
        {"role": "user", "content": [{"type": "text", "text": BIG, "cache_control": {"type": "ephemeral"}}]}
    ]
    ask(sim, messages=first)
    moved = [
        {"role": "user", "content": [{"type": "text", "text": BIG}]},
        {"role": "assistant", "content": "ok"},
        {
            "role": "user",
            "content": [{"type": "text", "text": "next", "cache_control": {"type": "ephemeral"}}],
        },
    ]
    assert ask(sim, messages=moved).cache_read_input_tokens == 4 + count_text(BIG)
