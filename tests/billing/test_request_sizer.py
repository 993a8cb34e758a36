"""``RequestSizer`` gives the budget estimate exactly the figure ``input_tokens`` gives, while
serialising only the messages it has not seen: the estimate stays as high as it always was."""

from __future__ import annotations

import copy
import json
import math
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from thrifty.agent.options import AgentOptions
from thrifty.agent.request import request_params
from thrifty.agent.session import Session
from thrifty.agent.transcripts import as_blocks
from thrifty.billing import estimate
from thrifty.billing.estimate import BYTES_PER_TOKEN, RequestSizer, input_tokens, next_call_cost
from thrifty.billing.prices import bundled_prices
from thrifty.core.events import Result
from thrifty.testing import Simulator


def reference_input_tokens(params: dict[str, Any]) -> int:
    """``input_tokens`` as it was when the sizer was written: the whole request, serialised."""
    parts = {k: params.get(k) for k in ("system", "tools", "messages") if params.get(k) is not None}
    raw = json.dumps(parts, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return math.ceil(len(raw) / BYTES_PER_TOKEN)


def setup(*, tools: bool = True) -> Any:
    defs = [
        {"name": "Read", "description": "Reads a file — «quoted»", "input_schema": {"type": "object"}},
        {"name": "Bash", "description": "Runs a command", "input_schema": {"type": "object"}},
    ]
    system = [{"type": "text", "text": "You are thrifty. 日本語も"}, {"type": "text", "text": "cwd: /tmp"}]
    return SimpleNamespace(model="claude-sonnet-4-5", tool_defs=defs if tools else [], system=system)


def merge(history: list[dict[str, Any]], content: Any) -> None:
    """``Session.append`` merging a user message into the last one."""
    last = history[-1]
    last["content"] = as_blocks(last["content"]) + as_blocks(content)


def check(sizer: RequestSizer, params: dict[str, Any]) -> None:
    assert sizer.input_tokens(params) == reference_input_tokens(params) == input_tokens(params)


@pytest.mark.parametrize("with_tools", [True, False])
def test_the_sizer_equals_input_tokens_on_a_growing_history(with_tools: bool) -> None:
    prepared, options, sizer = setup(tools=with_tools), AgentOptions(), RequestSizer()
    history: list[dict[str, Any]] = [{"role": "user", "content": "read the notes ✓"}]
    for n in range(40):
        check(sizer, request_params(prepared, options, history))
        use = {"type": "tool_use", "id": f"toolu_{n}", "name": "Read", "input": {"file_path": f"/n{n}"}}
        history.append({"role": "assistant", "content": [{"type": "text", "text": "é" * n}, use]})
        result = {"type": "tool_result", "tool_use_id": f"toolu_{n}", "content": "x\n" * n + "😀"}
        history.append({"role": "user", "content": [result]})
        if n % 7 == 3:  # an interrupt, then the next prompt: both merged into the last message
            merge(history, "[Request interrupted by user]")
            check(sizer, request_params(prepared, options, history))
            merge(history, [{"type": "text", "text": "go on"}])
        if n % 11 == 5:  # a text answer, then a new prompt
            history.append({"role": "assistant", "content": [{"type": "text", "text": "done"}]})
            history.append({"role": "user", "content": "next"})
    check(sizer, request_params(prepared, options, history))


def test_a_shorter_or_different_request_is_measured_afresh() -> None:
    prepared, options, sizer = setup(), AgentOptions(), RequestSizer()
    long = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}] * 5
    long.append({"role": "user", "content": "c"})
    check(sizer, request_params(prepared, options, long))
    short = copy.deepcopy(long[:3])
    short[0]["content"] = "a much longer first message than before"
    check(sizer, request_params(prepared, options, short))
    check(sizer, request_params(prepared, options, long))
    check(sizer, {"messages": long})
    check(sizer, {"system": "plain text system", "messages": []})
    check(sizer, {})


def test_next_call_cost_is_the_same_with_a_sizer() -> None:
    prepared, options, sizer = setup(), AgentOptions(), RequestSizer()
    history: list[dict[str, Any]] = [{"role": "user", "content": "hi"}]
    prices = bundled_prices()
    for n in range(5):
        params = request_params(prepared, options, history)
        for cached in (0, 10, 10**6):
            plain = next_call_cost(prices, prepared.model, params, output_guess=700, cached_prefix=cached)
            sized = next_call_cost(
                prices, prepared.model, params, output_guess=700, cached_prefix=cached, sizer=sizer
            )
            assert plain is not None and sized == plain
        history += [{"role": "assistant", "content": f"a{n}"}, {"role": "user", "content": f"q{n}"}]


@pytest.mark.anyio
async def test_a_session_estimates_with_the_exact_figure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every budget check of a real session, across two prompts, sizes exactly as before."""
    seen: list[tuple[int, int]] = []
    measure = estimate.RequestSizer.input_tokens

    def checked(self: RequestSizer, params: dict[str, Any]) -> int:
        figure = measure(self, params)
        seen.append((figure, reference_input_tokens(params)))
        return figure

    monkeypatch.setattr(estimate.RequestSizer, "input_tokens", checked)
    (tmp_path / "notes.txt").write_text("notes ✓\n")
    read = {"tool_use": {"name": "Read", "input": {"file_path": str(tmp_path / "notes.txt")}}}
    env = {
        "THRIFTY_KEYRING": "0",
        "THRIFTY_CONFIG_DIR": str(tmp_path / "config"),
        "THRIFTY_DATA_DIR": str(tmp_path / "data"),
    }
    with Simulator([read] * 3 + [{"text": "done"}] + [read, {"text": "again"}]) as sim:
        env.update(ANTHROPIC_BASE_URL=sim.base_url, ANTHROPIC_API_KEY=sim.api_key)
        options = AgentOptions(
            cwd=tmp_path,
            environ=env,
            ledger=str(tmp_path / "l.sqlite3"),
            allowed_tools=["Read"],
            max_budget_usd=Decimal("100"),
        )
        async with Session(options) as session:
            for prompt in ("first", "second"):
                events = [e async for e in session.turn(prompt)]
                assert isinstance(events[-1], Result) and not events[-1].is_error, events[-1]
    assert len(seen) == 6
    assert all(figure == reference for figure, reference in seen)


def test_content_changed_in_place_is_noticed() -> None:
    sizer = RequestSizer()
    history: list[dict[str, Any]] = [
        {"role": "user", "content": [{"type": "text", "text": "q"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "a"}]},
        {"role": "user", "content": "last"},
    ]
    params = {"system": [{"type": "text", "text": "s"}], "messages": history}
    check(sizer, params)
    history[0]["content"].append({"type": "text", "text": "grown in place"})
    check(sizer, params)
    history[-1]["text_added"] = "the last message is always measured again"
    check(sizer, params)
