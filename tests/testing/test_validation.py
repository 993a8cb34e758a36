"""Strict validation: the real API's 400s in the real error shape, with a request-id."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2
import pytest

from thrifty.testing import Simulator

MODEL = "claude-sonnet-5-5"


@pytest.fixture
def sim() -> Any:
    with Simulator([{"text": "ok"}] * 5) as s:
        yield s


def message(err: anthropic.APIStatusError) -> str:
    """The ``error.message`` the simulator sent (the body on the wire, not the SDK's wording)."""
    assert isinstance(err.body, dict)
    return str(err.body["error"]["message"])


def bad(sim: Simulator, **params: Any) -> anthropic.BadRequestError:
    with pytest.raises(anthropic.BadRequestError) as info:
        sim.client(max_retries=0).messages.create(**{"model": MODEL, "max_tokens": 32, **params})
    err = info.value
    assert err.status_code == 400
    assert isinstance(err.body, dict) and err.body["type"] == "error"
    assert err.body["error"]["type"] == "invalid_request_error"
    assert err.response.headers["request-id"].startswith("req_")
    return err


def test_roles_must_alternate(sim: Simulator) -> None:
    err = bad(sim, messages=[{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])
    assert "roles must alternate" in message(err)


def test_first_message_must_be_user(sim: Simulator) -> None:
    assert "first message" in message(bad(sim, messages=[{"role": "assistant", "content": "a"}]))


def test_tool_result_must_match_a_tool_use(sim: Simulator) -> None:
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "t", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_other", "content": "x"}]},
    ]
    assert "unexpected `tool_use_id`" in message(bad(sim, messages=messages))


def test_tool_use_needs_results_first_in_next_message(sim: Simulator) -> None:
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "t", "input": {}}]},
        {
            "role": "user",
            "content": [{"type": "text", "text": "first"}, {"type": "tool_result", "tool_use_id": "toolu_1"}],
        },
    ]
    assert "at the beginning of this message" in message(bad(sim, messages=messages))
    missing = [*messages[:2], {"role": "user", "content": "no results"}]
    assert "without `tool_result` blocks" in message(bad(sim, messages=missing))


def test_thinking_budget_must_be_below_max_tokens(sim: Simulator) -> None:
    err = bad(
        sim,
        max_tokens=2000,
        thinking={"type": "enabled", "budget_tokens": 4000},
        messages=[{"role": "user", "content": "x"}],
    )
    assert "budget_tokens" in message(err)
    assert "1024" in str(
        bad(
            sim,
            thinking={"type": "enabled", "budget_tokens": 10},
            messages=[{"role": "user", "content": "x"}],
        )
    )


def test_max_tokens_above_model_limit(sim: Simulator) -> None:
    # The SDK itself refuses large non-streaming max_tokens, so speak the wire directly.
    body = {
        "model": "claude-haiku-4-5",
        "max_tokens": 100_000,
        "messages": [{"role": "user", "content": "x"}],
    }
    headers = {"x-api-key": sim.api_key, "anthropic-version": "2023-06-01"}
    resp = httpx2.post(f"{sim.base_url}/v1/messages", json=body, headers=headers)
    assert resp.status_code == 400
    assert "maximum allowed number of output tokens" in resp.json()["error"]["message"]


def test_empty_text_and_duplicate_tools(sim: Simulator) -> None:
    assert "non-empty" in str(
        bad(sim, messages=[{"role": "user", "content": [{"type": "text", "text": ""}]}])
    )
    tool = {"name": "t", "input_schema": {"type": "object"}}
    assert "unique" in message(bad(sim, tools=[tool, tool], messages=[{"role": "user", "content": "x"}]))


def test_unknown_model_is_not_found_like_the_real_api(sim: Simulator) -> None:
    with pytest.raises(anthropic.NotFoundError) as info:
        sim.client(max_retries=0).messages.create(
            model="claude-nope", max_tokens=8, messages=[{"role": "user", "content": "x"}]
        )
    assert "claude-nope" in message(info.value)


def test_sampling_parameters_depend_on_api_version(sim: Simulator) -> None:
    # SDK 2.x speaks 2026-10-21, where temperature is gone.
    err = bad(sim, messages=[{"role": "user", "content": "x"}], extra_body={"temperature": 0.5})
    assert "temperature" in message(err)
    body = {
        "model": MODEL,
        "max_tokens": 8,
        "temperature": 0.5,
        "messages": [{"role": "user", "content": "x"}],
    }
    headers = {"x-api-key": sim.api_key, "anthropic-version": "2023-06-01"}
    assert httpx2.post(f"{sim.base_url}/v1/messages", json=body, headers=headers).status_code == 200


def test_missing_or_unknown_version_header(sim: Simulator) -> None:
    body = {"model": MODEL, "max_tokens": 8, "messages": [{"role": "user", "content": "x"}]}
    resp = httpx2.post(f"{sim.base_url}/v1/messages", json=body, headers={"x-api-key": sim.api_key})
    assert resp.status_code == 400 and "anthropic-version" in resp.json()["error"]["message"]
    resp = httpx2.post(
        f"{sim.base_url}/v1/messages",
        json=body,
        headers={"x-api-key": sim.api_key, "anthropic-version": "1999-01-01"},
    )
    assert resp.status_code == 400


def test_invalid_json_body(sim: Simulator) -> None:
    resp = httpx2.post(
        f"{sim.base_url}/v1/messages",
        content=b"{not json",
        headers={
            "x-api-key": sim.api_key,
            "anthropic-version": "2023-06-01",
            "content-type": "application/json",
        },
    )
    assert resp.status_code == 400 and resp.json()["error"]["type"] == "invalid_request_error"


def test_mid_conversation_system_message_is_accepted_where_the_api_allows_it(sim: Simulator) -> None:
    # Claude Code 2.1.331 sends this shape: its environment block as a system message after the prompt.
    ok = [{"role": "user", "content": "hi"}, {"role": "system", "content": [{"type": "text", "text": "env"}]}]
    assert sim.client().messages.create(model=MODEL, max_tokens=16, messages=ok).stop_reason == "end_turn"
    followed = [*ok, {"role": "assistant", "content": "a"}, {"role": "user", "content": "b"}]
    assert sim.client().messages.create(model=MODEL, max_tokens=16, messages=followed).content
    assert "must follow a user message" in str(
        bad(sim, messages=[*ok[:1], {"role": "assistant", "content": "a"}, ok[1]])
    )
    again = [*ok, {"role": "user", "content": "again"}]
    assert "followed by an assistant" in message(bad(sim, messages=again))
