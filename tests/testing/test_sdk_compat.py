"""The official anthropic SDK, unmodified, against the simulator: every surface it uses."""

from __future__ import annotations

import json

import anthropic
import httpx2
import pytest

from thrifty.testing import Simulator, count_input_tokens

MODEL = "claude-sonnet-5-5"
HELLO = [{"role": "user", "content": "hello"}]


def test_sync_create_returns_scripted_text_and_request_id(simulator: Simulator) -> None:
    simulator.set_script([{"text": "Hi from the script."}])
    msg = simulator.client().messages.create(model=MODEL, max_tokens=64, messages=HELLO)
    assert msg.content[0].type == "text"
    assert msg.content[0].text == "Hi from the script."
    assert msg.stop_reason == "end_turn"
    assert msg._request_id is not None and msg._request_id.startswith("req_")
    assert msg.usage.input_tokens == count_input_tokens({"messages": HELLO})
    assert msg.usage.output_tokens > 0


@pytest.mark.anyio
async def test_async_create_and_stream(simulator: Simulator) -> None:
    simulator.set_script([{"thinking": "consider", "text": "Async works."}])
    # Closed here: a client left to the garbage collector closes its connection later, on
    # whatever event loop is running then (a later test's), after this one has closed.
    async with simulator.async_client() as client:
        msg = await client.messages.create(model=MODEL, max_tokens=64, messages=HELLO)
        assert [b.type for b in msg.content] == ["thinking", "text"]
        async with client.messages.stream(model=MODEL, max_tokens=64, messages=HELLO) as stream:
            final = await stream.get_final_message()
    assert final.content[1].text == "Async works."
    assert final.content[0].signature  # the accumulator overwrote the empty start signature
    assert final.usage.output_tokens == msg.usage.output_tokens
    assert final.usage.output_tokens_details is not None
    assert final.usage.output_tokens_details.thinking_tokens > 0


def test_stream_event_sequence_is_exact(simulator: Simulator) -> None:
    simulator.set_script([{"text": "x" * 60, "tool_use": {"name": "lookup", "input": {"q": "abc"}}}])
    tools = [{"name": "lookup", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}]
    with simulator.client().messages.stream(model=MODEL, max_tokens=256, messages=HELLO, tools=tools) as s:
        kinds = [event.type for event in s if event.type not in ("text", "input_json")]
        final = s.get_final_message()
    assert kinds[0] == "message_start"
    assert kinds[-2:] == ["message_delta", "message_stop"]
    assert kinds.count("content_block_start") == 2 == kinds.count("content_block_stop")
    assert final.stop_reason == "tool_use"
    assert final.content[1].input == {"q": "abc"}


def test_raw_stream_always_has_event_lines(simulator: Simulator) -> None:
    simulator.set_script([{"text": "raw"}])
    body = {"model": MODEL, "max_tokens": 16, "messages": HELLO, "stream": True}
    headers = {"x-api-key": simulator.api_key, "anthropic-version": "2023-06-01"}
    resp = httpx2.post(f"{simulator.base_url}/v1/messages", json=body, headers=headers)
    frames = [f for f in resp.text.split("\n\n") if f.strip()]
    assert all(f.startswith("event: ") for f in frames)
    for frame in frames:
        name = frame.split("\n")[0][len("event: ") :]
        data = json.loads(frame.split("\n")[1][len("data: ") :])
        assert data["type"] == name


def test_tool_use_round_trip(simulator: Simulator) -> None:
    simulator.set_script(
        [
            {"tool_use": {"name": "get_weather", "input": {"city": "Oslo"}}},
            {"text": "It is 3 degrees in Oslo."},
        ]
    )
    tools = [
        {
            "name": "get_weather",
            "description": "weather",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    client = simulator.client()
    first = client.messages.create(model=MODEL, max_tokens=256, messages=HELLO, tools=tools)
    call = first.content[0]
    assert call.type == "tool_use" and call.name == "get_weather" and call.id.startswith("toolu_")
    messages = [
        *HELLO,
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "3C"}]},
    ]
    second = client.messages.create(model=MODEL, max_tokens=256, messages=messages, tools=tools)
    assert second.content[0].text == "It is 3 degrees in Oslo."
    assert simulator.message_requests()[-1].tools == ["get_weather"]
    assert simulator.message_requests()[-1].turn == 1


def test_count_tokens_agrees_with_usage(simulator: Simulator) -> None:
    simulator.set_script([{"text": "ok"}])
    client = simulator.client()
    system = "You are terse. " * 50
    tools = [{"name": "t", "input_schema": {"type": "object"}}]
    counted = client.messages.count_tokens(model=MODEL, system=system, tools=tools, messages=HELLO)
    msg = client.messages.create(model=MODEL, max_tokens=16, system=system, tools=tools, messages=HELLO)
    u = msg.usage
    assert counted.input_tokens == u.input_tokens + (u.cache_creation_input_tokens or 0) + (
        u.cache_read_input_tokens or 0
    )


def test_models_list_paginates(simulator: Simulator) -> None:
    client = simulator.client()
    everything = [m.id for m in client.models.list(limit=3)]  # auto-pagination walks every page
    assert MODEL in everything and len(everything) == len(simulator.catalog.specs)
    first_page = client.models.list(limit=3)
    assert len(first_page.data) == 3 and first_page.has_more
    assert client.models.retrieve(MODEL).display_name == "Claude Sonnet 5.5"
    with pytest.raises(anthropic.NotFoundError):
        client.models.retrieve("claude-nope")


def test_batches_create_retrieve_results(simulator: Simulator) -> None:
    simulator.set_script(
        {
            "conversations": [
                {"match": "first", "turns": [{"text": "one"}]},
                {"match": "second", "turns": [{"text": "two"}]},
            ]
        }
    )
    client = simulator.client()
    batch = client.messages.batches.create(
        requests=[
            {
                "custom_id": "a",
                "params": {
                    "model": MODEL,
                    "max_tokens": 16,
                    "messages": [{"role": "user", "content": "first"}],
                },
            },
            {
                "custom_id": "b",
                "params": {
                    "model": MODEL,
                    "max_tokens": 16,
                    "messages": [{"role": "user", "content": "second"}],
                },
            },
            {"custom_id": "c", "params": {"model": "claude-nope", "max_tokens": 16, "messages": HELLO}},
        ]
    )
    assert batch.id.startswith("msgbatch_") and batch.processing_status == "in_progress"
    done = client.messages.batches.retrieve(batch.id)
    assert done.processing_status == "ended"
    assert done.request_counts.succeeded == 2 and done.request_counts.errored == 1
    results = {r.custom_id: r.result for r in client.messages.batches.results(batch.id)}
    assert results["a"].type == "succeeded" and results["a"].message.content[0].text == "one"
    assert results["b"].message.content[0].text == "two"
    assert results["a"].message.usage.service_tier == "batch"
    assert results["c"].type == "errored" and results["c"].error.error.type == "not_found_error"
    assert [b.id for b in client.messages.batches.list()] == [batch.id]
    assert client.messages.batches.delete(batch.id).type == "message_batch_deleted"


def test_batch_cancel_while_in_progress() -> None:
    with Simulator([{"text": "x"}], batch_processing_seconds=3600) as sim:
        client = sim.client()
        batch = client.messages.batches.create(
            requests=[{"custom_id": "a", "params": {"model": MODEL, "max_tokens": 8, "messages": HELLO}}]
        )
        assert client.messages.batches.retrieve(batch.id).results_url is None
        # Results before the batch ends: what the simulator answers, not how the SDK words it.
        early = httpx2.get(
            f"{sim.base_url}/v1/messages/batches/{batch.id}/results",
            headers={"x-api-key": sim.api_key, "anthropic-version": "2023-06-01"},
        )
        assert early.status_code == 400 and "has not ended" in early.json()["error"]["message"]
        canceled = client.messages.batches.cancel(batch.id)
        assert canceled.processing_status == "ended"
        assert canceled.request_counts.canceled == 1
        assert [r.result.type for r in client.messages.batches.results(batch.id)] == ["canceled"]


def test_files_upload_list_retrieve_delete(simulator: Simulator) -> None:
    client = simulator.client()
    uploaded = client.files.upload(file=("notes.txt", b"hello files", "text/plain"))
    assert uploaded.id.startswith("file_") and uploaded.size_bytes == 11 and uploaded.filename == "notes.txt"
    assert [f.id for f in client.files.list()] == [uploaded.id]
    assert client.files.retrieve_metadata(uploaded.id).mime_type == "text/plain"
    assert client.files.delete(uploaded.id).type == "file_deleted"
    with pytest.raises(anthropic.NotFoundError):
        client.files.retrieve_metadata(uploaded.id)


def test_connections_send_without_nagle_delay() -> None:
    """The head and each SSE event are separate small writes: with Nagle's algorithm on, each
    after the first waited for the client's delayed ACK (40 ms on Linux), so every streamed
    answer stalled 40 ms, slowing every test and leaving the harness idle (and its caches cold)
    between turns in the per-turn bench. API servers send with TCP_NODELAY."""
    from thrifty.testing.server import Handler

    assert Handler.disable_nagle_algorithm is True
