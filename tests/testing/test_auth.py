"""Both wire dialects, 401s in the real shape, api vs plan accounts and plan windows."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2
import pytest

from thrifty.testing import AccountSpec, ManualClock, Simulator

MODEL = "claude-sonnet-5-5"
BODY = {"model": MODEL, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def sim() -> Any:
    with Simulator([{"text": "ok"}] * 5) as s:
        yield s


def test_old_dialect_x_api_key_with_2023_version(sim: Simulator) -> None:
    headers = {"x-api-key": sim.api_key, "anthropic-version": "2023-06-01"}
    resp = httpx2.post(f"{sim.base_url}/v1/messages", json=BODY, headers=headers)
    assert resp.status_code == 200
    assert sim.requests[-1].auth_scheme == "x-api-key"


def test_new_dialect_bearer_with_2026_version_from_the_sdk(sim: Simulator) -> None:
    sim.client().messages.create(**BODY)
    entry = sim.requests[-1]
    assert entry.auth_scheme == "bearer"
    assert entry.headers["anthropic-version"] == "2026-10-21"
    assert entry.account == "sim-api"


def test_unknown_key_is_401_in_the_real_shape(sim: Simulator) -> None:
    client = anthropic.Anthropic(base_url=sim.base_url, api_key="sk-ant-wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as info:
        client.messages.create(**BODY)
    assert info.value.status_code == 401
    assert isinstance(info.value.body, dict)
    assert info.value.body["error"]["type"] == "authentication_error"
    assert info.value.request_id is not None


def test_missing_and_double_credentials_are_401(sim: Simulator) -> None:
    url = f"{sim.base_url}/v1/messages"
    assert httpx2.post(url, json=BODY, headers={"anthropic-version": "2023-06-01"}).status_code == 401
    both = {
        "x-api-key": sim.api_key,
        "authorization": f"Bearer {sim.api_key}",
        "anthropic-version": "2023-06-01",
    }
    assert httpx2.post(url, json=BODY, headers=both).status_code == 401


def test_credentials_never_reach_the_request_log(sim: Simulator) -> None:
    sim.client().messages.create(**BODY)
    httpx2.post(
        f"{sim.base_url}/v1/messages",
        json=BODY,
        headers={"x-api-key": sim.api_key, "anthropic-version": "2023-06-01"},
    )
    assert sim.api_key not in repr(sim.requests)


def test_api_account_gets_standard_rate_limit_headers(sim: Simulator) -> None:
    raw = sim.client().messages.with_raw_response.create(**BODY)
    assert raw.headers["anthropic-ratelimit-requests-limit"].isdigit()
    assert "anthropic-ratelimit-unified-status" not in raw.headers


def test_plan_account_gets_unified_window_headers(sim: Simulator) -> None:
    raw = sim.client(plan=True).messages.with_raw_response.create(**BODY)
    assert raw.headers["anthropic-ratelimit-unified-status"] == "allowed"
    assert 0.0 <= float(raw.headers["anthropic-ratelimit-unified-5h-utilization"]) < 0.01
    assert int(raw.headers["anthropic-ratelimit-unified-7d-reset"]) > int(
        raw.headers["anthropic-ratelimit-unified-5h-reset"]
    )


def test_plan_window_fills_then_resets() -> None:
    clock = ManualClock()
    plan = AccountSpec(key="plan-tok", mode="plan", five_hour_limit=16, weekly_limit=10_000)
    with Simulator(
        [{"text": "a fairly long answer to use up the window"}] * 10, clock=clock, accounts=[plan]
    ) as sim:
        client = anthropic.Anthropic(base_url=sim.base_url, api_key="plan-tok", max_retries=0)
        first = client.messages.with_raw_response.create(**BODY)
        assert first.headers["anthropic-ratelimit-unified-5h-status"] == "allowed_warning"
        client.messages.create(**BODY)
        with pytest.raises(anthropic.RateLimitError) as info:
            client.messages.create(**BODY)
        headers = info.value.response.headers
        assert headers["anthropic-ratelimit-unified-status"] == "rejected"
        assert headers["anthropic-ratelimit-unified-representative-claim"] == "five_hour"
        assert 0 < int(headers["retry-after"]) <= 5 * 3600
        clock.advance(5 * 3600)
        assert client.messages.create(**BODY).content[0].type == "text"
