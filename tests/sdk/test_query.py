"""``thrifty.query`` and the sync wrappers against the simulator: messages, cost, ledger, prompts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import thrifty
from tests.sdk.conftest import MakeOptions, sent, texts
from thrifty.billing.ledger import RowQuery, open_ledger
from thrifty.testing import Simulator


async def collect(prompt: Any, options: thrifty.Options) -> list[thrifty.Message]:
    return [m async for m in thrifty.query(prompt, options)]


@pytest.mark.anyio
async def test_plain_query_yields_text_cost_usage_and_writes_the_ledger(
    sim: Simulator, options: MakeOptions, tmp_path: Path
) -> None:
    sim.set_script([{"text": "The answer is 42."}])
    ledger = tmp_path / "ledger.sqlite3"
    messages = await collect("what is the answer?", options(ledger=str(ledger), tags={"job": "t"}))
    kinds = [type(m).__name__ for m in messages]
    assert kinds == ["SystemInit", "ApiUsage", "AssistantMessage", "Result"]
    init, usage, assistant, result = messages
    assert isinstance(init, thrifty.SystemMessage) and init.subtype == "init"
    assert isinstance(assistant, thrifty.AssistantMessage) and assistant.text == "The answer is 42."
    assert assistant.content == [{"type": "text", "text": "The answer is 42."}]
    assert isinstance(result, thrifty.ResultMessage) and result is messages[-1]
    assert result.subtype == "success" and not result.is_error and result.result == "The answer is 42."
    assert result.session_id == init.session_id
    logged = sim.message_requests()[0].usage or {}
    assert result.total_cost_usd > 0
    assert result.usage["output_tokens"] == logged["output_tokens"]
    assert result.model_usage["claude-sonnet-5-5"]["outputTokens"] == logged["output_tokens"]
    assert isinstance(usage, thrifty.ApiUsage) and usage.usage.output_tokens == logged["output_tokens"]
    db = open_ledger(str(ledger))
    try:
        rows = db.query(RowQuery())
    finally:
        db.close()
    assert len(rows) == 1 and rows[0].request_id == sim.message_requests()[0].request_id
    assert rows[0].session_id == result.session_id and rows[0].tags == {"job": "t"}
    assert float(rows[0].cost_usd or 0) == pytest.approx(result.total_cost_usd)
    assert result.billing["ledger"] == str(ledger)


@pytest.mark.anyio
async def test_without_the_ledger_nothing_is_recorded_but_cost_is_reported(
    sim: Simulator, options: MakeOptions
) -> None:
    sim.set_script([{"text": "hi"}])
    result = (await collect("x", options(record_usage=False)))[-1]
    assert isinstance(result, thrifty.Result) and result.total_cost_usd > 0
    assert result.billing["ledger"] is None


@pytest.mark.anyio
async def test_a_stream_of_prompts_runs_in_one_session(sim: Simulator, options: MakeOptions) -> None:
    sim.set_script([{"text": "first answer"}, {"text": "second answer"}])

    async def prompts() -> AsyncIterator[Any]:
        yield "first question"
        yield {"type": "user", "message": {"role": "user", "content": "second question"}}

    messages = await collect(prompts(), options())
    results = [m for m in messages if isinstance(m, thrifty.Result)]
    assert [r.result for r in results] == ["first answer", "second answer"]
    assert results[0].session_id == results[1].session_id
    # the second request carries the whole first exchange; the prompt echo is not yielded
    history = sent(sim)["messages"]
    assert [m["role"] for m in history] == ["user", "assistant", "user"]
    assert "first answer" in texts(history[1]["content"])
    assert not any(isinstance(m, thrifty.UserMessage) for m in messages)
    # running totals of the session: the second result includes the first call's usage
    assert results[1].usage["output_tokens"] > results[0].usage["output_tokens"]


def test_query_sync_and_run_sync(sim: Simulator, options: MakeOptions) -> None:
    sim.set_script([{"text": "sync hello"}])
    messages = list(thrifty.query_sync("hi", options()))
    assert isinstance(messages[-1], thrifty.Result) and messages[-1].result == "sync hello"
    result = thrifty.run_sync("hi", options())
    assert result.result == "sync hello" and result.total_cost_usd > 0
    assert len(sim.message_requests()) == 2


def test_query_sync_can_stop_early(sim: Simulator, options: MakeOptions) -> None:
    sim.set_script([{"text": "partial"}])
    iterator = thrifty.query_sync("hi", options())
    assert isinstance(next(iterator), thrifty.SystemInit)
    iterator.close()  # closes the session and its event loop without error


@pytest.mark.anyio
async def test_sync_wrappers_refuse_a_running_loop(options: MakeOptions) -> None:
    with pytest.raises(RuntimeError, match="running event loop"):
        thrifty.run_sync("x", options())
    with pytest.raises(RuntimeError, match="running event loop"):
        thrifty.query_sync("x", options())


@pytest.mark.anyio
async def test_setup_errors_come_before_any_request(
    sim: Simulator, options: MakeOptions, tmp_path: Path
) -> None:
    with pytest.raises(thrifty.SetupError, match="does not exist"):
        await collect("x", options(cwd=tmp_path / "missing"))
    with pytest.raises(thrifty.SetupError, match="No conversation found"):
        await collect("x", options(resume="6f1d2c1e-0000-4000-8000-000000000000"))
    with pytest.raises(thrifty.SetupError, match="Unknown tool"):
        await collect("x", options(tools=["NoSuchTool"]))
    assert sim.message_requests() == []


@pytest.mark.anyio
async def test_api_failures_end_in_an_error_result_not_an_exception(
    sim: Simulator, options: MakeOptions
) -> None:
    sim.set_script([{"text": "never", "fault": {"kind": "overloaded", "times": 0}}])
    messages = await collect("x", options(max_retries=1))
    result = messages[-1]
    assert isinstance(result, thrifty.Result) and result.is_error and result.api_error_status == 529
    assert [type(m).__name__ for m in messages].count("ApiRetry") == 1
    assert len(sim.message_requests()) == 2  # max_retries is the retry policy of one call


@pytest.mark.anyio
async def test_system_prompt_forms(sim: Simulator, options: MakeOptions) -> None:
    sim.set_script([{"text": "ok"}])
    await collect("x", options(system_prompt="You are terse."))
    assert sent(sim)["system"][0]["text"] == "You are terse."
    preset = {"type": "preset", "preset": "claude_code", "append": "Always answer in French."}
    await collect("x", options(system_prompt=preset))
    system = [b["text"] for b in sent(sim)["system"]]
    assert system[0].startswith("You are thrifty") and system[-1] == "Always answer in French."
    await collect("x", options())  # None: thrifty's default prompt, not an empty one
    assert sent(sim)["system"][0]["text"].startswith("You are thrifty")


@pytest.mark.anyio
async def test_env_reaches_the_tools_and_model_aliases_resolve(sim: Simulator, options: MakeOptions) -> None:
    sim.set_script([{"tool_use": {"name": "Bash", "input": {"command": "echo $SDK_MARK"}}}, {"text": "done"}])
    opts = options(allowed_tools=["Bash"], model="haiku")
    opts.env["SDK_MARK"] = "from-env-42"
    result = (await collect("x", opts))[-1]
    assert isinstance(result, thrifty.Result) and result.subtype == "success"
    assert sent(sim)["model"] == "claude-haiku-5-5"
    assert any("from-env-42" in t for t in texts(sent(sim)["messages"][-1]["content"]))


def test_run_sync_inside_a_thread_of_an_async_app(sim: Simulator, options: MakeOptions) -> None:
    sim.set_script([{"text": "threaded"}])

    async def app() -> str | None:
        result = await asyncio.to_thread(thrifty.run_sync, "x", options())
        return result.result

    assert asyncio.run(app()) == "threaded"


@pytest.mark.anyio
async def test_partial_messages_are_yielded_only_when_asked(sim: Simulator, options: MakeOptions) -> None:
    sim.set_script([{"text": "streamed"}])
    plain = await collect("x", options())
    assert not any(isinstance(m, thrifty.StreamEvent) for m in plain)
    partial = await collect("x", options(include_partial_messages=True))
    events = [m.event["type"] for m in partial if isinstance(m, thrifty.StreamEvent)]
    assert events[0] == "message_start" and events[-1] == "message_stop"
    assert "content_block_delta" in events


def test_the_budget_stops_the_run_before_it_is_passed(sim: Simulator, options: MakeOptions) -> None:
    loop = {"tool_use": {"name": "Bash", "input": {"command": "true"}}}
    sim.set_script([loop] * 6 + [{"text": "done"}])
    unbounded = thrifty.run_sync("x", options(allowed_tools=["Bash"], max_tokens=200))
    assert unbounded.subtype == "success" and len(sim.message_requests()) == 7
    budget = unbounded.total_cost_usd * 0.9
    result = thrifty.run_sync("x", options(allowed_tools=["Bash"], max_tokens=200, max_budget_usd=budget))
    assert result.subtype == "error_max_budget_usd" and result.is_error
    assert result.total_cost_usd <= budget and len(sim.message_requests()) < 14
