"""Long rate-limit waits: thrifty's model caller against the simulator, with the real client.

The caller's ``sleep`` is the one thing swapped: it records what the caller would wait (and may
move the simulator's clock), so a 2-hour ``retry-after`` is checked without waiting 2 hours.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from thrifty.agent.caller import Completed
from thrifty.agent.model import ModelCaller
from thrifty.agent.options import RateLimitPolicy
from thrifty.core.endings import ApiFailure, RateLimited, ending_for
from thrifty.core.events import ApiRetry, RateLimit
from thrifty.testing import ManualClock, Simulator
from thrifty.testing.script import AccountSpec

BODY: dict[str, Any] = {
    "model": "claude-sonnet-5-5",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "hi"}],
}
TWO_HOURS = 7200


class Sleeps:
    """Records each wait the caller asks for; ``then`` runs instead of waiting (may be None)."""

    def __init__(self, then: Callable[[float], None] | None = None) -> None:
        self.waits: list[float] = []
        self.then = then

    def __call__(self, seconds: float) -> Awaitable[None]:
        self.waits.append(seconds)
        if self.then is not None:
            self.then(seconds)

        async def done() -> None:
            return None

        return done()


async def run(
    sim: Simulator,
    policy: str = "fail",
    *,
    sleeps: Sleeps | None = None,
    max_retries: int = 4,
    plan: bool = False,
) -> list[Any]:
    async with sim.async_client(max_retries=0, plan=plan) as client:
        caller = ModelCaller(
            client,
            session_id="s",
            max_retries=max_retries,
            on_rate_limit=RateLimitPolicy.parse(policy),
            sleep=sleeps or Sleeps(),
        )
        return [item async for item in caller.call(BODY)]


def limited(retry_after: float, times: int = 1) -> Simulator:
    return Simulator(
        [{"text": "through", "fault": {"kind": "rate_limit", "retry_after": retry_after, "times": times}}]
    )


@pytest.mark.anyio
async def test_by_default_a_long_wait_ends_at_once_with_when_it_resets() -> None:
    sleeps = Sleeps()
    with limited(TWO_HOURS) as sim:
        before = time.time()
        with pytest.raises(RateLimited) as info:
            await run(sim, sleeps=sleeps)
        assert len(sim.message_requests()) == 1
    assert sleeps.waits == []
    failure = info.value
    assert failure.status == 429 and failure.error_type == "rate_limit_error"
    assert failure.resets_at is not None
    assert before + TWO_HOURS - 5 <= failure.resets_at.timestamp() <= time.time() + TWO_HOURS + 5
    text = str(failure)
    assert text.startswith("API Error: Request rejected (429) · ")
    assert " · resets " in text and "--on-rate-limit wait" in text
    ending = ending_for(failure)
    assert (ending.subtype, ending.terminal_reason, ending.exit_code) == (
        "error_rate_limited",
        "rate_limited",
        75,
    )


@pytest.mark.anyio
async def test_short_waits_are_still_retried_as_the_server_asks() -> None:
    sleeps = Sleeps()
    with limited(2) as sim:
        items = await run(sim, sleeps=sleeps)
    assert sleeps.waits == [2.0]
    assert isinstance(items[-1], Completed)


@pytest.mark.anyio
async def test_wait_policy_waits_out_the_long_retry_after_then_retries() -> None:
    sleeps = Sleeps()
    with limited(TWO_HOURS) as sim:
        items = await run(sim, "wait", sleeps=sleeps)
        assert len(sim.message_requests()) == 2
    assert sleeps.waits == [TWO_HOURS]
    retry = next(i for i in items if isinstance(i, ApiRetry))
    assert retry.retry_delay_ms == TWO_HOURS * 1000 and retry.error_status == 429
    assert "waiting for it (--on-rate-limit wait=6h)" in retry.error
    assert isinstance(items[-1], Completed)


@pytest.mark.anyio
async def test_a_wait_longer_than_the_policy_max_ends_at_once() -> None:
    sleeps = Sleeps()
    with limited(TWO_HOURS) as sim:
        with pytest.raises(RateLimited) as info:
            await run(sim, "wait=1h", sleeps=sleeps)
        assert len(sim.message_requests()) == 1
    assert sleeps.waits == []
    assert "a longer wait than --on-rate-limit wait=1h allows" in str(info.value)


@pytest.mark.anyio
async def test_still_limited_when_the_retries_run_out_is_rate_limited_too() -> None:
    with limited(TWO_HOURS, times=0) as sim:
        with pytest.raises(RateLimited) as info:
            await run(sim, "wait", max_retries=1)
        assert len(sim.message_requests()) == 2
    assert "still limited after the last retry" in str(info.value)


@pytest.mark.anyio
async def test_short_429s_that_run_out_of_retries_stay_an_api_error() -> None:
    with limited(1, times=0) as sim, pytest.raises(ApiFailure) as info:
        await run(sim, max_retries=1)
    assert not isinstance(info.value, RateLimited)
    assert ending_for(info.value).subtype == "success" and info.value.status == 429


@pytest.mark.anyio
async def test_a_server_error_asking_for_hours_gets_the_usual_backoff() -> None:
    sleeps = Sleeps()
    fault = {"kind": "server_error", "retry_after": TWO_HOURS}
    with Simulator([{"text": "through", "fault": fault}]) as sim:
        items = await run(sim, sleeps=sleeps)
    assert len(sleeps.waits) == 1 and sleeps.waits[0] <= 8
    assert isinstance(items[-1], Completed)


def plan_sim(clock: ManualClock) -> Simulator:
    # A window so small that the first answer spends it.
    plan = AccountSpec(key="sk-ant-oat-test-plan-token", mode="plan", five_hour_limit=1)
    return Simulator([{"text": "first"}, {"text": "second"}] * 3, clock=clock, accounts=[plan])


@pytest.mark.anyio
async def test_a_spent_plan_window_names_the_limit_and_its_reset() -> None:
    clock = ManualClock(start=time.time())
    with plan_sim(clock) as sim:
        await run(sim, plan=True)
        events: list[Any] = []
        with pytest.raises(RateLimited) as info:
            async with sim.async_client(max_retries=0, plan=True) as client:
                caller = ModelCaller(client, session_id="s", sleep=Sleeps())
                async for item in caller.call(BODY):
                    events.append(item)
    text = str(info.value)
    assert text.startswith("You've hit your 5-hour limit · resets ")
    rejected = [e for e in events if isinstance(e, RateLimit)]
    assert len(rejected) == 1 and rejected[0].info["status"] == "rejected"
    assert rejected[0].info["rateLimitType"] == "five_hour"
    assert info.value.resets_at == datetime.fromtimestamp(rejected[0].info["resetsAt"], UTC)


@pytest.mark.anyio
async def test_waiting_for_a_plan_window_resumes_once_it_resets() -> None:
    clock = ManualClock(start=time.time())
    sleeps = Sleeps(then=clock.advance)  # waiting moves the simulator's clock, not ours
    with plan_sim(clock) as sim:
        await run(sim, plan=True)
        items = await run(sim, "wait", sleeps=sleeps, plan=True)
        statuses = [r.status for r in sim.message_requests()]
    assert statuses == [200, 429, 200]
    assert len(sleeps.waits) == 1 and 4 * 3600 < sleeps.waits[0] <= 5 * 3600
    assert isinstance(items[-1], Completed)
