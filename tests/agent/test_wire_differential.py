"""The fast path against the SDK path: same simulator script, same items out, item for item.

Each case runs ``ModelCaller`` over the official client and ``FastCaller`` over
``wire.WireClient`` against a fresh simulator with the same script, and compares everything they
yield (stream events, usage, retries, rate-limit frames, the completed message) and how they end
(the ``ApiFailure``/``RateLimited`` type, text, status and error type). Only what differs by
nature is normalised: random request/message ids (replaced by their order of appearance),
durations, event uuids, the simulator's port and plan-window reset times. The backoff's
jitter is seeded alike for both runs.
"""

from __future__ import annotations

import dataclasses
import random
import re
import time
from collections.abc import Awaitable
from typing import Any, cast

import anthropic
import pytest

from thrifty.agent.caller import Completed
from thrifty.agent.model import FastCaller, ModelCaller
from thrifty.agent.wire.client import WireClient
from thrifty.billing.auth import request_timeout
from thrifty.core.endings import ApiFailure
from thrifty.testing import ManualClock, Simulator

MODEL = "claude-sonnet-5-5"
IDS = re.compile(r"\b(req|msg)_sim_[0-9a-f]+")
PORT = re.compile(r"127\.0\.0\.1:\d+")
#: A reset time printed to the minute: the two runs may straddle a minute.
CLOCK = re.compile(r"resets \d+:\d+[ap]m")


def params(*, thinking: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "hi"}],
    }
    if thinking:
        out["thinking"] = {"type": "enabled", "budget_tokens": 1024}
    return out


def no_sleep(_seconds: float) -> Awaitable[None]:
    async def done() -> None:
        return None

    return done()


def sdk_client(sim: Simulator, timeout: float | None, *, plan: bool = False) -> anthropic.AsyncAnthropic:
    """Built as ``billing.auth.Resolution.client`` builds it: a key as ``x-api-key``, a token as bearer."""
    if plan:
        token = anthropic.AsyncAnthropic(
            auth_token=sim.plan_token, api_key=None, base_url=sim.base_url, max_retries=0
        )
        return request_timeout(token, timeout)
    client = anthropic.AsyncAnthropic(
        api_key=sim.api_key,
        base_url=sim.base_url,
        max_retries=0,
        default_headers=cast("dict[str, str]", {"X-Api-Key": sim.api_key, "Authorization": anthropic.omit}),
    )
    return request_timeout(client, timeout)


async def run(
    script: Any,
    *,
    fast: bool,
    partial: bool = False,
    thinking: bool = False,
    max_retries: int = 4,
    timeout: float | None = None,
    plan: bool = False,
) -> tuple[list[Any], Any, list[dict[str, str]]]:
    """(items yielded, the ending exception or None, the headers the simulator received)."""
    random.seed(1234)
    items: list[Any] = []
    ending: Exception | None = None
    with Simulator(script) as sim:
        scheme, secret = ("bearer", sim.plan_token) if plan else ("x-api-key", sim.api_key)
        client: Any = (
            WireClient(sim.base_url, scheme=scheme, secret=secret, timeout_s=timeout)
            if fast
            else sdk_client(sim, timeout, plan=plan)
        )
        kind = FastCaller if fast else ModelCaller
        caller = kind(
            client, session_id="s", max_retries=max_retries, include_partial=partial, sleep=no_sleep
        )
        try:
            async for item in caller.call(params(thinking=thinking)):
                items.append(item)
        except ApiFailure as exc:
            ending = exc
        finally:
            await client.close()
        headers = [dict(r.headers) for r in sim.message_requests()]
    return items, ending, headers


def normal(items: list[Any], ending: Exception | None) -> tuple[list[Any], Any]:
    seen: dict[str, str] = {}

    def ids(value: Any) -> Any:
        if isinstance(value, str):
            value = CLOCK.sub("resets TIME", PORT.sub("127.0.0.1:PORT", value))
            return IDS.sub(lambda m: seen.setdefault(m.group(0), f"{m.group(1)}#{len(seen)}"), value)
        if isinstance(value, dict):
            # a plan window resets a fixed time after the simulator's first request
            return {k: "RESET" if str(k).endswith("reset") else ids(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [ids(v) for v in value]
        return value

    out = []
    for item in items:
        fields = {f.name: getattr(item, f.name) for f in dataclasses.fields(item)}
        for name in ("uuid", "duration_ms", "api_ms"):
            fields.pop(name, None)
        if "usage" in fields and dataclasses.is_dataclass(fields["usage"]):
            fields["usage"] = dataclasses.asdict(fields["usage"])
        out.append((type(item).__name__, ids(fields)))
    end = None
    if ending is not None:
        end = (type(ending).__name__, str(ending), ending.status, ending.error_type)
    return out, ids(end)


CASES: dict[str, dict[str, Any]] = {
    "plain_text": {"script": [{"text": "Hello there, how can I help?"}]},
    "tool_use_json": {
        "script": [
            {
                "text": "Let me look.",
                "tool_use": {
                    "name": "Read",
                    "input": {"file_path": "/tmp/é.txt", "limit": None, "deep": {"a": [1, 2.5, True, "x"]}},
                },
            }
        ]
    },
    "thinking_signature": {"script": [{"thinking": "First, the files.", "text": "Done."}], "thinking": True},
    "several_tool_calls": {
        "script": [
            {
                "text": "Two reads.",
                "tool_use": [
                    {"name": "Read", "input": {"file_path": "/a"}},
                    {"name": "Bash", "input": {"command": "ls -la", "timeout": 5000}},
                    {"name": "Glob", "input": {}},
                ],
            }
        ]
    },
    "partial_messages": {
        "script": [
            {"thinking": "Plan.", "text": "Reading.", "tool_use": {"name": "Read", "input": {"p": 1}}}
        ],
        "thinking": True,
        "partial": True,
    },
    "stream_cut_after_3": {
        "script": [{"text": "cut then whole", "fault": {"kind": "stream_cut", "after_events": 3}}],
        "partial": True,
    },
    "stream_error_overloaded_retried": {
        "script": [
            {
                "text": "again",
                "fault": {"kind": "stream_error", "after_events": 2, "error_type": "overloaded_error"},
            }
        ],
        "partial": True,
    },
    "stream_error_invalid_request_fails": {
        "script": [
            {
                "text": "never",
                "fault": {
                    "kind": "stream_error",
                    "after_events": 2,
                    "error_type": "invalid_request_error",
                    "message": "bad block",
                },
            }
        ]
    },
    "rate_limit_short_retry_after": {
        "script": [{"text": "later", "fault": {"kind": "rate_limit", "retry_after": 0.01}}]
    },
    "rate_limit_long_wait_refused": {
        "script": [{"text": "later", "fault": {"kind": "rate_limit", "retry_after": 7200}}]
    },
    "plan_window_headers": {"script": [{"text": "on the plan"}], "plan": True},
    "plan_rate_limit_short_retry_after": {
        "script": [{"text": "later", "fault": {"kind": "rate_limit", "retry_after": 0.01}}],
        "plan": True,
    },
    "overloaded_until_giving_up": {
        "script": [{"text": "never", "fault": {"kind": "overloaded", "times": 0}}],
        "max_retries": 2,
    },
    "server_error_then_success": {"script": [{"text": "ok", "fault": {"kind": "server_error"}}]},
    "http_400_not_retried": {
        "script": [
            {
                "text": "never",
                "fault": {"kind": "http_error", "status": 400, "error_type": "invalid_request_error"},
            }
        ]
    },
    "should_retry_false": {
        "script": [{"text": "never", "fault": {"kind": "server_error", "should_retry": False}}]
    },
    "connection_reset": {"script": [{"text": "ok", "fault": {"kind": "connection_reset"}}]},
    "stream_drop_after_3": {
        "script": [{"text": "dropped then whole", "fault": {"kind": "stream_drop", "after_events": 3}}]
    },
    "stall_mid_stream_short_timeout": {
        "script": [{"text": "slow", "fault": {"kind": "stall", "after_events": 2, "delay": 5}}],
        "timeout": 0.5,
        "max_retries": 1,
    },
    "stall_before_status_gives_up": {
        "script": [{"text": "slow", "fault": {"kind": "stall", "after_events": 0, "delay": 5, "times": 0}}],
        "timeout": 0.3,
        "max_retries": 1,
    },
}


@pytest.mark.anyio
@pytest.mark.parametrize("case", sorted(CASES))
async def test_fast_caller_yields_what_the_sdk_caller_yields(case: str) -> None:
    spec = dict(CASES[case])
    script = spec.pop("script")
    sdk_items, sdk_end, _ = await run(script, fast=False, **spec)
    fast_items, fast_end, _ = await run(script, fast=True, **spec)
    assert normal(fast_items, fast_end) == normal(sdk_items, sdk_end)
    # and the comparison is not vacuous: each case ends the way it was written to
    if case.endswith(("fails", "giving_up", "not_retried", "retry_false", "gives_up", "refused")):
        assert sdk_end is not None
    else:
        assert sdk_end is None and isinstance(sdk_items[-1], Completed)


@pytest.mark.anyio
async def test_completed_messages_serialise_identically() -> None:
    """Key order too: the message is printed as JSON (stream-json, transcripts)."""
    import json

    script = CASES["partial_messages"]["script"]
    sdk_items, _, _ = await run(script, fast=False, partial=True, thinking=True)
    fast_items, _, _ = await run(script, fast=True, partial=True, thinking=True)
    dumps = [
        [IDS.sub("id", json.dumps(getattr(i, "message", None) or getattr(i, "event", None))) for i in items]
        for items in (sdk_items, fast_items)
    ]
    assert dumps[0] == dumps[1]


@pytest.mark.anyio
async def test_the_request_carries_the_sdk_headers_that_matter() -> None:
    _, _, sdk_headers = await run([{"text": "hi"}], fast=False)
    _, _, fast_headers = await run([{"text": "hi"}], fast=True)
    for name in ("anthropic-version", "content-type", "accept", "x-api-key"):
        assert fast_headers[0].get(name) == sdk_headers[0].get(name), name
    assert "authorization" not in fast_headers[0] and "authorization" not in sdk_headers[0]
    assert fast_headers[0]["user-agent"].startswith("thrifty/")


@pytest.mark.anyio
async def test_a_gateway_token_goes_as_bearer() -> None:
    with Simulator([{"text": "hi"}]) as sim:
        client = WireClient(sim.base_url, scheme="bearer", secret=sim.api_key)
        caller = FastCaller(client, session_id="s", sleep=no_sleep)
        items = [item async for item in caller.call(params())]
        await client.close()
        sent = sim.message_requests()[0]
    assert isinstance(items[-1], Completed)
    assert sent.auth_scheme == "bearer" and "x-api-key" not in sent.headers


@pytest.mark.anyio
async def test_a_spent_plan_window_is_reported_alike() -> None:
    """The 429 carries the plan-window headers: a ``RateLimit`` (rejected) and then the ending."""
    from thrifty.testing.script import AccountSpec

    token = "sk-ant-oat-test-plan-token"
    outcomes = []
    start = time.time()  # one simulated clock start for both runs: the same window resets
    for fast in (False, True):
        random.seed(99)
        plan = AccountSpec(key=token, mode="plan", five_hour_limit=1)
        script = [{"text": "first"}, {"text": "second"}]
        with Simulator(script, accounts=[plan], clock=ManualClock(start=start)) as sim:
            client: Any = (
                WireClient(sim.base_url, scheme="bearer", secret=token)
                if fast
                else anthropic.AsyncAnthropic(
                    auth_token=token, api_key=None, base_url=sim.base_url, max_retries=0
                )
            )
            caller = (FastCaller if fast else ModelCaller)(client, session_id="s", sleep=no_sleep)
            items: list[Any] = []
            ending: Exception | None = None
            try:
                for _ in range(2):
                    async for item in caller.call(params()):
                        items.append(item)
            except ApiFailure as exc:
                ending = exc
            finally:
                await client.close()
        outcomes.append(normal(items, ending))
    assert outcomes[1] == outcomes[0]
    kinds = [kind for kind, _ in outcomes[0][0]]
    assert kinds == ["ApiUsage", "Completed", "RateLimit"] and outcomes[0][1][0] == "RateLimited"
