"""API failures as SDK results: readable text worded as Claude Code's, ``api_error_status`` and
``api_error_type``, rate-limit and timeout options. In process, against the simulator."""

from __future__ import annotations

from typing import Any

import pytest

import thrifty
from tests.sdk.conftest import MakeOptions
from thrifty.testing import Simulator

INFERENCE_GATEWAY = " If it persists, check your inference gateway ({host})."


async def result_of(options: thrifty.Options, prompt: str = "hi") -> thrifty.Result:
    messages = [m async for m in thrifty.query(prompt, options)]
    result = messages[-1]
    assert isinstance(result, thrifty.Result)
    return result


def http(status: int, error_type: str, message: str) -> dict[str, Any]:
    return {"kind": "http_error", "status": status, "error_type": error_type, "message": message}


def failing(sim: Simulator, fault: dict[str, Any]) -> None:
    sim.set_script([{"text": "never", "fault": {**fault, "times": 0}}])


CASES: list[tuple[str, dict[str, Any], str, int | None, str]] = [
    (
        "400",
        http(400, "invalid_request_error", "messages: bad"),
        "API Error: 400 messages: bad",
        400,
        "invalid_request_error",
    ),
    (
        "401",
        http(401, "authentication_error", "invalid x-api-key"),
        "Invalid API key · Fix external API key",
        401,
        "authentication_error",
    ),
    (
        "403",
        http(403, "permission_error", "Not allowed."),
        "Failed to authenticate. API Error: 403 Not allowed.",
        403,
        "permission_error",
    ),
    (
        "404",
        http(404, "not_found_error", "model: claude-sonnet-5-5"),
        "There's an issue with the selected model (claude-sonnet-5-5). It may not exist or you may not have "
        "access to it. Run --model to pick a different model.",
        404,
        "not_found_error",
    ),
    (
        "413",
        http(413, "request_too_large", "Too big."),
        "Request too large (max 32MB). Accumulated images and attachments in the conversation pushed the "
        "request over the limit. Remove older images or start a new session.",
        413,
        "request_too_large",
    ),
    (
        "429",
        {"kind": "rate_limit", "retry_after": 0},
        "API Error: Request rejected (429) · Number of request tokens has exceeded your rate limit.",
        429,
        "rate_limit_error",
    ),
    (
        "500",
        {"kind": "server_error"},
        "API Error: 500 Internal server error. This is a server-side issue, usually temporary — try again "
        "in a moment." + INFERENCE_GATEWAY,
        500,
        "api_error",
    ),
    (
        "503",
        http(503, "api_error", "Service unavailable."),
        "API Error: 503 Service unavailable. This is a server-side issue, usually temporary — try again "
        "in a moment." + INFERENCE_GATEWAY,
        503,
        "api_error",
    ),
    (
        "529",
        {"kind": "overloaded"},
        "API Error: 529 Overloaded. This is a server-side issue, usually temporary — try again in a moment."
        + INFERENCE_GATEWAY,
        529,
        "overloaded_error",
    ),
    (
        "reset",
        {"kind": "connection_reset"},
        "API Error: Connection dropped (ECONNRESET). Check the gateway at {host}, then try again.",
        None,
        "connection_error",
    ),
    (
        "stall",
        {"kind": "stall", "after_events": 0},
        "Request timed out. If the API is slow to answer, or a proxy or gateway holds responses, set "
        "API_TIMEOUT_MS above 300 or pass a longer --request-timeout.",
        None,
        "request_timeout",
    ),
]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("fault", "text", "status", "error_type"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
async def test_api_failures_end_in_readable_results(
    sim: Simulator,
    options: MakeOptions,
    fault: dict[str, Any],
    text: str,
    status: int | None,
    error_type: str,
) -> None:
    failing(sim, fault)
    result = await result_of(options(max_retries=0, request_timeout=0.3))
    host = sim.base_url.removeprefix("http://")
    assert result.result == text.format(host=host)
    assert result.subtype == "success" and result.is_error and result.terminal_reason == "api_error"
    assert result.api_error_status == status and result.api_error_type == error_type
    assert result.exit_code == 1
    frame = result.to_frame()
    assert frame["api_error_status"] == status and frame["api_error_type"] == error_type
    assert '{"type"' not in frame["result"]  # no raw response body


@pytest.mark.anyio
async def test_overloaded_on_every_retry_says_so(sim: Simulator, options: MakeOptions) -> None:
    failing(sim, {"kind": "overloaded"})
    result = await result_of(options(max_retries=2))
    assert result.result is not None
    assert result.result.startswith("API Error: Repeated 529 Overloaded errors. The API is at capacity")
    assert len(sim.message_requests()) == 3


@pytest.mark.anyio
async def test_a_success_carries_a_null_api_error_status_and_no_type(
    sim: Simulator, options: MakeOptions
) -> None:
    sim.set_script([{"text": "fine"}])
    result = await result_of(options())
    assert result.api_error_status is None and result.api_error_type is None
    frame = result.to_frame()
    assert "api_error_status" in frame and frame["api_error_status"] is None
    assert "api_error_type" not in frame


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("policy", "needle"),
    [("fail", "run again after the reset, or pass --on-rate-limit wait"), ("wait=1h", "wait=1h allows")],
)
async def test_a_long_rate_limit_ends_with_its_own_subtype_and_exit_code(
    sim: Simulator, options: MakeOptions, policy: str, needle: str
) -> None:
    sim.set_script([{"text": "later", "fault": {"kind": "rate_limit", "retry_after": 7200}}])
    result = await result_of(options(on_rate_limit=policy))
    assert result.subtype == "error_rate_limited" and result.is_error
    assert result.terminal_reason == "rate_limited" and result.exit_code == 75
    assert result.result is None and len(result.errors) == 1
    assert " · resets " in result.errors[0] and needle in result.errors[0]
    assert result.api_error_status == 429 and result.api_error_type == "rate_limit_error"
    assert len(sim.message_requests()) == 1


@pytest.mark.anyio
async def test_api_timeout_ms_sets_the_request_timeout(sim: Simulator, options: MakeOptions) -> None:
    failing(sim, {"kind": "stall", "after_events": 0})
    opts = options(max_retries=0)
    opts.env["API_TIMEOUT_MS"] = "300"
    result = await result_of(opts)
    assert result.api_error_type == "request_timeout" and "above 300 " in (result.result or "")


@pytest.mark.anyio
async def test_the_request_timeout_option_wins_over_api_timeout_ms(
    sim: Simulator, options: MakeOptions
) -> None:
    # The stall hangs up by itself after 20 s: under API_TIMEOUT_MS the run would end on that
    # dropped connection instead of a timeout.
    failing(sim, {"kind": "stall", "after_events": 0, "delay": 20})
    opts = options(max_retries=0, request_timeout=0.4)
    opts.env["API_TIMEOUT_MS"] = "600000"
    result = await result_of(opts)
    assert result.api_error_type == "request_timeout" and "above 400 " in (result.result or "")


def test_options_check_rate_limit_and_timeout_values(options: MakeOptions) -> None:
    for bad, message in [
        ({"on_rate_limit": "sleep"}, "on_rate_limit must be fail, wait or wait=MAX"),
        ({"on_rate_limit": "wait=soon"}, "on_rate_limit wait=soon: 'soon' is not a duration"),
        ({"request_timeout": 0}, "request_timeout must be a number of seconds above 0"),
        ({"request_timeout": "30"}, "request_timeout must be a number of seconds above 0"),
    ]:
        with pytest.raises(thrifty.SetupError, match=message) as info:
            options(**bad)
        assert "\n" not in str(info.value)
    options(on_rate_limit="wait=90m", request_timeout=12.5)


@pytest.mark.anyio
async def test_a_malformed_api_timeout_ms_fails_before_any_request(
    sim: Simulator, options: MakeOptions
) -> None:
    opts = options()
    opts.env["API_TIMEOUT_MS"] = "soon"
    with pytest.raises(thrifty.SetupError, match="API_TIMEOUT_MS must be a number of milliseconds"):
        await result_of(opts)
    assert sim.message_requests() == []
