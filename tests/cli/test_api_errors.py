"""``thrifty -p`` when the API fails: readable results, ``api_error_status``/``api_error_type``,
long rate limits (exit 75), request timeouts, and the raw body kept for ``--debug-file`` only.

Wording per status is covered in process (tests/sdk/test_api_errors.py); these run the CLI."""

from __future__ import annotations

import io
import json
import stat
import sys
from pathlib import Path
from typing import Any

import anyio
import claude_agent_sdk
import pytest
from claude_agent_sdk import ClaudeAgentOptions, ResultError, ResultMessage, query

from tests.cli.conftest import Cli
from thrifty.cli.render import Renderer
from thrifty.core.events import ApiRetry
from thrifty.testing import Simulator
from thrifty.testing.script import AccountSpec

JSON = ("--output-format", "json")
LONG_429 = {"kind": "rate_limit", "retry_after": 7200}

CLAUDE = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"


def failing(cli: Cli, fault: dict[str, Any], times: int = 0) -> None:
    cli.sim.set_script([{"text": "after the fault", "fault": {**fault, "times": times}}])


def test_success_results_carry_a_null_api_error_status(cli: Cli) -> None:
    cli.sim.set_script([{"text": "fine"}])
    run = cli("-p", "x", *JSON)
    assert run.code == 0 and run.json["api_error_status"] is None
    assert "api_error_type" not in run.json


def test_unknown_model_names_the_model_and_how_to_pick_another(cli: Cli) -> None:
    run = cli("-p", "x", "--model", "claude-nope-9")
    assert run.code == 1 and run.stderr == ""
    assert run.stdout == (
        "There's an issue with the selected model (claude-nope-9). It may not exist or you may not have "
        "access to it. Run --model to pick a different model.\n"
    )
    run = cli("-p", "x", "--model", "claude-nope-9", *JSON)
    result = run.json
    assert run.code == 1 and result["subtype"] == "success" and result["is_error"] is True
    assert result["terminal_reason"] == "api_error"
    assert result["api_error_status"] == 404 and result["api_error_type"] == "not_found_error"


def test_a_bad_key_is_readable_and_the_raw_body_goes_to_the_debug_file_only(cli: Cli) -> None:
    wrong = "sk-ant-api03-" + "w" * 40
    debug = cli.cwd / "debug.log"
    run = cli("-p", "x", *JSON, "--debug-file", str(debug), env=cli.env(ANTHROPIC_API_KEY=wrong))
    result = run.json
    assert run.code == 1 and result["result"] == "Invalid API key · Fix external API key"
    assert result["api_error_status"] == 401 and result["api_error_type"] == "authentication_error"
    log = debug.read_text()
    request_id = cli.sim.message_requests()[0].request_id
    assert '"type": "authentication_error"' in log and request_id in log
    assert '"type"' not in result["result"] and request_id not in run.stdout
    for text in (run.stdout, run.stderr, log):
        assert wrong not in text


def test_a_long_rate_limit_ends_at_once_with_exit_75(cli: Cli) -> None:
    failing(cli, LONG_429)
    run = cli("-p", "x", *JSON)
    result = run.json
    assert run.code == 75 and result["subtype"] == "error_rate_limited" and result["is_error"] is True
    assert result["terminal_reason"] == "rate_limited" and "result" not in result
    assert result["api_error_status"] == 429 and result["api_error_type"] == "rate_limit_error"
    [error] = result["errors"]
    assert error.startswith("API Error: Request rejected (429) · ") and " · resets " in error
    assert "--on-rate-limit wait" in error
    assert len(cli.sim.message_requests()) == 1
    text = cli("-p", "x")
    assert text.code == 75 and text.stdout.startswith("Error: API Error: Request rejected (429)")


def test_stream_json_input_exits_75_after_a_rate_limited_turn(cli: Cli) -> None:
    failing(cli, LONG_429)
    message = {"type": "user", "message": {"role": "user", "content": "x"}}
    stream = ("--input-format", "stream-json", "--output-format", "stream-json", "--verbose")
    run = cli(*stream, stdin=json.dumps(message) + "\n")
    assert run.lines[-1]["subtype"] == "error_rate_limited"
    assert run.code == 75


def test_on_rate_limit_wait_max_below_the_reset_still_ends_at_once(cli: Cli) -> None:
    failing(cli, LONG_429)
    run = cli("-p", "x", *JSON, "--on-rate-limit", "wait=1h")
    assert run.code == 75 and "a longer wait than --on-rate-limit wait=1h allows" in run.json["errors"][0]
    assert len(cli.sim.message_requests()) == 1


def test_a_spent_plan_window_names_the_limit_and_emits_a_rejected_rate_limit_event(
    tmp_path: Path,
) -> None:
    token = "sk-ant-oat01-test-plan-token"
    plan = AccountSpec(key=token, mode="plan", five_hour_limit=1)
    (tmp_path / "p").mkdir()
    (tmp_path / "h").mkdir()
    with Simulator([{"text": "spent it"}], accounts=[plan]) as sim:
        cli = Cli(sim, tmp_path / "p", tmp_path / "h")
        env = cli.env(
            CLAUDE_CODE_OAUTH_TOKEN=token,
            TZ="Europe/Berlin",
            THRIFTY_CLAUDE_PATH=str(CLAUDE),
            CLAUDE_CONFIG_DIR=str(cli.home / ".claude"),
        )
        del env["ANTHROPIC_API_KEY"]
        assert cli("-p", "x", env=env).code == 0
        run = cli("-p", "x", "--output-format", "stream-json", "--verbose", env=env)
    frames = run.lines
    assert run.code == 75
    [event] = [f for f in frames if f["type"] == "rate_limit_event"]
    assert event["rate_limit_info"]["status"] == "rejected"
    assert event["rate_limit_info"]["rateLimitType"] == "five_hour"
    result = frames[-1]
    assert result["type"] == "result" and result["subtype"] == "error_rate_limited"
    assert result["errors"][0].startswith("You've hit your 5-hour limit · resets ")
    assert "(Europe/Berlin)" in result["errors"][0]


def test_a_stalled_endpoint_times_out_retries_and_ends_readably(cli: Cli) -> None:
    failing(cli, {"kind": "stall", "after_events": 0})
    run = cli("-p", "x", *JSON, "--request-timeout", "0.5", env=cli.env(THRIFTY_MAX_RETRIES="1"))
    result = run.json
    assert run.code == 1 and result["subtype"] == "success" and result["terminal_reason"] == "api_error"
    assert result["result"].startswith("Request timed out. If the API is slow to answer")
    assert "API_TIMEOUT_MS above 500 " in result["result"]
    assert result["api_error_status"] is None and result["api_error_type"] == "request_timeout"
    assert [r.fault for r in cli.sim.message_requests()] == ["stall", "stall"]


def test_api_timeout_ms_is_read_and_the_flag_wins_over_it(cli: Cli) -> None:
    # The stall hangs up after 20 s: a run that waited for it would end on a dropped connection.
    failing(cli, {"kind": "stall", "after_events": 0, "delay": 20})
    env = cli.env(THRIFTY_MAX_RETRIES="0", API_TIMEOUT_MS="400")
    from_env = cli("-p", "x", *JSON, env=env)
    assert from_env.json["api_error_type"] == "request_timeout"
    assert "API_TIMEOUT_MS above 400 " in from_env.json["result"]
    env["API_TIMEOUT_MS"] = "600000"
    flag = cli("-p", "x", *JSON, "--request-timeout", "0.6", env=env)
    assert flag.json["api_error_type"] == "request_timeout"
    assert "API_TIMEOUT_MS above 600 " in flag.json["result"]


def test_bad_rate_limit_and_timeout_values_are_one_line_usage_errors(cli: Cli) -> None:
    for args, env, needle in [
        (("--on-rate-limit", "sleep"), {}, "--on-rate-limit must be fail, wait or wait=MAX"),
        (("--on-rate-limit", "wait=soon"), {}, "--on-rate-limit wait=soon: 'soon' is not a duration"),
        (("--request-timeout", "0"), {}, "--request-timeout must be a number of seconds above 0"),
        ((), {"API_TIMEOUT_MS": "ten"}, "API_TIMEOUT_MS must be a number of milliseconds above 0"),
    ]:
        run = cli("-p", "x", *args, env=cli.env(**env))
        assert run.code == 1 and run.stdout == "", args
        assert needle in run.stderr and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert cli.sim.message_requests() == []


def test_a_long_wait_the_user_allowed_is_announced_on_stderr() -> None:
    out, err = io.StringIO(), io.StringIO()
    renderer = Renderer("text", out, verbose=False, include_partial=False, err=err)
    renderer(ApiRetry("s", 1, 4, 500, 529, "API Error: 529 Overloaded."))
    assert err.getvalue() == ""
    waiting = "You've hit your 5-hour limit · resets 7:12am (UTC) · waiting for it (--on-rate-limit wait=6h)"
    renderer(ApiRetry("s", 1, 4, 4 * 3600 * 1000, 429, waiting))
    assert err.getvalue() == f"thrifty: {waiting}\n" and out.getvalue() == ""


@pytest.mark.anyio
async def test_the_official_sdk_reads_the_new_result_fields(cli: Cli, tmp_path: Path) -> None:
    """claude-agent-sdk parses the rate-limited result and carries its status and reason."""
    wrapper = tmp_path / "thrifty-cli"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m thrifty "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    failing(cli, LONG_429)
    options = ClaudeAgentOptions(cli_path=str(wrapper), cwd=str(cli.cwd), env=cli.env())
    messages: list[Any] = []
    with anyio.fail_after(90):
        try:
            async for message in query(prompt="x", options=options):
                messages.append(message)
        except ResultError as exc:  # the non-zero exit after an is_error result
            assert exc.subtype == "error_rate_limited" and exc.api_error_status == 429
    result = messages[-1]
    assert isinstance(result, ResultMessage) and result.is_error
    assert result.subtype == "error_rate_limited" and result.api_error_status == 429
    assert result.terminal_reason == "rate_limited" and " · resets " in (result.errors or [""])[0]
