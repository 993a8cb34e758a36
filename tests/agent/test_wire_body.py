"""The body encoder keeps each message's JSON: the bytes must stay what ``json.dumps`` of the whole gives.

Unit cases walk the edits the loop makes to a history (append, merge into the last message in
place, a new content list, a marked copy, a shorter history) and compare after each; a real
multi-turn session is then run on the fast path and on the SDK client against the simulator, and
every request body must carry the same JSON (the SDK orders keys its own way).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from thrifty.agent.options import AgentOptions
from thrifty.agent.session import Session
from thrifty.agent.wire.body import BodyEncoder
from thrifty.testing import Simulator


def whole(params: dict[str, Any]) -> bytes:
    return json.dumps(
        {**params, "stream": True}, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode()


def test_each_edit_the_loop_makes_gives_the_whole_encoding() -> None:
    encoder = BodyEncoder()
    messages: list[dict[str, Any]] = [{"role": "user", "content": "héllo \u2028 ✓"}]
    params: dict[str, Any] = {
        "model": "m",
        "max_tokens": 9,
        "system": [{"type": "text", "text": "s"}],
        "messages": messages,
    }

    def check() -> None:
        assert encoder.encode(params) == whole(params)

    check()
    messages.append(
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Read", "input": {}}]}
    )
    check()
    messages.append(
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "x"}]}
    )
    check()
    messages[-1]["content"].append({"type": "text", "text": "merged in place"})  # the last is always redone
    check()
    messages[-1] = {
        **messages[-1],
        "content": [*messages[-1]["content"], {"type": "text", "text": "new list"}],
    }
    check()
    marked = copy.deepcopy(messages[1])
    marked["content"][0]["cache_control"] = {"type": "ephemeral"}
    params = {**params, "messages": [messages[0], marked, messages[2]]}  # a marked copy: a new object
    check()
    messages[1]["content"] = [{"type": "text", "text": "a new content list for an earlier message"}]
    params = {**params, "messages": messages}
    check()
    messages[1]["content"].append({"type": "text", "text": "and one more block"})  # same list, longer
    check()
    del messages[1:]
    check()
    params = {"stream": False, **params}
    check()  # an explicit "stream" keeps its place and becomes true
    tools = [{"name": "A", "input_schema": {}}, {"name": "B", "input_schema": {}}]
    params = {**params, "tools": tools}
    check()
    tools[0] = {"name": "A2", "input_schema": {}}  # a replaced definition is encoded again
    params = {**params, "tools": [*tools[:1], {**tools[1], "cache_control": {"type": "ephemeral"}}]}
    check()
    params = {**params, "system": "a plain string system prompt"}
    check()


def test_nan_is_refused_as_json_dumps_refuses_it() -> None:
    with pytest.raises(ValueError):
        BodyEncoder().encode({"messages": [{"role": "user", "content": [{"x": float("nan")}]}]})


@pytest.mark.anyio
async def test_a_multi_turn_session_sends_the_same_bodies_on_both_clients(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("notes\n")
    read = {"tool_use": {"name": "Read", "input": {"file_path": str(tmp_path / "notes.txt")}}}
    script = [read, read, {"text": "first answer"}, read, {"text": "second answer"}]
    bodies: list[list[str]] = []
    for env in ({}, {"THRIFTY_HTTP_CLIENT": "anthropic"}):
        with Simulator(script) as sim:
            environ = {"ANTHROPIC_API_KEY": sim.api_key, "ANTHROPIC_BASE_URL": sim.base_url, **env}
            options = AgentOptions(
                cwd=tmp_path,
                environ=environ,
                ledger=str(tmp_path / "ledger.sqlite3"),
                allowed_tools=["Read"],
                persist_session=False,
            )
            async with Session(options) as session:
                for prompt in ("one", "two"):
                    _ = [event async for event in session.turn(prompt)]
            bodies.append([json.dumps(r.body, sort_keys=True) for r in sim.message_requests()])
    assert len(bodies[0]) == 5 and bodies[0] == bodies[1]
