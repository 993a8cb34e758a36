"""Each injected fault, observed through the official SDK the way the real API's would be.

HTTP answers are checked on the wire (status, headers, body). Transport faults (a reset, a
stream that breaks off or stalls) are checked by what thrifty does with them: how the SDK
spells a broken connection is its own business and has changed between versions.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import anthropic
import pytest

import thrifty
from thrifty.agent.caller import Completed
from thrifty.agent.model import ModelCaller
from thrifty.billing.ledger import RowQuery, open_ledger
from thrifty.core.endings import ApiFailure
from thrifty.testing import ChaosSpec, Simulator

MODEL = "claude-sonnet-5-5"
BODY: dict[str, Any] = {"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}


def sim_with(fault: dict[str, Any] | list[dict[str, Any]]) -> Simulator:
    return Simulator([{"text": "recovered after the fault", "fault": fault}])


def test_rate_limit_is_retried_by_the_sdk_honouring_retry_after() -> None:
    with sim_with({"kind": "rate_limit", "retry_after": 0.05}) as sim:
        msg = sim.client().messages.create(**BODY)
        assert msg.content[0].text == "recovered after the fault"
        log = sim.message_requests()
        assert [r.status for r in log] == [429, 200]
        assert [r.retry_count for r in log] == [0, 1]


def test_rate_limit_without_retries_surfaces_retry_after() -> None:
    with sim_with({"kind": "rate_limit", "retry_after": 7}) as sim:
        with pytest.raises(anthropic.RateLimitError) as info:
            sim.client(max_retries=0).messages.create(**BODY)
        assert info.value.response.headers["retry-after"] == "7"
        assert isinstance(info.value.body, dict) and info.value.body["error"]["type"] == "rate_limit_error"


@pytest.mark.parametrize(
    ("kind", "status", "exc"),
    [("overloaded", 529, anthropic.OverloadedError), ("server_error", 500, anthropic.InternalServerError)],
)
def test_overloaded_and_server_error(kind: str, status: int, exc: type[Exception]) -> None:
    with sim_with({"kind": kind}) as sim:
        with pytest.raises(exc) as info:
            sim.client(max_retries=0).messages.create(**BODY)
        assert getattr(info.value, "status_code", None) == status


def test_faults_in_sequence_then_success() -> None:
    with sim_with([{"kind": "overloaded"}, {"kind": "rate_limit", "retry_after": 0.01}]) as sim:
        sim.client(max_retries=2).messages.create(**BODY)
        assert [r.status for r in sim.message_requests()] == [529, 429, 200]


def test_should_retry_false_stops_the_sdk() -> None:
    with sim_with({"kind": "overloaded", "should_retry": False}) as sim:
        with pytest.raises(anthropic.OverloadedError):
            sim.client(max_retries=3).messages.create(**BODY)
        assert len(sim.message_requests()) == 1


def test_stream_cut_ends_cleanly_with_no_stop_reason() -> None:
    with sim_with({"kind": "stream_cut", "after_events": 4}) as sim:
        with sim.client().messages.stream(**BODY) as stream:
            final = stream.get_final_message()
        assert final.stop_reason is None
        assert final.content  # partial content arrived


def test_mid_stream_error_event_raises_status_200_error_and_is_not_retried() -> None:
    with sim_with({"kind": "stream_error", "after_events": 3}) as sim:
        with pytest.raises(anthropic.APIStatusError) as info, sim.client().messages.stream(**BODY) as stream:
            stream.get_final_message()
        assert info.value.status_code == 200
        assert isinstance(info.value.body, dict)
        assert info.value.body["error"]["type"] == "overloaded_error"
        assert len(sim.message_requests()) == 1


def test_fault_times_zero_fails_every_attempt() -> None:
    with sim_with({"kind": "server_error", "times": 0}) as sim:
        with pytest.raises(anthropic.InternalServerError):
            sim.client(max_retries=2).messages.create(**BODY)
        assert len(sim.message_requests()) == 3


def chaos_statuses(seed: int) -> list[int]:
    turns = [{"text": "fine"}]
    with Simulator(turns, chaos=ChaosSpec(seed=seed, rate=0.5, kinds=["overloaded", "server_error"])) as sim:
        client = sim.client(max_retries=0)
        for i in range(16):
            with contextlib.suppress(anthropic.APIStatusError):
                client.messages.create(**{**BODY, "messages": [{"role": "user", "content": f"job {i}"}]})
        return [r.status for r in sim.message_requests()]


def test_chaos_is_reproducible_from_the_seed() -> None:
    a, b = chaos_statuses(7), chaos_statuses(7)
    assert a == b
    assert {529, 500, 200} >= set(a) and 200 in a and len(set(a)) > 1
    assert chaos_statuses(8) != a


def test_http_error_uses_the_given_status_and_type() -> None:
    with sim_with(
        {"kind": "http_error", "status": 403, "error_type": "permission_error", "message": "no"}
    ) as sim:
        with pytest.raises(anthropic.PermissionDeniedError) as info:
            sim.client(max_retries=0).messages.create(**BODY)
        assert isinstance(info.value.body, dict) and info.value.body["error"] == {
            "type": "permission_error",
            "message": "no",
        }


# -- transport faults, through thrifty ---------------------------------------------------------


async def no_sleep(_seconds: float) -> None:
    return None


async def call(sim: Simulator, **client_options: Any) -> list[Any]:
    """One model call through thrifty's caller and the real client; every event it yields."""
    async with sim.async_client(max_retries=0, **client_options) as client:
        caller = ModelCaller(client, session_id="s", sleep=no_sleep)
        return [item async for item in caller.call({**BODY, "max_tokens": 64})]


def kinds(items: list[Any]) -> list[str]:
    return ["completed" if isinstance(i, Completed) else i.kind for i in items]


@pytest.mark.anyio
async def test_connection_reset_is_retried_and_reported_readably() -> None:
    with sim_with({"kind": "connection_reset"}) as sim:
        items = await call(sim)
        assert [r.fault for r in sim.message_requests()] == ["connection_reset", None]
    assert kinds(items) == ["api_retry", "api_usage", "completed"]
    retry = items[0]
    assert retry.error_status is None and retry.error.startswith("API Error: Connection dropped (ECONNRESET)")
    assert items[-1].message["content"][0]["text"] == "recovered after the fault"


@pytest.mark.anyio
async def test_stream_drop_is_retried_and_the_broken_attempt_metered() -> None:
    with sim_with({"kind": "stream_drop", "after_events": 3}) as sim:
        items = await call(sim)
        assert [r.fault for r in sim.message_requests()] == ["stream_drop", None]
    assert kinds(items) == ["api_usage", "api_retry", "api_usage", "completed"]
    broken, retry, final = items[0], items[1], items[2]
    # message_start arrived before the drop: the input was billed, so the attempt is metered.
    assert broken.complete is False and broken.attempt == 0 and broken.usage.input_tokens > 0
    assert retry.error.startswith("API Error: Connection dropped")
    assert final.complete is True and final.attempt == 1


def test_stream_drop_lands_in_the_ledger_through_the_sdk(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    with sim_with({"kind": "stream_drop", "after_events": 3}) as sim:
        env = {"ANTHROPIC_API_KEY": sim.api_key, "ANTHROPIC_BASE_URL": sim.base_url}
        options = thrifty.Options(cwd=tmp_path, env=env, ledger=str(ledger), tools=[])
        result = next(m for m in thrifty.query_sync("hi", options) if isinstance(m, thrifty.Result))
    assert result.subtype == "success" and not result.is_error
    assert result.result == "recovered after the fault"
    db = open_ledger(str(ledger))
    try:
        rows = sorted(db.query(RowQuery()), key=lambda r: r.attempt)
    finally:
        db.close()
    assert [(r.attempt, r.complete) for r in rows] == [(0, False), (1, True)]


@pytest.mark.anyio
async def test_stream_cut_is_retried_as_a_truncated_response() -> None:
    with sim_with({"kind": "stream_cut", "after_events": 4}) as sim:
        items = await call(sim)
    assert kinds(items) == ["api_usage", "api_retry", "api_usage", "completed"]
    assert items[1].error == "API Error: Connection closed before the response finished"


@pytest.mark.anyio
async def test_slow_answer_past_the_client_timeout_is_retried_as_a_timeout() -> None:
    with sim_with({"kind": "slow", "delay": 2.0}) as sim:
        items = await call(sim, timeout=0.2)
    assert kinds(items) == ["api_retry", "api_usage", "completed"]
    assert items[0].error.startswith("Request timed out.") and "above 200" in items[0].error


@pytest.mark.anyio
@pytest.mark.parametrize("after_events", [0, 3])
async def test_stall_holds_the_request_silent_until_the_client_gives_up(after_events: int) -> None:
    """``stall``: no status line (0), or no event after the first few; only a timeout ends it."""
    with sim_with({"kind": "stall", "after_events": after_events}) as sim:
        items = await call(sim, timeout=0.3)
        log = sim.message_requests()
    assert [r.fault for r in log] == ["stall", None]
    assert log[0].status == (0 if after_events == 0 else 200)
    retries = [i for i in items if getattr(i, "kind", "") == "api_retry"]
    assert len(retries) == 1 and retries[0].error.startswith("Request timed out.")
    assert isinstance(items[-1], Completed)


@pytest.mark.anyio
async def test_stall_with_a_delay_hangs_up_after_it() -> None:
    """With ``delay`` the stall ends by the server closing the connection, before any answer."""
    with sim_with({"kind": "stall", "delay": 0.2, "after_events": 0, "times": 0}) as sim:
        async with sim.async_client(max_retries=0, timeout=30) as client:
            caller = ModelCaller(client, session_id="s", max_retries=0, sleep=no_sleep)
            with pytest.raises(ApiFailure) as info:
                [item async for item in caller.call({**BODY, "max_tokens": 64})]
        assert [r.fault for r in sim.message_requests()] == ["stall"]
    assert info.value.status is None and info.value.error_type == "connection_error"
