"""The request builder marks cache breakpoints where it always did, without copying (or touching)
the history: only the marked items are new objects."""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

import pytest

from thrifty.agent.options import AgentOptions
from thrifty.agent.request import EPHEMERAL, request_params, with_cache_breakpoints
from thrifty.agent.transcripts import as_blocks


def reference_breakpoints(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The builder as it was before it stopped deep-copying the history: the reference output."""
    out = copy.deepcopy(messages)
    marked = 0
    for message in reversed(out):
        if message["role"] != "user" or marked == 2:
            continue
        content = message["content"]
        if isinstance(content, str):
            message["content"] = content = [{"type": "text", "text": content}]
        content[-1]["cache_control"] = EPHEMERAL
        marked += 1
    return out


def reference_params(prepared: Any, options: AgentOptions, messages: list[dict[str, Any]]) -> dict[str, Any]:
    tools = copy.deepcopy(prepared.tool_defs)
    if tools:
        tools[-1]["cache_control"] = EPHEMERAL
    system = copy.deepcopy(prepared.system)
    system[-1]["cache_control"] = EPHEMERAL
    params: dict[str, Any] = {
        "model": prepared.model,
        "max_tokens": options.max_tokens,
        "system": system,
        "messages": reference_breakpoints(messages),
    }
    if tools:
        params["tools"] = tools
    if options.thinking_budget:
        params["thinking"] = {"type": "enabled", "budget_tokens": options.thinking_budget}
    return params


def tool_turn(n: int, text: str = "") -> list[dict[str, Any]]:
    use = {"type": "tool_use", "id": f"toolu_{n}", "name": "Read", "input": {"file_path": f"/f{n}"}}
    result = {"type": "tool_result", "tool_use_id": f"toolu_{n}", "content": f"line {n} ✓ ünïcode"}
    reply: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    return [{"role": "assistant", "content": [*reply, use]}, {"role": "user", "content": [result]}]


def merge(history: list[dict[str, Any]], content: Any) -> None:
    """``Session.append`` for a user message after a user message: the last one gets new content."""
    last = history[-1]
    last["content"] = as_blocks(last["content"]) + as_blocks(content)


def histories() -> list[list[dict[str, Any]]]:
    one: list[dict[str, Any]] = [{"role": "user", "content": "hello"}]
    blocks: list[dict[str, Any]] = [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
    ]
    tools: list[dict[str, Any]] = [{"role": "user", "content": "go"}]
    for n in range(6):
        tools += tool_turn(n, text="thinking aloud" if n % 2 else "")
    second_prompt = [
        *copy.deepcopy(tools),
        {"role": "assistant", "content": [{"type": "text", "text": "done"}]},
    ]
    second_prompt.append({"role": "user", "content": "and now?"})
    merged = copy.deepcopy(tools)
    merge(merged, "[Request interrupted by user]")
    merge(merged, "the next prompt")
    text_only: list[dict[str, Any]] = [
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": [{"type": "text", "text": "a1"}]},
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": [{"type": "text", "text": "a2"}]},
        {"role": "user", "content": [{"type": "text", "text": "q3", "cache_control": {"type": "ephemeral"}}]},
    ]
    return [[], one, blocks, tools, second_prompt, merged, text_only]


def prepared(*, tools: bool = True) -> Any:
    defs = [
        {"name": "Read", "description": "read", "input_schema": {"type": "object", "properties": {}}},
        {"name": "Bash", "description": "run", "input_schema": {"type": "object", "properties": {}}},
    ]
    system = [{"type": "text", "text": "You are thrifty."}, {"type": "text", "text": "Platform: linux"}]
    return SimpleNamespace(model="claude-sonnet-4-5", tool_defs=defs if tools else [], system=system)


@pytest.mark.parametrize("history", histories())
def test_markers_land_where_they_did(history: list[dict[str, Any]]) -> None:
    assert with_cache_breakpoints(history) == reference_breakpoints(history)
    for with_tools in (True, False):
        for options in (AgentOptions(), AgentOptions(thinking_budget=2048)):
            p = prepared(tools=with_tools)
            assert request_params(p, options, history) == reference_params(p, options, history)


@pytest.mark.parametrize("history", histories())
def test_the_history_and_the_setup_are_never_mutated(history: list[dict[str, Any]]) -> None:
    p = prepared()
    before = copy.deepcopy(history)
    setup_before = copy.deepcopy((p.tool_defs, p.system))
    messages = list(history)
    contents = [m["content"] for m in history]
    params = request_params(p, AgentOptions(), history)
    params = request_params(p, AgentOptions(), history)  # twice: no marker left behind
    assert history == before
    assert (p.tool_defs, p.system) == setup_before
    assert all(a is b for a, b in zip(history, messages, strict=True))
    assert all(m["content"] is c for m, c in zip(history, contents, strict=True))
    assert "cache_control" not in p.tool_defs[-1] and "cache_control" not in p.system[-1]
    assert params["messages"] is not history


def test_only_the_marked_items_are_copies() -> None:
    history = histories()[3]
    p = prepared()
    params = request_params(p, AgentOptions(), history)
    sent = params["messages"]
    marked = [i for i, m in enumerate(sent) if m is not history[i]]
    assert marked == [len(history) - 3, len(history) - 1]  # the last two user messages
    for i in marked:
        assert sent[i]["content"][-1]["cache_control"] == EPHEMERAL
        assert all(a is b for a, b in zip(sent[i]["content"][:-1], history[i]["content"][:-1], strict=False))
    assert all(a is b for a, b in zip(params["tools"][:-1], p.tool_defs[:-1], strict=True))
    assert all(a is b for a, b in zip(params["system"][:-1], p.system[:-1], strict=True))


def test_an_empty_user_message_is_skipped_not_a_crash() -> None:
    history = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": [{"type": "text", "text": "a"}]},
        {"role": "user", "content": []},
    ]
    out = with_cache_breakpoints(history)
    assert out[2] is history[2]
    assert out[0]["content"] == [{"type": "text", "text": "q", "cache_control": EPHEMERAL}]


def test_the_marked_setup_is_built_once_and_rebuilt_when_it_changes() -> None:
    p = prepared()
    first = request_params(p, AgentOptions(), [{"role": "user", "content": "q"}])
    again = request_params(p, AgentOptions(), [{"role": "user", "content": "q2"}])
    assert again["tools"] is first["tools"] and again["system"] is first["system"]
    p.tool_defs.append({"name": "Extra", "description": "x", "input_schema": {"type": "object"}})
    p.system[-1] = {"type": "text", "text": "another"}
    changed = request_params(p, AgentOptions(), [{"role": "user", "content": "q3"}])
    assert changed == reference_params(p, AgentOptions(), [{"role": "user", "content": "q3"}])
    assert "cache_control" not in p.tool_defs[-1] and "cache_control" not in p.system[-1]
    assert changed["tools"][-2] is p.tool_defs[-2]
