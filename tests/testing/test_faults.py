"""Each injected fault, observed through the official SDK the way the real API's would be."""

from __future__ import annotations

import contextlib
from typing import Any

import anthropic
import httpx2
import pytest

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


def test_connection_reset_is_a_connection_error_and_retried() -> None:
    with sim_with({"kind": "connection_reset"}) as sim, pytest.raises(anthropic.APIConnectionError):
        sim.client(max_retries=0).messages.create(**BODY)
    with sim_with({"kind": "connection_reset"}) as sim:
        assert sim.client(max_retries=1).messages.create(**BODY).stop_reason == "end_turn"


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


def test_stream_drop_is_a_raw_transport_error() -> None:
    with (
        sim_with({"kind": "stream_drop", "after_events": 3}) as sim,
        pytest.raises(httpx2.HTTPError),
        sim.client().messages.stream(**BODY) as stream,
    ):
        stream.get_final_message()


def test_slow_response_trips_the_client_timeout() -> None:
    with sim_with({"kind": "slow", "delay": 2.0}) as sim, pytest.raises(anthropic.APITimeoutError):
        sim.client(max_retries=0, timeout=0.2).messages.create(**BODY)


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
