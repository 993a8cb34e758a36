"""``thrifty.Client``: turns of one session, interrupts, control, resume and fork."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import thrifty
from tests.sdk.conftest import MakeOptions, sent, texts
from thrifty.testing import Simulator

pytestmark = pytest.mark.anyio


async def reply(client: thrifty.Client) -> list[thrifty.Message]:
    return [m async for m in client.receive_response()]


def result_of(messages: list[thrifty.Message]) -> thrifty.Result:
    last = messages[-1]
    assert isinstance(last, thrifty.Result)
    return last


async def test_two_turns_share_one_history(sim: Simulator, options: MakeOptions) -> None:
    sim.set_script([{"text": "Hello Ada."}, {"text": "Your name is Ada."}])
    async with thrifty.ClaudeSDKClient(options()) as client:
        await client.query("My name is Ada.")
        first = result_of(await reply(client))
        await client.query("What is my name?")
        second = result_of(await reply(client))
        assert client.session_id == first.session_id == second.session_id
    assert second.result == "Your name is Ada."
    history = sent(sim)["messages"]
    assert [texts(m["content"]) for m in history] == [
        ["My name is Ada."],
        ["Hello Ada."],
        ["What is my name?"],
    ]
    assert second.total_cost_usd > first.total_cost_usd  # running totals of the session


async def test_prompts_sent_while_a_turn_runs_are_queued(sim: Simulator, options: MakeOptions) -> None:
    sim.set_script([{"text": "one", "fault": {"kind": "slow", "delay": 0.3}}, {"text": "two"}])
    async with thrifty.Client(options()) as client:
        await client.query("first")
        await asyncio.sleep(0.1)  # the first turn is running (its request is slow)
        await client.query("second")  # returns at once: queued behind the first
        assert result_of(await reply(client)).result == "one"
        assert result_of(await reply(client)).result == "two"
    assert [texts(m["content"]) for m in sent(sim)["messages"]] == [["first"], ["one"], ["second"]]


async def test_interrupt_ends_the_turn_and_the_next_prompt_goes_on(
    sim: Simulator, options: MakeOptions
) -> None:
    # the interrupted request leaves no assistant message, so the next prompt joins the first
    # user message (which then matches "again") and is turn 0 of that conversation
    sim.set_script(
        {
            "conversations": [
                {"match": "again", "turns": [{"text": "answer after the interrupt"}]},
                {"turns": [{"text": "too late", "fault": {"kind": "slow", "delay": 30}}]},
            ]
        }
    )
    async with thrifty.Client(options()) as client:
        await client.query("take your time")
        messages: list[thrifty.Message] = []
        async for message in client.receive_response():
            messages.append(message)
            if isinstance(message, thrifty.SystemInit):
                await asyncio.sleep(0.2)  # the request is in flight
                assert await client.interrupt() is True
        interrupted = result_of(messages)
        assert interrupted.subtype == "error_during_execution" and interrupted.is_error
        assert interrupted.terminal_reason == "aborted_streaming"
        assert await client.interrupt() is False
        await client.query("again")
        after = result_of(await asyncio.wait_for(reply(client), 10))
    assert after.subtype == "success" and after.result == "answer after the interrupt"
    assert texts(sent(sim)["messages"][0]["content"]) == [
        "take your time",
        "[Request interrupted by user]",
        "again",
    ]


async def test_set_model_applies_to_the_next_request(sim: Simulator, options: MakeOptions) -> None:
    sim.set_script([{"text": "a"}, {"text": "b"}, {"text": "c"}])
    async with thrifty.Client(options(model="sonnet")) as client:
        await client.query("1")
        await reply(client)
        assert await client.set_model("haiku") == "claude-haiku-5-5"
        await client.query("2")
        second = result_of(await reply(client))
        assert await client.set_model(None) == "claude-sonnet-5-5"
        await client.query("3")
        await reply(client)
    assert [r.body["model"] for r in sim.message_requests()] == [
        "claude-sonnet-5-5",
        "claude-haiku-5-5",
        "claude-sonnet-5-5",
    ]
    assert set(second.model_usage) == {"claude-sonnet-5-5", "claude-haiku-5-5"}


async def test_set_permission_mode_applies_to_the_next_tool_call(
    sim: Simulator, options: MakeOptions, project: Path
) -> None:
    def write(name: str) -> dict[str, object]:
        return {"tool_use": {"name": "Write", "input": {"file_path": str(project / name), "content": "x"}}}

    sim.set_script([write("a.txt"), {"text": "denied"}, write("b.txt"), {"text": "written"}])
    async with thrifty.Client(options()) as client:
        await client.query("write a")
        first = result_of(await reply(client))
        assert await client.set_permission_mode("acceptEdits") == "acceptEdits"
        with pytest.raises(ValueError, match="Unknown permission mode"):
            await client.set_permission_mode("yolo")
        await client.query("write b")
        second = result_of(await reply(client))
    assert len(first.permission_denials) == 1 and not (project / "a.txt").exists()
    assert second.permission_denials == [] and (project / "b.txt").read_text() == "x"


async def test_resume_from_a_new_client_continues_the_history_from_the_cache(
    sim: Simulator, options: MakeOptions
) -> None:
    sim.set_script([{"text": "Noted: the code is 7401."}, {"text": "The code is 7401."}])
    async with thrifty.Client(options()) as first:
        await first.query("Remember the code 7401.")
        session_id = result_of(await reply(first)).session_id
    async with thrifty.Client(options(resume=session_id)) as second:
        assert second.session_id == session_id
        await second.query("What was the code?")
        resumed = result_of(await reply(second))
    assert resumed.session_id == session_id and resumed.result == "The code is 7401."
    request = sim.message_requests()[-1]
    assert [texts(m["content"]) for m in request.body["messages"]] == [
        ["Remember the code 7401."],
        ["Noted: the code is 7401."],
        ["What was the code?"],
    ]
    assert (request.usage or {})["cache_read_input_tokens"] > 0


async def test_fork_session_goes_on_under_a_new_id(sim: Simulator, options: MakeOptions) -> None:
    sim.set_script([{"text": "base"}, {"text": "fork reply"}, {"text": "original again"}])
    async with thrifty.Client(options()) as base:
        await base.query("start")
        original = result_of(await reply(base)).session_id
    async with thrifty.Client(options(resume=original, fork_session=True)) as fork:
        await fork.query("branch")
        forked = result_of(await reply(fork))
    assert forked.session_id != original and forked.result == "fork reply"
    assert len(sent(sim)["messages"]) == 3
    # the original session is untouched by the fork: resuming it sees only its own turn
    async with thrifty.Client(options(resume=original)) as again:
        await again.query("back")
        await reply(again)
    assert [texts(m["content"]) for m in sent(sim)["messages"]] == [["start"], ["base"], ["back"]]


async def test_methods_need_a_connection() -> None:
    client = thrifty.Client()
    with pytest.raises(thrifty.NotConnectedError):
        await client.query("x")
    with pytest.raises(thrifty.NotConnectedError):
        await client.interrupt()
    with pytest.raises(thrifty.NotConnectedError):
        await anext(client.receive_response())
    assert client.session_id is None
    await client.disconnect()  # harmless when not connected


async def test_connect_with_a_prompt_and_server_info(sim: Simulator, options: MakeOptions) -> None:
    sim.set_script([{"text": "hi"}])
    client = thrifty.Client(options(session_id="0b8c8d3e-1111-4222-8333-444455556666"))
    await client.connect("hello")
    try:
        assert result_of(await reply(client)).result == "hi"
        info = await client.get_server_info()
        assert info is not None and info["session_id"] == "0b8c8d3e-1111-4222-8333-444455556666"
        assert info["model"] == "claude-sonnet-5-5" and "Read" in info["tools"]
    finally:
        await client.disconnect()
    assert [m async for m in client.receive_messages()] == []  # the stream has ended


async def test_a_client_can_connect_again_after_disconnect(sim: Simulator, options: MakeOptions) -> None:
    sim.set_script([{"text": "again"}])
    client = thrifty.Client(options())
    for _ in range(2):
        await client.connect()
        await client.query("hi")
        assert result_of(await reply(client)).result == "again"
        await client.disconnect()
    assert len({r.body["messages"][0]["content"][0]["text"] for r in sim.message_requests()}) == 1
